"""Benchmark 6: footprint. Start-up time (spawning the process to the first 200 from GET /healthz)
and resident memory (VmRSS) when idle, for Teambot and for each baseline, median of 3 starts.
The RSS after benchmark 1 is read from bench/results/slash*.json (bench/slash.py measures it on
the same process that served the load).

    .venv/bin/python -m bench.footprint
    .venv/bin/python -m bench.footprint --smoke     # one start each, SQLite only
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from bench._common import (
    PG_URL,
    RESULTS,
    Proc,
    baseline_proc,
    fakechat_proc,
    machine,
    median,
    ratio,
    reset_postgres,
    save,
    slack_env,
    table,
    teambot_proc,
    workdir,
)


async def measure(make: Any, starts: int, settle: float) -> dict[str, Any]:
    times, rss = [], []
    for _ in range(starts):
        p: Proc = make()
        try:
            times.append(await p.start())
            await asyncio.sleep(settle)
            rss.append(p.rss_mb())
        finally:
            p.stop()
    return {"startup s": round(median(times), 3), "idle RSS MB": round(median(rss), 1),
            "startups": [round(t, 3) for t in times]}  # fmt: skip


async def run(starts: int, with_pg: bool, settle: float) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with workdir() as wd:
        fake = fakechat_proc(wd)
        await fake.start()
        env = slack_env(fake)
        try:
            targets: list[tuple[str, Any]] = [
                ("bare aiohttp", lambda: baseline_proc("aiohttp", wd)),
                ("bare Bolt", lambda: baseline_proc("bolt", wd, **env)),
                ("botbuilder echo", lambda: baseline_proc("echo", wd, MICROSOFT_APP_ID="")),
            ]
            first = teambot_proc("teambot-first", wd, f"sqlite:///{wd}/fresh.db", **env)
            t_first = await first.start()
            first.stop()
            rows.append({"target": "teambot SQLite, Slack (first start: creates the schema)",
                         "startup s": round(t_first, 3), "idle RSS MB": float("nan")})  # fmt: skip
            targets += [
                ("teambot SQLite, Slack", lambda: teambot_proc("teambot-sqlite", wd, f"sqlite:///{wd}/fresh.db", **env)),
                ("teambot SQLite, Slack + Teams", lambda: teambot_proc(
                    "teambot-both", wd, f"sqlite:///{wd}/fresh.db", MICROSOFT_APP_ID="", **env)),
            ]  # fmt: skip
            if with_pg:
                reset_postgres(PG_URL)
                targets.append(
                    ("teambot PostgreSQL, Slack", lambda: teambot_proc("teambot-pg", wd, PG_URL, **env))
                )
            for name, make in targets:
                r = await measure(make, starts, settle)
                rows.append({"target": name, **r})
                print(f"  {name:32s} start {r['startup s']:.3f}s  idle RSS {r['idle RSS MB']} MB", flush=True)
        finally:
            fake.stop()
    bolt = next(r for r in rows if r["target"] == "bare Bolt")
    for r in rows:
        r["startup ÷ Bolt"] = ratio(r["startup s"], bolt["startup s"])
        r["RSS ÷ Bolt"] = ratio(r["idle RSS MB"], bolt["idle RSS MB"])
    return {"machine": machine(), "starts": starts, "rows": rows, "after_benchmark_1": _after_load()}


def _after_load() -> dict[str, Any]:
    """RSS of the Teambot process that served benchmark 1, from its results."""
    out: dict[str, Any] = {}
    for path in sorted(RESULTS.glob("slash*.json")):
        if "smoke" in path.name:
            continue
        data = json.loads(path.read_text())
        for db, run in data.get("runs", {}).items():
            out[f"{path.stem}/{db}"] = {"idle": run.get("rss_idle_mb"), "after": run.get("rss_after_mb"),
                                        "bolt after": run.get("baseline_rss_mb", {}).get("bolt"),
                                        "aiohttp after": run.get("baseline_rss_mb", {}).get("aiohttp")}  # fmt: skip
    return out


def report(result: dict[str, Any]) -> str:
    cols = ["target", "startup s", "startup ÷ Bolt", "idle RSS MB", "RSS ÷ Bolt"]
    return table(result["rows"], cols) + f"\n\nRSS after benchmark 1: {result['after_benchmark_1']}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Benchmark 6: start-up time and memory.")
    p.add_argument("--smoke", action="store_true", help="one start each, SQLite only")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    result = asyncio.run(run(1 if args.smoke else 3, not args.smoke, 0.2 if args.smoke else 2.0))
    print(report(result))
    print("wrote", save("footprint" + ("-smoke" if args.smoke else ""), result, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
