"""Load: N `/recover` commands from C concurrent clients into the real server, a third redelivered.

    python -m tests.stress.slack_load [--db sqlite|postgres|URL] [--commands 1000] [--clients 100]
    python -m tests.stress.slack_load --db postgres --terminate 3   # PostgreSQL connections killed mid-run
    python -m tests.stress.slack_load --smoke                       # 60 commands, 20 clients (CI)

Every request is signed as Slack signs it and goes over real HTTP into `create_app`'s server.
A third of the commands are sent again with X-Slack-Retry-Num / X-Slack-Retry-Reason and the
same body (the same trigger_id): half of those while the first delivery is still in flight,
half after it was answered. `--terminate K` kills every other PostgreSQL backend of the
database K times during the run (pg_terminate_backend from a side connection; the server
itself keeps running for everyone else) to show the pool recovering by itself.

Checked, exit status 1 when any fails: exactly N cases (one per distinct command, none twice),
one card per case, zero 5xx, every ack within Slack's 3 s. Under --terminate, a command whose
work was cut by the outage is run again from its intake row (so none should be missing); one
that still could not be done must have been told so (never silent). Prints requests held, req/s, p50/p99/max ack latency.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp
from sqlalchemy import func, text
from sqlmodel import select

from teambot.core.cases.models import Case, TimelineEvent
from teambot.core.intake.models import PENDING, IntakeItem
from tests.slack.conftest import sign
from tests.stress.common import Served, database_url, percentile, slack_server

SLACK_ACK_SECONDS = 3.0
TEAM = "T1"


@dataclass
class Figures:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    retries: int = 0
    terminated: int = 0
    elapsed: float = 0.0


def command_body(i: int, fake_url: str) -> str:
    form = {
        "token": "legacy", "team_id": TEAM, "team_domain": "hotel", "channel_id": f"C{i % 25:03d}",
        "channel_name": "front-desk", "user_id": f"U{i % 40:03d}", "user_name": "agent", "command": "/recover",
        "text": f"Guest {i}: complaint number {i} about the room", "api_app_id": "A1",
        "is_enterprise_install": "false", "response_url": f"{fake_url}/response/cmd{i}", "trigger_id": f"trig.{i}",
    }  # fmt: skip
    return urlencode(form)


async def _send(
    http: aiohttp.ClientSession, served: Served, body: str, figures: Figures, retry: int = 0
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        figures.retries += 1
    started = time.perf_counter()
    async with http.post(f"{served.url}/slack/events", data=body.encode(), headers=headers) as resp:
        await resp.read()
        figures.latencies.append(time.perf_counter() - started)
        figures.statuses[resp.status] += 1


async def _client(http: aiohttp.ClientSession, served: Served, mine: list[int], figures: Figures) -> None:
    for i in mine:
        body = command_body(i, served.fake.url)
        if i % 3 == 0 and i % 2 == 0:  # redelivered while the first is still in flight
            await asyncio.gather(_send(http, served, body, figures), _send(http, served, body, figures, 1))
        elif i % 3 == 0:  # redelivered after the first was answered
            await _send(http, served, body, figures)
            await _send(http, served, body, figures, 1)
        else:
            await _send(http, served, body, figures)


async def _terminator(served: Served, times: int, every: float, figures: Figures) -> None:
    """Kill every other backend of this database, `times` times, from a side connection."""
    import asyncpg

    url = served.container.db.url.replace("postgresql+asyncpg", "postgresql")
    for _ in range(times):
        await asyncio.sleep(every)
        conn = await asyncpg.connect(url)
        try:
            killed = await conn.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            figures.terminated += sum(1 for r in killed if r[0])
        finally:
            await conn.close()


async def run(
    db: str, commands: int, clients: int, terminate: int = 0, every: float = 0.5, seed: int = 7
) -> int:
    url = await database_url(db)
    figures = Figures()
    problems: list[str] = []
    async with slack_server(url) as served:
        if terminate and not served.container.db.url.startswith("postgresql"):
            print("--terminate needs PostgreSQL", file=sys.stderr)
            return 2
        order = list(range(1, commands + 1))
        random.Random(seed).shuffle(order)
        shares = [order[k::clients] for k in range(clients)]
        connector = aiohttp.TCPConnector(limit=clients)
        async with aiohttp.ClientSession(connector=connector) as http:
            # Slack's first request of a workspace, so the installation and policy exist before the burst.
            await _send(http, served, command_body(0, served.fake.url).replace("Guest", "Warm-up"), figures)
            started = time.perf_counter()
            killer = (
                asyncio.ensure_future(_terminator(served, terminate, every, figures)) if terminate else None
            )
            await asyncio.gather(*(_client(http, served, share, figures) for share in shares))
            figures.elapsed = time.perf_counter() - started
            if killer is not None:
                await killer
            async with asyncio.timeout(120):
                await served.rt.idle()
                await _settled(served)
        problems += await _check(served, commands, figures, terminate)
    _report(db, commands, clients, figures, problems)
    return 1 if problems else 0


async def _settled(served: Served) -> None:
    """Until no intake row is pending: work cut by a database fault is handed back and run again
    (after a back-off of a second or two) rather than reported failed."""
    while True:
        async with served.container.db.session() as s:
            pending = (await s.exec(select(func.count()).select_from(IntakeItem).where(IntakeItem.status == PENDING))).one()
        if not pending:
            return
        await asyncio.sleep(0.2)
        await served.rt.idle()


async def _check(served: Served, commands: int, figures: Figures, terminate: int) -> list[str]:
    problems = []
    async with served.container.db.session() as s:
        cases = list((await s.exec(select(Case).where(Case.team_id == TEAM))).all())
        if served.container.db.url.startswith("postgresql"):
            await s.exec(text("SELECT 1"))  # type: ignore[call-overload]
        total = (await s.exec(select(func.count()).select_from(Case))).one()
        with_event = (await s.exec(select(func.count(func.distinct(TimelineEvent.case_id))))).one()
    guests = Counter(c.problem for c in cases if c.problem.startswith("complaint"))
    twice = [p for p, n in guests.items() if n > 1]
    told = {
        int(k.removeprefix("cmd"))
        for k, body in served.fake.responses
        if k.startswith("cmd") and "went wrong" in str(body.get("text", ""))
    }
    missing = {i for i in range(1, commands + 1) if f"complaint number {i} about the room" not in guests}
    if with_event != total:
        problems.append(f"{total - with_event} cases half-written (no timeline)")
    if twice:
        problems.append(f"{len(twice)} commands made more than one case")
    if terminate:
        if missing - told:
            problems.append(
                f"{len(missing - told)} commands lost without a word: {sorted(missing - told)[:10]}"
            )
    elif missing or total != commands + 1:
        problems.append(f"{len(missing)} commands have no case ({total - 1} cases for {commands} commands)")
    cards = Counter(p.get("text", "").split(" · ")[0] for p in served.fake.posts() if not p.get("thread_ts"))
    if any(n > 1 for n in cards.values()):
        problems.append("a case got more than one card")
    if sum(cards.values()) != len(cases):
        problems.append(f"{sum(cards.values())} cards for {len(cases)} cases")
    if any(status >= 500 for status in figures.statuses):
        problems.append(f"5xx answers: {dict(figures.statuses)}")
    if max(figures.latencies) >= SLACK_ACK_SECONDS:
        problems.append(f"slowest ack {max(figures.latencies):.2f} s, Slack allows {SLACK_ACK_SECONDS} s")
    figures.statuses[-1] = len(told)  # reported below as "told to retry"
    return problems


def _report(db: str, commands: int, clients: int, f: Figures, problems: list[str]) -> None:
    requests = len(f.latencies)
    told = f.statuses.pop(-1, 0)
    print(f"slack_load on {db}: {commands} commands from {clients} clients, {f.retries} redelivered")
    print(f"  requests held   {requests} ({requests / f.elapsed:.0f} req/s over {f.elapsed:.1f} s)")
    print(f"  statuses        {dict(sorted(f.statuses.items()))}")
    print(
        f"  ack latency     p50 {percentile(f.latencies, 50) * 1000:.0f} ms, "
        f"p99 {percentile(f.latencies, 99) * 1000:.0f} ms, max {max(f.latencies) * 1000:.0f} ms"
    )
    if f.terminated or told or problems:
        print(f"  pg backends killed {f.terminated}; commands cut by it and told to retry: {told}")
    print("  OK" if not problems else "  FAILED:\n    " + "\n    ".join(problems))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.stress.slack_load", description=__doc__.split("\n")[0])
    p.add_argument("--db", default="sqlite", help="sqlite, postgres (TEST_DATABASE_URL's server) or a URL")
    p.add_argument("--commands", type=int, default=1000)
    p.add_argument("--clients", type=int, default=100)
    p.add_argument("--terminate", type=int, default=0, help="kill the database's connections this many times")
    p.add_argument("--every", type=float, default=0.5, help="seconds between two kills (default 0.5)")
    p.add_argument("--smoke", action="store_true", help="60 commands from 20 clients: a quick check for CI")
    args = p.parse_args(argv)
    if args.smoke:
        args.commands, args.clients, args.every = 60, 20, min(args.every, 0.05)
    return asyncio.run(run(args.db, args.commands, args.clients, args.terminate, args.every))


if __name__ == "__main__":
    raise SystemExit(main())
