"""Crash between a case change and its webhook: API opens into real `teambot serve` processes, one
SIGKILLed mid-burst and started again, a local receiver that fails some first attempts.

    python -m tests.stress.webhook_crash [--db sqlite|postgres|URL] [--loops 3] [--requests 120]
                                         [--rate 30] [--fail 0.2] [--seed 1]
    python -m tests.stress.webhook_crash --smoke     # 1 loop, 40 requests, SQLite (the suite runs it)

Each loop starts from an empty database with a write token and one webhook (every event) to a
receiver in this process, starts `teambot serve` (sweep every 0.3 s, leases of 3 s), and sends
`requests` POST /api/v1/cases with an Idempotency-Key each, at `rate`/s. At a random moment the
server is SIGKILLed and started again on the same port; a request cut by the crash is sent again
with its key (as a helpdesk retries). The receiver answers 500 to a `fail` share of first attempts.
Then, once every case's `case.opened` reached the receiver (or 60 s passed):

  lost        cases (and acknowledged requests) whose case.opened never arrived with a 2xx answer
  ids         cases whose case.opened came with more than one webhook-id (a retry must keep its id)
  twice keys  Idempotency-Keys that opened more than one case
  resent      case.opened delivered more than once with success (allowed: at least once; a figure)

Exit status 1 when lost, ids or twice keys is not 0 in any loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlmodel import select

from teambot.core.cases.models import Case
from tests.stress.common import database_url, fresh_container
from tests.stress.intake_crash import Proc, _free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "stress-secret-0123456789abcdef"
TEAM, ADMIN = "T1", "U_ADMIN"


@dataclass
class Receiver:
    fail: float
    rng: random.Random
    ok: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))  # case -> webhook-ids (2xx)
    ids: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))  # case -> every id seen
    seen: set[str] = field(default_factory=set)
    failed: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        if body["type"] != "case.opened":
            return web.Response(status=204)
        number, wid = body["data"]["case"]["number"], request.headers["webhook-id"]
        self.ids[number].add(wid)
        first = wid not in self.seen
        self.seen.add(wid)
        if first and self.rng.random() < self.fail:
            self.failed += 1
            return web.Response(status=500)
        self.ok[number].append(wid)
        return web.Response(status=204)


async def _burst(url: str, token: str, n: int, rate: float, loop_no: int, acked: dict[str, int]) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:

        async def one(i: int) -> None:
            key = f"loop{loop_no}-{i}"
            body = {"problem": f"Stress case {i}", "customer": {"name": f"Guest {i}"}}
            for _ in range(200):  # the server may be down for a moment: send it again, same key
                try:
                    async with http.post(f"{url}/api/v1/cases", json=body,
                                         headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key}) as r:  # fmt: skip
                        if r.status == 201:
                            acked[key] = (await r.json())["number"]
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.1)

        tasks = []
        for i in range(n):
            tasks.append(asyncio.create_task(one(i)))
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*tasks)


async def run_loop(db: str, loop_no: int, requests: int, rate: float, fail: float, rng: random.Random) -> dict[str, int]:
    url = await database_url(db)
    container = await fresh_container(url, TEAMBOT_SECRET=SECRET)
    _, token = await container.tokens.create(TEAM, ADMIN, "stress", "write")
    receiver = Receiver(fail, rng)
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    hook_server = TestServer(app, host="127.0.0.1")
    await hook_server.start_server()
    await container.webhooks.add(TEAM, ADMIN, f"http://127.0.0.1:{hook_server.port}/hook")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url, "PORT": str(port), "TEAMBOT_SECRET": SECRET,
           "TEAMBOT_SWEEP_SECONDS": "0.3", "TEAMBOT_DUE_LEASE_SECONDS": "3", "TEAMBOT_INTAKE_LEASE_SECONDS": "3",
           "LOG_LEVEL": "WARNING"}  # fmt: skip
    log = Path(tempfile.mkdtemp(prefix="teambot-webhook-crash-")) / "web.log"
    web_proc = Proc("web", ["serve"], env, port, log)
    await web_proc.start()
    acked: dict[str, int] = {}
    burst = asyncio.create_task(_burst(f"http://127.0.0.1:{port}", token, requests, rate, loop_no, acked))
    await asyncio.sleep(rng.uniform(0.3, 0.7) * requests / rate)
    await web_proc.stop(signal.SIGKILL)
    await web_proc.start()
    await burst
    started = time.perf_counter()
    async with container.db.session() as s:
        cases = list((await s.exec(select(Case.number, Case.source_ref).where(Case.team_id == TEAM))).all())
    numbers = {n for n, _ in cases}
    for _ in range(300):  # 60 s at most
        if numbers <= set(receiver.ok):
            break
        await asyncio.sleep(0.2)
    settle = time.perf_counter() - started
    await web_proc.stop(signal.SIGTERM)
    await hook_server.close()
    await container.close()
    keys = defaultdict(int)
    for _, ref in cases:
        keys[ref] += 1
    return {
        "cases": len(cases), "acked": len(acked), "failed first": receiver.failed,
        "lost": len((numbers | set(acked.values())) - set(receiver.ok)),
        "ids": sum(1 for n in numbers if len(receiver.ids[n]) > 1),
        "twice keys": sum(1 for v in keys.values() if v > 1),
        "resent": sum(len(v) - 1 for v in receiver.ok.values() if len(v) > 1),
        "settle ms": int(settle * 1000),
    }


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", default="sqlite")
    p.add_argument("--loops", type=int, default=3)
    p.add_argument("--requests", type=int, default=120)
    p.add_argument("--rate", type=float, default=30)
    p.add_argument("--fail", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--smoke", action="store_true")
    a = p.parse_args(argv)
    if a.smoke:
        a.loops, a.requests = 1, 40
    rng = random.Random(a.seed)
    bad = False
    for n in range(a.loops):
        figures = await run_loop(a.db, n, a.requests, a.rate, a.fail, rng)
        print(f"loop {n + 1}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
        bad |= any(figures[k] for k in ("lost", "ids", "twice keys")) or figures["acked"] != a.requests
    print("FAILED" if bad else "OK")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
