"""Benchmark 2: the button click path (`block_actions`, Claim on an open case), side by side.

Teambot (`teambot serve`, SQLite then PostgreSQL) against the bare aiohttp handler and the bare
Bolt AsyncApp, same signed payloads. Every Teambot click claims a different open case, pressed
on the case's own card: the work after the ack is the claim (row lock, timeline event, due
nudges cancelled), the card updated in place (chat.update) and a line in its thread.

The open cases are made first: one real `/recover` creates the team's policy, then the rest are
bulk-inserted as `/recover` leaves them (card posted, `opened` event, nudges due).

    .venv/bin/python -m bench.clicks --scheduler off   # the run in docs/benchmarks.md
    .venv/bin/python -m bench.clicks --smoke
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import _seed, _slack
from bench._common import (
    PG_URL,
    TEAM,
    baseline_proc,
    fake_stats,
    fakechat_proc,
    machine,
    reset_postgres,
    save,
    slack_env,
    start_workers,
    teambot_proc,
    wait_count,
    workdir,
)
from bench.slash import report as slash_report
from bench.slash import verdict
from teambot.core.db import Database

ID_OFFSET = 1_000_000


async def open_cases(url: str, n: int) -> list[tuple[int, str, str]]:
    """n open, unowned cases with their cards posted; (number, channel, card ts) of each."""
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            d = await _seed.dialect(conn)
            base = int(
                await _seed.scalar(conn, "SELECT case_counter FROM policies WHERE team_id = :t", t=TEAM)
            )
            now = int(time.time()) - 60
            cols = _seed.case_columns(d, TEAM, str(now), status="'open'", owner="NULL", channel="'CK' || x",
                                      customers=0, extra={"id": f"(x + {ID_OFFSET})"})  # fmt: skip
            lo, hi = base + 1, base + n
            await _seed.insert_series(conn, "cases", cols, lo, hi)
            await _seed.events_from_cases(conn, lo + ID_OFFSET, hi + ID_OFFSET)
            ref = d.json_obj("'channel'", "channel_id", "'ts'", "'1790000001.' || number", "'last_event'",
                             "(SELECT MAX(e.id) FROM timeline_events e WHERE e.case_id = cases.id)")  # fmt: skip
            await conn.execute(
                text(
                    f"UPDATE cases SET card_ref = {ref} WHERE id BETWEEN {lo + ID_OFFSET} AND {hi + ID_OFFSET}"
                )
            )
            for kind, due in (("nudge_unowned", 900), ("nudge_resolve", 64800), ("nudge_resolve", 86400)):
                await _seed.insert_series(conn, "due_items", {
                    "key": f"'bench:{kind}:{due}:' || x", "team_id": f"'{TEAM}'", "kind": f"'{kind}'",
                    "case_id": f"(x + {ID_OFFSET})", "stage": "1", "due_at": d.ts(str(now + due)),
                    "status": "'pending'", "attempts": "0", "data": d.json_empty(), "created_at": d.ts(str(now)),
                    "version": "1",
                }, lo, hi)  # fmt: skip
            await conn.execute(
                text("UPDATE policies SET case_counter = :n WHERE team_id = :t"), {"n": hi, "t": TEAM}
            )
            await _seed.fix_sequences(conn, ["cases"])
            if _seed.pg(conn):
                await conn.exec_driver_sql("ANALYZE")
            rows = await conn.execute(
                text(
                    f"SELECT number, channel_id FROM cases WHERE id BETWEEN {lo + ID_OFFSET} AND {hi + ID_OFFSET} ORDER BY number"
                )
            )
            return [(int(num), str(ch), f"1790000001.{num}") for num, ch in rows]
    finally:
        await db.dispose()


async def run(dbs: list[str], levels: list[int], seconds: float, warmup: float, cases: int, scheduler: str,
              drain: float, workers: int = 0, nice: int = 0) -> dict[str, Any]:  # fmt: skip
    result: dict[str, Any] = {"machine": machine(), "levels": levels, "seconds": seconds, "scheduler": scheduler,
                              "cases": cases, "workers": workers, "worker_nice": nice, "runs": {}}  # fmt: skip
    with workdir() as wd:
        fake = fakechat_proc(wd)
        await fake.start()
        env = slack_env(fake)
        a, b = baseline_proc("aiohttp", wd), baseline_proc("bolt", wd, **env)
        await a.start()
        await b.start()
        try:
            for db in dbs:
                url = f"sqlite:///{wd}/clicks.db" if db == "sqlite" else PG_URL
                if db == "postgres":
                    reset_postgres(PG_URL)
                split = {"TEAMBOT_WORK": "worker"} if workers else {}
                tb = teambot_proc(f"teambot-{db}", wd, url, TEAMBOT_SCHEDULER=scheduler, **split, **env)
                await tb.start()
                helpers = await start_workers(workers, wd, url, tb.name, nice, TEAMBOT_SCHEDULER=scheduler, **env)
                # One real /recover: the team's policy and first case exist as Teambot makes them.
                from bench._common import hammer

                # The fake chat API counts across databases: wait for this database's first card, or
                # the seed below reads the case counter before that /recover committed and clashes.
                cards = int((await fake_stats(fake))["counts"].get("cards", 0))
                first = await hammer(
                    "setup", f"{tb.url}/slack/events", lambda i: _slack.command(i, fake.url), 1, 10, limit=1
                )
                assert first.ok == 1, first.statuses
                await wait_count(fake, "cards", cards + 1, 30)
                t0 = time.perf_counter()
                pool = await open_cases(url, cases)
                print(f"{db}: {len(pool)} open cases ready in {time.perf_counter() - t0:.1f}s", flush=True)

                def shared(i: int, pool: list[tuple[int, str, str]] = pool) -> tuple[bytes, dict[str, str]]:
                    number, channel, ts = pool[i % len(pool)]
                    return _slack.click(i, fake.url, number, channel, ts)

                targets = [_slack.Target("aiohttp", a, False), _slack.Target("bolt", b, False),
                           _slack.Target(tb.name, tb, True, limit=len(pool))]  # fmt: skip
                starts: dict[str, int] = {}
                _, starts = await _slack.side_by_side(targets, shared, [10], warmup, fake, "chat.update", starts,
                                                      drain_timeout=drain)  # fmt: skip
                t0 = time.perf_counter()
                measured, starts = await _slack.side_by_side(targets, shared, levels, seconds, fake, "chat.update",
                                                             starts, drain_timeout=drain)  # fmt: skip
                claimed = await _claimed(url, pool)
                result["runs"][db] = {
                    "startup_s": round(tb.startup_s, 3), "rss_after_mb": tb.rss_mb(),
                    "errors_logged": tb.errors_logged() + sum(w.errors_logged() for w in helpers),
                    "wall_s": round(time.perf_counter() - t0, 1), "clicks_sent": starts.get(tb.name, 0), "cases_claimed": claimed,
                    "pool_exhausted": starts.get(tb.name, 0) >= len(pool),
                    "levels": [lv.row() for lv in measured], "compare": _slack.compare_rows(measured, "bolt"),
                }  # fmt: skip
                for proc in (tb, *helpers):
                    proc.stop()
        finally:
            for p in (a, b, fake):
                p.stop()
    result["verdict"] = verdict(result)
    return result


async def _claimed(url: str, pool: list[tuple[int, str, str]]) -> int:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            lo, hi = pool[0][0], pool[-1][0]
            return int(await _seed.scalar(conn, f"SELECT COUNT(*) FROM cases WHERE team_id = '{TEAM}' AND "
                                                f"number BETWEEN {lo} AND {hi} AND owner_id IS NOT NULL"))  # fmt: skip
    finally:
        await db.dispose()


def report(result: dict[str, Any]) -> str:
    return slash_report(
        result,
        lambda db, run: (
            f"Claim clicks on {db} ({run['clicks_sent']} clicks, {run['cases_claimed']} cases claimed, "
            f"RSS after {run['rss_after_mb']} MB)"
        ),
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Benchmark 2: Claim button clicks.")
    p.add_argument("--smoke", action="store_true", help="tiny run: SQLite only, 1 and 4 clients")
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--levels", default="1,10,100")
    p.add_argument("--cases", type=int, default=6000, help="open cases to click on (default 6000)")
    p.add_argument("--scheduler", choices=["on", "off"], default="on")
    p.add_argument("--drain", type=float, default=120.0)
    p.add_argument("--workers", type=int, default=0, help="N > 0: TEAMBOT_WORK=worker with N `teambot worker`s")
    p.add_argument("--worker-nice", type=int, default=0, help="run the workers under `nice -n N`")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    if args.smoke:
        dbs, levels, seconds, warmup, cases = (
            ["sqlite"] if args.db == "both" else [args.db],
            [1, 4],
            0.3,
            0.2,
            200,
        )
    else:
        dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
        levels, seconds, warmup, cases = (
            [int(x) for x in args.levels.split(",")],
            args.seconds,
            1.0,
            args.cases,
        )
    result = asyncio.run(run(dbs, levels, seconds, warmup, cases, args.scheduler, args.drain, args.workers, args.worker_nice))
    print(report(result))
    name = "clicks" + ("-smoke" if args.smoke else "") + ("-scheduler-off" if args.scheduler == "off" else "")
    name += f"-workers{args.workers}" if args.workers else ""
    print("wrote", save(name, result, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
