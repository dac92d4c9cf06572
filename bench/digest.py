"""Benchmark 4: the weekly digest at scale, against one indexed COUNT(*) over the week.

A team opening about 20,000 cases a week: the digest week (2026-W47) holds 20,000 cases and
history grows backwards at the same density, from 100,000 to 1,000,000 cases (5 to 50 weeks).
Each case carries the timeline its fields imply (opened, claimed, resolved, follow-up), three
in ten a grant; half name one of 100,000 customers. History is mostly closed; 2 % stays active
(1 % resolved with the follow-up never recorded, 1 % owned and forgotten), as in real teams.

Times `teambot.core.digest.compute` (the function the weekly send and `/recover digest` call)
and, as the floor, `SELECT COUNT(*)` of the week's cases through ix_cases_team_opened, each the
median of 3 runs; target: under 1 s, and within 2x from 100 k to 1 M history.

    .venv/bin/python -m bench.digest               # SQLite then PostgreSQL (~6 min)
    .venv/bin/python -m bench.digest --smoke       # tiny numbers
    .venv/bin/python -m bench.digest --profile     # also write a pyinstrument profile per size
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from bench import _seed
from bench._common import PG_URL, RESULTS, machine, median, ratio, reset_postgres, save, table, workdir
from teambot.core.cases.models import Case
from teambot.core.db import Database
from teambot.core.insights import digest as digest_mod
from teambot.core.migrate import upgrade_async
from teambot.core.policy.rules import new_policy

TEAM = "TD"
MONDAY = date(2026, 11, 16)  # 2026-W47
W = int(datetime(2026, 11, 16, tzinfo=UTC).timestamp())
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the Monday the digest goes out
SPACING = 30  # seconds between cases: ~20,160 a week
TOP = 2_000_000  # history numbers count down from here, the week's count up from TOP + 1


async def seed_week(db: Database, week: int, customers: int) -> None:
    async with db.session() as s:
        p = new_policy(TEAM, "U0", NOW - timedelta(days=400), "slack")
        p.digest_channel = "CDIGEST"
        s.add(p)
        await s.commit()
    async with db.engine.begin() as conn:
        d = await _seed.dialect(conn)
        await _seed.customers(conn, TEAM, customers, str(W - 400 * 86400))
        status = "(CASE WHEN x % 10 < 2 THEN 'open' WHEN x % 10 < 4 THEN 'owned' WHEN x % 10 < 7 THEN 'resolved' ELSE 'closed' END)"
        cols = _seed.case_columns(d, TEAM, f"({W} + (x - {TOP + 1}) * {SPACING})", status=status,
                                  owner="'U' || (x % 40)", channel="'C' || (x % 30)", customers=customers)  # fmt: skip
        await _seed.insert_series(conn, "cases", cols, TOP + 1, TOP + week)
        await _seed.events_from_cases(conn, TOP + 1, TOP + week)
        await _seed.grants_from_cases(conn, TOP + 1, TOP + week)
        await conn.execute(_flags_sql(d, TOP + 1, TOP + week))


async def grow_history(db: Database, have: int, want: int, customers: int) -> None:
    """History cases k = have+1 .. want back from the week, x = TOP - k (older = smaller)."""
    lo, hi = TOP - want, TOP - have - 1
    async with db.engine.begin() as conn:
        d = await _seed.dialect(conn)
        status = "(CASE WHEN x % 100 = 0 THEN 'resolved' WHEN x % 100 = 1 THEN 'owned' ELSE 'closed' END)"
        cols = _seed.case_columns(d, TEAM, f"({W} - ({TOP} - x) * {SPACING})", status=status,
                                  owner="'U' || (x % 40)", channel="'C' || (x % 30)", customers=customers)  # fmt: skip
        await _seed.insert_series(conn, "cases", cols, lo, hi)
        await _seed.events_from_cases(conn, lo, hi)
        await _seed.grants_from_cases(conn, lo, hi)
        await conn.execute(_flags_sql(d, lo, hi))
        await _seed.fix_sequences(conn, ["cases", "customers"])
    async with db.engine.begin() as conn:
        if _seed.pg(conn):
            await conn.exec_driver_sql("ANALYZE")  # what autovacuum would have done by then


def _flags_sql(d: _seed.Dialect, lo: int, hi: int) -> Any:
    from sqlalchemy import text

    return text(
        "INSERT INTO improvement_flags (team_id, case_id, flagged_by, note, flagged_at) "
        f"SELECT team_id, id, opened_by, 'Kitchen tickets print late', opened_at FROM cases "
        f"WHERE id BETWEEN {lo} AND {hi} AND id % 200 = 0"
    )


async def floor_count(db: Database) -> int:
    start, end = digest_mod.week_bounds(MONDAY, "UTC")
    async with db.session() as s:
        q = (
            select(func.count())
            .select_from(Case)
            .where(Case.team_id == TEAM, col(Case.opened_at) >= start, col(Case.opened_at) < end)
        )
        return int((await s.exec(q)).one())  # type: ignore[call-overload]


async def timed(fn: Any, reps: int) -> tuple[float, Any]:
    """Median of `reps` runs; a run over 3 s is not repeated (its noise is small beside it)."""
    times: list[float] = []
    out = None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = await fn()
        times.append(time.perf_counter() - t0)
        if times[-1] > 3.0:
            break
    return median(times), out


async def run_db(kind: str, wd: Path, sizes: list[int], week: int, customers: int, reps: int,
                 profile: bool) -> dict[str, Any]:  # fmt: skip
    url = f"sqlite:///{wd}/digest.db" if kind == "sqlite" else PG_URL
    if kind == "postgres":
        reset_postgres(PG_URL)
    else:
        await upgrade_async(url)
    db = Database(url)
    rows: list[dict[str, Any]] = []
    try:
        t0 = time.perf_counter()
        await seed_week(db, week, customers)
        have = 0
        for size in sizes:
            t1 = time.perf_counter()
            await grow_history(db, have, size, customers)
            have = size
            seed_s = time.perf_counter() - t1
            floor_s, opened = await timed(lambda: floor_count(db), reps)

            async def digest() -> Any:
                return await digest_mod.compute(db, TEAM, MONDAY, NOW)

            digest_s, d = await timed(digest, reps)
            if profile:
                await _profile(kind, size, digest)
            row = {"db": kind, "history": size, "week cases": opened, "digest opened": d.this.opened,
                   "still open": d.still_open, "digest s": round(digest_s, 3), "count(*) s": round(floor_s, 4),
                   "digest ÷ count": ratio(digest_s, floor_s), "seed s": round(seed_s, 1)}  # fmt: skip
            rows.append(row)
            print(f"  {kind} history={size:>9,d}: digest {digest_s:.3f}s  count(*) {floor_s:.4f}s "
                  f"(opened {d.this.opened}, still open {d.still_open}, seeded in {seed_s:.1f}s)", flush=True)  # fmt: skip
        total = time.perf_counter() - t0
    finally:
        await db.dispose()
    first, last = rows[0], rows[-1]
    growth = ratio(last["digest s"], first["digest s"])
    return {"rows": rows, "growth": growth, "seconds": round(total, 1),
            "under_1s": all(r["digest s"] < 1.0 for r in rows), "flat_within_2x": growth <= 2.0}  # fmt: skip


async def _profile(kind: str, size: int, digest: Any) -> None:
    """One more digest run under pyinstrument, written next to the results."""
    from pyinstrument import Profiler

    prof = Profiler(async_mode="enabled")
    prof.start()
    await digest()
    prof.stop()
    path = RESULTS / f"digest-{kind}-{size}-profile.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(prof.output_text(unicode=False, color=False))


async def run(
    dbs: list[str], sizes: list[int], week: int, customers: int, reps: int, profile: bool
) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": machine(), "week": week, "sizes": sizes, "dbs": {}}
    with workdir() as wd:
        for kind in dbs:
            print(f"{kind}: seeding the week and history", flush=True)
            result["dbs"][kind] = await run_db(kind, wd, sizes, week, customers, reps, profile)
    return result


def report(result: dict[str, Any]) -> str:
    rows = [r for d in result["dbs"].values() for r in d["rows"]]
    cols = ["db", "history", "week cases", "digest s", "count(*) s", "digest ÷ count", "still open", "seed s"]
    verdicts = {k: {"growth 100k→1M": v["growth"], "under_1s": v["under_1s"], "flat_within_2x": v["flat_within_2x"]}
                for k, v in result["dbs"].items()}  # fmt: skip
    return table(rows, cols) + f"\n\nverdict: {verdicts}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Benchmark 4: the weekly digest at scale.")
    p.add_argument("--smoke", action="store_true", help="tiny: SQLite, 200 and 1000 history, 100 in the week")
    p.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    p.add_argument("--profile", action="store_true", help="write a pyinstrument profile of each digest run")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    if args.smoke:
        dbs = ["sqlite"] if args.db == "both" else dbs
        sizes, week, customers, reps = [200, 1000], 100, 100, 1
    else:
        sizes, week, customers, reps = [100_000, 1_000_000], 20_000, 100_000, 3
    result = asyncio.run(run(dbs, sizes, week, customers, reps, args.profile))
    print(report(result))
    print("wrote", save("digest" + ("-smoke" if args.smoke else ""), result, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
