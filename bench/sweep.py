"""Benchmark 5: the deadline sweep at scale on PostgreSQL, one worker then two.

100,000 pending due items, 10,000 of them (`nudge_unowned` on 10,000 open, unowned cases, each
in its own channel: Slack paces posts per channel) due at the same moment T0, the other 90,000
due a day later. Workers are `teambot serve` processes with the in-process scheduler on and
Slack pointed at a local chat API, the only way the CLI delivers a nudge today (see
`worker_cli_check`: `teambot worker` registers no chat notifier). Measured at the chat API:
time from T0 until the last nudge arrived, sends/s, lateness p50/p99 (arrival - T0) and
duplicates (a channel nudged twice); in the database: items sent, failed, left pending.

    .venv/bin/python -m bench.sweep            # ~3 min: seeding 100,000 rows twice, then the sends
    .venv/bin/python -m bench.sweep --workers 1 --due 5000 --no-cli-check   # one quick trial
    .venv/bin/python -m bench.sweep --smoke    # tiny numbers, due at start

Also reported: each run's worker CPU-seconds from T0 on, and sends per CPU-second, which
hold still on a shared machine where sends/s follow the load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench import _seed
from bench._common import (
    PG_URL,
    PY,
    Proc,
    base_env,
    fake_reset,
    fake_stats,
    fakechat_proc,
    free_port,
    machine,
    pct,
    reset_postgres,
    save,
    slack_env,
    table,
    teambot_proc,
    wait_count,
    workdir,
)
from teambot.core.db import Database
from teambot.core.policy.rules import new_policy

TEAM = "T1"


async def seed(url: str, pending: int, due: int, t0: float) -> None:
    db = Database(url)
    try:
        from datetime import UTC, datetime

        async with db.session() as s:
            s.add(new_policy(TEAM, "U0", datetime.now(UTC), "slack"))
            await s.commit()
        async with db.engine.begin() as conn:
            d = await _seed.dialect(conn)
            opened = str(int(t0) - 3600)
            cols = _seed.case_columns(d, TEAM, opened, status="'open'", owner="NULL", channel="'CS' || x",
                                      customers=0)  # fmt: skip
            await _seed.insert_series(conn, "cases", cols, 1, due)
            await conn.execute(
                text("UPDATE policies SET case_counter = :n WHERE team_id = :t"), {"n": due, "t": TEAM}
            )
            common = {"team_id": f"'{TEAM}'", "stage": "1", "status": "'pending'", "attempts": "0",
                      "data": d.json_empty(), "created_at": d.ts(opened), "version": "1"}  # fmt: skip
            await _seed.insert_series(conn, "due_items", {
                **common, "key": "'unowned:' || x || ':bench:1'", "kind": "'nudge_unowned'", "case_id": "x",
                "due_at": f"to_timestamp({t0})" if d.pg else d.ts(str(int(t0))),
            }, 1, due)  # fmt: skip
            await _seed.insert_series(conn, "due_items", {
                **common, "key": "'resolve:' || x || ':bench:1'", "kind": "'nudge_resolve'", "ref": "'due'",
                "case_id": f"(1 + x % {due})", "due_at": d.ts(str(int(t0) + 86400)),
            }, 1, pending - due)  # fmt: skip
            await _seed.fix_sequences(conn, ["cases"])
            await conn.exec_driver_sql("ANALYZE")
    finally:
        await db.dispose()


async def db_counts(url: str) -> dict[str, int]:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT kind, status, COUNT(*) FROM due_items GROUP BY kind, status")
            )
            return {f"{k}:{s}": int(n) for k, s, n in rows}
    finally:
        await db.dispose()


def cpu_seconds(proc: Proc) -> float:
    """User + system CPU the process has used so far (Linux /proc), NaN elsewhere: sends per
    CPU-second do not depend on what else the machine is running, sends/s do."""
    try:
        assert proc.popen is not None
        fields = Path(f"/proc/{proc.popen.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, AssertionError, IndexError, ValueError):
        return float("nan")


async def one(wd: Path, fake: Proc, workers: int, pending: int, due: int, lead: float,
              timeout: float) -> dict[str, Any]:  # noqa: ASYNC109  # fmt: skip
    reset_postgres(PG_URL)
    await fake_reset(fake)
    t0 = time.time() + lead
    t = time.perf_counter()
    await seed(PG_URL, pending, due, t0)
    seed_s = time.perf_counter() - t
    procs = [
        teambot_proc(f"worker{i + 1}-of-{workers}", wd, PG_URL, **slack_env(fake)) for i in range(workers)
    ]
    try:
        for p in procs:
            await p.start()
        if time.time() > t0:
            print(f"  note: workers were up {time.time() - t0:.1f}s after T0", flush=True)
        await asyncio.sleep(max(0.0, t0 - time.time() - 0.5))
        cpu0, fake0 = [cpu_seconds(p) for p in procs], cpu_seconds(fake)  # start-up excluded
        reached, _ = await wait_count(fake, "cards", due, timeout + max(0.0, t0 - time.time()))
        cpu = sum(cpu_seconds(p) - c for p, c in zip(procs, cpu0, strict=True))
        fake_cpu = cpu_seconds(fake) - fake0
        await asyncio.sleep(1.0)  # anything sent twice arrives now
        stats = await fake_stats(fake, times=True)
        counts = await db_counts(PG_URL)
        errors = sum(p.errors_logged() for p in procs)
        sweeps = [line.split(" INFO ", 1)[-1] for p in procs for line in p.log_path.read_text(errors="replace")
                  .splitlines() if "sweep:" in line]  # fmt: skip
    finally:
        for p in procs:
            p.stop()
    arrivals = sorted(at for at, _ in stats["cards"])
    late = [max(0.0, a - t0) for a in arrivals]
    span = (arrivals[-1] - arrivals[0]) if len(arrivals) > 1 else float("nan")
    return {
        "workers": workers, "pending": pending, "due": due, "seed s": round(seed_s, 1),
        "sent": len(arrivals), "all sent s": round(arrivals[-1] - t0, 1) if arrivals else float("nan"),
        "sends/s": round(len(arrivals) / span, 1) if span and span == span else float("nan"),
        "late p50 s": round(pct(late, 50), 2), "late p99 s": round(pct(late, 99), 2),
        "duplicates": int(stats.get("channels_over_one", 0)), "reached": reached,
        "worker cpu s": round(cpu, 1), "chat api cpu s": round(fake_cpu, 1), "sends/cpu s": round(len(arrivals) / cpu, 1) if cpu > 0 else float("nan"),
        "db": counts, "errors_logged": errors, "sweeps": sweeps,
    }  # fmt: skip


async def worker_cli_check(wd: Path, fake: Proc, due: int) -> dict[str, Any]:
    """`teambot worker` on the same data: does a due nudge reach the chat API?"""
    reset_postgres(PG_URL)
    await fake_reset(fake)
    await seed(PG_URL, due, due, time.time() - 1)
    port = free_port()
    env = base_env(DATABASE_URL=PG_URL, PORT=str(port), **slack_env(fake))
    proc = Proc("teambot-worker", [PY, "-m", "teambot.cli", "worker"], env, port, wd)
    import subprocess

    log = proc.log_path.open("ab")
    proc.popen = subprocess.Popen(proc.argv, env=env, cwd=wd, stdout=log, stderr=log)  # noqa: ASYNC220
    log.close()
    try:
        deadline = time.time() + 30
        counts: dict[str, int] = {}
        while time.time() < deadline:
            counts = await db_counts(PG_URL)
            if counts.get("nudge_unowned:pending", 0) == 0:
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(1.0)
        delivered = int((await fake_stats(fake))["counts"].get("cards", 0))
    finally:
        proc.stop()
    return {
        "due": due,
        "marked_sent": counts.get("nudge_unowned:sent", 0),
        "delivered_to_chat_api": delivered,
    }


async def run(worker_counts: list[int], pending: int, due: int, lead: float,
              timeout: float, *, cli_check: bool = True) -> dict[str, Any]:  # noqa: ASYNC109  # fmt: skip
    result: dict[str, Any] = {"machine": machine(), "runs": []}
    with workdir() as wd:
        fake = fakechat_proc(wd)
        await fake.start()
        try:
            for n in worker_counts:
                print(f"{n} worker(s): {pending} pending, {due} due at T0", flush=True)
                r = await one(wd, fake, n, pending, due, lead, timeout)
                print(f"  sent {r['sent']} in {r['all sent s']}s after T0, {r['sends/s']}/s, late p99 "
                      f"{r['late p99 s']}s, duplicates {r['duplicates']}, {r['sends/cpu s']} sends per "
                      f"worker CPU-second, load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
                for line in r["sweeps"]:
                    print("   ", line, flush=True)
                result["runs"].append(r)
            if cli_check:
                result["worker_cli_check"] = await worker_cli_check(wd, fake, min(due, 100))
                print("teambot worker check:", result["worker_cli_check"], flush=True)
        finally:
            fake.stop()
    base = result["runs"][0]
    for r in result["runs"]:
        r["sends/s ÷ 1 worker"] = (
            round(r["sends/s"] / base["sends/s"], 2) if base["sends/s"] else float("nan")
        )
    return result


def report(result: dict[str, Any]) -> str:
    cols = ["workers", "pending", "due", "sent", "all sent s", "sends/s", "sends/s ÷ 1 worker", "late p50 s",
            "late p99 s", "duplicates", "worker cpu s", "sends/cpu s", "chat api cpu s", "errors_logged"]  # fmt: skip
    return table(result["runs"], cols) + f"\n\nteambot worker: {result.get('worker_cli_check')}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Benchmark 5: the deadline sweep at scale (PostgreSQL).")
    p.add_argument("--smoke", action="store_true", help="tiny: 200 pending, 50 due, due at start")
    p.add_argument("--workers", default="1,2")
    p.add_argument("--timeout", type=float, default=400.0, help="longest wait for all nudges (seconds)")
    p.add_argument("--pending", type=int, default=100_000, help="pending items in all")
    p.add_argument("--due", type=int, default=10_000, help="of which due at T0")
    p.add_argument("--no-cli-check", action="store_true", help="skip the `teambot worker` check")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    counts = [int(x) for x in args.workers.split(",")]
    if args.smoke:
        pending, due, lead, timeout = 200, 50, -1.0, 30.0
    else:
        pending, due, lead, timeout = args.pending, args.due, 8.0, args.timeout
    result = asyncio.run(run(counts, pending, due, lead, timeout, cli_check=not args.no_cli_check))
    print(report(result))
    print("wrote", save("sweep" + ("-smoke" if args.smoke else ""), result, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
