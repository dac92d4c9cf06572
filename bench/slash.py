"""Benchmark 1: the `/recover <text>` ack path, side by side with its baselines.

Signed slash commands over HTTP into the real server (`teambot serve` as a subprocess, SQLite
then PostgreSQL, SLACK_API_URL at a local fake Slack), against (a) a bare aiohttp handler that
answers 200 and (b) a bare Bolt AsyncApp whose listener only acks, served the same way. For
each of 1, 10, 100 concurrent clients: requests/s, p50/p99 ack latency, errors; for Teambot
also how long until every case's card was posted (its work after the ack), and its RSS.

    .venv/bin/python -m bench.slash            # the real run (~4 min)
    .venv/bin/python -m bench.slash --smoke    # tiny: SQLite only, seconds
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import _slack
from bench._common import (
    PG_URL,
    baseline_proc,
    fakechat_proc,
    machine,
    reset_postgres,
    save,
    slack_env,
    start_workers,
    table,
    teambot_proc,
    workdir,
)

TARGET_P99_MS = 100.0
TARGET_SHARE = 0.5


async def run(dbs: list[str], levels: list[int], seconds: float, warmup: float, scheduler: str = "on",
              drain: float = 120.0, workers: int = 0, nice: int = 0) -> dict[str, Any]:  # fmt: skip
    result: dict[str, Any] = {"machine": machine(), "levels": levels, "seconds": seconds, "scheduler": scheduler,
                              "workers": workers, "worker_nice": nice, "runs": {}}  # fmt: skip
    with workdir() as wd:
        fake = fakechat_proc(wd)
        await fake.start()
        env = slack_env(fake)
        a, b = baseline_proc("aiohttp", wd), baseline_proc("bolt", wd, **env)
        await a.start()
        await b.start()
        starts: dict[str, int] = {}
        try:
            for db in dbs:
                url = f"sqlite:///{wd}/slash.db" if db == "sqlite" else PG_URL
                if db == "postgres":
                    reset_postgres(PG_URL)
                split = {"TEAMBOT_WORK": "worker"} if workers else {}
                tb = teambot_proc(f"teambot-{db}", wd, url, TEAMBOT_SCHEDULER=scheduler, **split, **env)
                startup = await tb.start()
                helpers = await start_workers(workers, wd, url, tb.name, nice, TEAMBOT_SCHEDULER=scheduler, **env)
                await asyncio.sleep(1.0)
                rss_idle = tb.rss_mb()
                targets = [_slack.Target("aiohttp", a, False), _slack.Target("bolt", b, False),
                           _slack.Target(tb.name, tb, True)]  # fmt: skip

                def make(i: int) -> tuple[bytes, dict[str, str]]:
                    return _slack.command(i, fake.url)

                print(f"{db}: started in {startup:.2f}s, RSS {rss_idle} MB; warming up", flush=True)
                _, starts = await _slack.side_by_side(
                    targets, make, [10], warmup, fake, "cards", starts, drain_timeout=drain
                )
                print(f"{db}: measuring", flush=True)
                t0 = time.perf_counter()
                measured, starts = await _slack.side_by_side(
                    targets, make, levels, seconds, fake, "cards", starts, drain_timeout=drain
                )
                result["runs"][db] = {
                    "startup_s": round(startup, 3), "rss_idle_mb": rss_idle, "rss_after_mb": tb.rss_mb(),
                    "baseline_rss_mb": {"aiohttp": a.rss_mb(), "bolt": b.rss_mb()},
                    "errors_logged": tb.errors_logged() + sum(w.errors_logged() for w in helpers),
                    "workers_rss_after_mb": [w.rss_mb() for w in helpers],
                    "wall_s": round(time.perf_counter() - t0, 1),
                    "levels": [lv.row() for lv in measured],
                    "compare": _slack.compare_rows(measured, "bolt"),
                }  # fmt: skip
                for proc in (tb, *helpers):
                    proc.stop()
        finally:
            for p in (a, b, fake):
                p.stop()
    result["verdict"] = verdict(result)
    return result


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, per database, at the highest concurrency measured."""
    out = {}
    for db, run in result["runs"].items():
        top = max(r["c"] for r in run["compare"])
        row = next(r for r in run["compare"] if r["c"] == top)
        share = row.get("req/s ÷ bolt", float("nan"))
        errors = sum(r["errors"] for r in run["compare"]) + run["errors_logged"]
        out[db] = {
            "concurrency": top,
            "share_of_bolt": share, "share_met": share >= TARGET_SHARE,
            "p99_ms": row["p99 ms"], "p99_met": row["p99 ms"] < TARGET_P99_MS,
            "errors": errors, "errors_met": errors == 0,
        }  # fmt: skip
    return out


COMPARE_COLS = ["c", "req/s", "p50 ms", "p99 ms", "errors", "lost", "bolt req/s", "bolt p99 ms", "req/s ÷ bolt",
                "aiohttp req/s", "req/s ÷ aiohttp", "work done/s", "drain s"]  # fmt: skip


def _heading(db: str, run: dict[str, Any]) -> str:
    return f"/recover on {db} (startup {run['startup_s']} s, RSS {run['rss_idle_mb']} → {run['rss_after_mb']} MB)"


def report(result: dict[str, Any], heading: Callable[[str, dict[str, Any]], str] = _heading) -> str:
    """One table per database beside its baselines, then the verdict (shared with bench.clicks)."""
    lines = []
    for db, run in result["runs"].items():
        lines.append(f"\n### {heading(db, run)}")
        lines.append(table(run["compare"], COMPARE_COLS))
    lines.append(f"\nverdict: {result['verdict']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Benchmark 1: the /recover ack path.")
    p.add_argument("--smoke", action="store_true", help="tiny run: SQLite only, 1 and 4 clients, 0.3 s each")
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--seconds", type=float, default=3.0, help="per level and target (default 3)")
    p.add_argument("--levels", default="1,10,100", help="concurrent clients per level (default 1,10,100)")
    p.add_argument(
        "--scheduler",
        choices=["on", "off"],
        default="on",
        help="TEAMBOT_SCHEDULER for Teambot (default on, as deployed: the sweep runs in the web process)",
    )
    p.add_argument("--drain", type=float, default=120.0, help="longest wait for Teambot's work after a level")
    p.add_argument("--workers", type=int, default=0,
                   help="N > 0: TEAMBOT_WORK=worker, the web process only acks and N `teambot worker`s run the work")  # fmt: skip
    p.add_argument("--worker-nice", type=int, default=0, help="run the workers under `nice -n N`")
    p.add_argument(
        "--out", type=Path, help="where to write the JSON result (default bench/results/slash.json)"
    )
    args = p.parse_args(argv)
    if args.smoke:
        dbs, levels, seconds, warmup = ["sqlite"] if args.db == "both" else [args.db], [1, 4], 0.3, 0.2
    else:
        dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
        levels, seconds, warmup = [int(x) for x in args.levels.split(",")], args.seconds, 1.0
    result = asyncio.run(run(dbs, levels, seconds, warmup, args.scheduler, args.drain, args.workers, args.worker_nice))
    print(report(result))
    name = "slash" + ("-smoke" if args.smoke else "") + ("-scheduler-off" if args.scheduler == "off" else "")
    name += f"-workers{args.workers}" if args.workers else ""
    print("wrote", save(name, result, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
