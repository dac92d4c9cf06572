"""Benchmark 3: Teams message activities into /api/messages, side by side with a bare botbuilder
echo bot on the same adapter setup (CloudAdapter + ConfigurationBotFrameworkAuthentication).

Both run with MICROSOFT_APP_ID set but empty: botbuilder's local mode, no token checked on the
way in or sent on the way out, so neither side pays for JWT validation (a deployed bot does).
Each request is `@Teambot recover <text>` in its own channel conversation (Teams paces sends per
conversation); Teambot records the activity, answers 201 and then opens the case and sends its
Adaptive Card to a local Bot Connector (acks first, issue 12: the count of sends waits for them);
the echo bot sends one text reply within the request.

Besides req/s and latency of the answers, each level reports completed turns/s: the replies the fake
Bot Connector received, over the time from the level's first request to its last reply. Teambot's 201
comes before its turn, so its req/s can run ahead of what it completes; turns/s (and `drain s`, how
long replies kept coming after the last request) show what it sustains. For the echo bot the two agree.

    .venv/bin/python -m bench.teams                 # SQLite then PostgreSQL
    .venv/bin/python -m bench.teams --smoke
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from bench._common import (
    PG_URL,
    PY,
    Level,
    Proc,
    base_env,
    baseline_proc,
    fake_stats,
    fakechat_proc,
    free_port,
    hammer,
    machine,
    reset_postgres,
    save,
    start_workers,
    table,
    workdir,
)

BOT = {"id": "28:bench-bot", "name": "Teambot"}


def activity(i: int, service_url: str) -> tuple[bytes, dict[str, str]]:
    user = f"u{i % 50}"
    conv = f"19:bench{i}@thread.tacv2"
    body = {
        "type": "message", "id": str(1_700_000_000_000 + i), "timestamp": "2026-11-24T09:00:00.000Z",
        "localTimezone": "Europe/London", "serviceUrl": service_url, "channelId": "msteams",
        "from": {"id": f"29:{user}", "name": f"Person {user}", "aadObjectId": f"aad-{user}"},
        "conversation": {"id": conv, "tenantId": "tenant-bench", "conversationType": "channel", "isGroup": True},
        "recipient": BOT,
        "text": f"<at>Teambot</at> recover Guest {i % 500}: breakfast arrived cold, room {i % 900 + 100} wants: a refund #food",
        "entities": [{"type": "mention", "text": "<at>Teambot</at>", "mentioned": BOT}],
        "channelData": {"tenant": {"id": "tenant-bench"}, "team": {"id": "19:bench-team@thread.tacv2"},
                        "channel": {"id": conv}},
    }  # fmt: skip
    return json.dumps(body).encode(), {"Content-Type": "application/json"}


async def level(name: str, proc: Proc, fake: Proc, c: int, seconds: float, start: int) -> Level:
    before = int((await fake_stats(fake))["counts"].get("teams_send", 0))
    t0 = time.time()  # the fake connector runs on this machine: its clock is ours
    lvl = await hammer(
        name, f"{proc.url}/api/messages", lambda i: activity(i, fake.url + "/"), c, seconds, start=start
    )
    stats = await fake_stats(fake)
    sent = int(stats["counts"].get("teams_send", 0)) - before
    for _ in range(600):  # Teambot answers 201 before the turn (acks first): its replies follow
        if sent >= lvl.ok:
            break
        await asyncio.sleep(0.1)
        stats = await fake_stats(fake)
        sent = int(stats["counts"].get("teams_send", 0)) - before
    last = float(stats.get("last", {}).get("teams_send", t0))
    # Completed turns/s: replies the Bot Connector received, over the time from the first request to
    # the last reply. For the echo bot it is its req/s; for Teambot it includes the backlog it drains
    # after the load stops, so it is what it can sustain, whatever the 201s suggest.
    lvl.extra["sends"] = sent
    lvl.extra["turns_s"] = round(sent / (last - t0), 1) if last > t0 else 0.0
    lvl.extra["drain_s"] = round(max(0.0, last - t0 - lvl.seconds), 2)  # last reply after the last request
    lvl.extra["missing_sends"] = max(0, lvl.ok - sent)  # every answered activity must have sent its reply
    print(f"  {name:16s} c={c:<3d} n={lvl.requests:<6d} err={lvl.errors:<3d} {lvl.rps:8.1f} req/s  "
          f"p50={lvl.p50_ms:7.2f} ms  p99={lvl.p99_ms:7.2f} ms  sends={sent} turns/s={lvl.extra['turns_s']} "
          f"drain={lvl.extra['drain_s']}s", flush=True)  # fmt: skip
    return lvl


async def run(dbs: list[str], levels: list[int], seconds: float, warmup: float, workers: int = 0, nice: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": machine(), "levels": levels, "seconds": seconds, "runs": {}, "workers": workers, "worker_nice": nice,
                              "auth": "MICROSOFT_APP_ID set and empty (local mode) for both"}  # fmt: skip
    with workdir() as wd:
        fake = fakechat_proc(wd)
        await fake.start()
        echo = baseline_proc("echo", wd, MICROSOFT_APP_ID="")
        await echo.start()
        starts = {"echo": 0}
        try:
            for db in dbs:
                url = f"sqlite:///{wd}/teams.db" if db == "sqlite" else PG_URL
                if db == "postgres":
                    reset_postgres(PG_URL)
                port = free_port()
                env = base_env(PORT=str(port), HOST="127.0.0.1", DATABASE_URL=url, MICROSOFT_APP_ID="",
                               TEAMBOT_SCHEDULER="off", **({"TEAMBOT_WORK": "worker"} if workers else {}))  # fmt: skip
                tb = Proc(f"teambot-{db}", [PY, "-m", "teambot.cli", "serve"], env, port, wd)
                await tb.start()
                helpers = await start_workers(workers, wd, url, tb.name, nice, MICROSOFT_APP_ID="", TEAMBOT_SCHEDULER="off")
                starts[tb.name] = 0
                rows: list[Level] = []
                for c in [10, *levels]:
                    for name, proc in (("echo", echo), (tb.name, tb)):
                        lvl = await level(
                            name, proc, fake, c, warmup if len(rows) < 2 else seconds, starts[name]
                        )
                        starts[name] += lvl.requests
                        rows.append(lvl)
                measured = rows[2:]  # the first pair warmed up
                by = {(lv.target, lv.concurrency): lv for lv in measured}
                compare = []
                for lv in measured:
                    if lv.target != tb.name:
                        continue
                    ref = by[("echo", lv.concurrency)]
                    compare.append({
                        "c": lv.concurrency, "req/s": lv.rps, "p50 ms": lv.p50_ms, "p99 ms": lv.p99_ms,
                        "errors": lv.errors + lv.extra["missing_sends"], "echo req/s": ref.rps, "echo p99 ms": ref.p99_ms,
                        "req/s ÷ echo": round(lv.rps / ref.rps, 3) if ref.rps else float("nan"),
                        "p99 ÷ echo": round(lv.p99_ms / ref.p99_ms, 2) if ref.p99_ms else float("nan"),
                        "turns/s": lv.extra["turns_s"], "echo turns/s": ref.extra["turns_s"],
                        "turns ÷ echo": round(lv.extra["turns_s"] / ref.extra["turns_s"], 3)
                        if ref.extra["turns_s"] else float("nan"),
                        "drain s": lv.extra["drain_s"],
                    })  # fmt: skip
                result["runs"][db] = {"startup_s": round(tb.startup_s, 3), "rss_after_mb": tb.rss_mb(),
                                      "echo_rss_mb": echo.rss_mb(),
                                      "errors_logged": tb.errors_logged() + sum(w.errors_logged() for w in helpers),
                                      "levels": [lv.row() for lv in measured], "compare": compare}  # fmt: skip
                for proc in (tb, *helpers):
                    proc.stop()
        finally:
            echo.stop()
            fake.stop()
    return result


def report(result: dict[str, Any]) -> str:
    out = [f"auth: {result['auth']}"]
    for db, run in result["runs"].items():
        out.append(
            f"\n### Teams messages on {db} (RSS after {run['rss_after_mb']} MB, echo {run['echo_rss_mb']} MB)"
        )
        out.append(table(run["compare"], ["c", "req/s", "p50 ms", "p99 ms", "errors", "echo req/s", "echo p99 ms",
                                          "req/s ÷ echo", "p99 ÷ echo", "turns/s", "echo turns/s",
                                          "turns ÷ echo", "drain s"]))  # fmt: skip
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Benchmark 3: Teams message activities.")
    p.add_argument("--smoke", action="store_true", help="tiny run: SQLite only, 1 and 4 clients")
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--levels", default="1,10,100")
    p.add_argument("--out", type=Path)
    p.add_argument("--workers", type=int, default=0, help="N > 0: TEAMBOT_WORK=worker with N `teambot worker`s")
    p.add_argument("--worker-nice", type=int, default=0, help="run the workers under `nice -n N`")
    args = p.parse_args(argv)
    if args.smoke:
        dbs, levels, seconds, warmup = ["sqlite"] if args.db == "both" else [args.db], [1, 4], 0.3, 0.2
    else:
        dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
        levels, seconds, warmup = [int(x) for x in args.levels.split(",")], args.seconds, 1.0
    result = asyncio.run(run(dbs, levels, seconds, warmup, args.workers, args.worker_nice))
    print(report(result))
    name = "teams" + ("-smoke" if args.smoke else "") + (f"-workers{args.workers}" if args.workers else "")
    print("wrote", save(name, result, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
