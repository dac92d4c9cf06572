"""Every benchmark in bench/ runs in its tiny mode and its figures say the work was really done
(no errors, every case's card posted, every click a claim, every nudge sent once), so the
scripts cannot rot between real runs. Speed is not asserted here: that is what bench/ is for."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]


def _bench_pg_url() -> str:
    """Beside the suite's own PostgreSQL database, never inside it: <its name>_bench."""
    url = make_url(os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    return url.set(database=f"{url.database}_bench").render_as_string(hide_password=False)


def _pg_reachable(url: str) -> bool:
    import asyncpg

    u = make_url(url)

    async def probe() -> None:
        conn = await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                                     database="postgres", timeout=3)  # fmt: skip
        await conn.close()

    try:
        asyncio.run(probe())
        return True
    except Exception:
        return False


def test_every_benchmark_runs_tiny_and_does_the_work(tmp_path: Path) -> None:
    pg = _bench_pg_url()
    with_pg = _pg_reachable(pg)
    if not with_pg and os.environ.get("TEAMBOT_REQUIRE_POSTGRES"):
        pytest.fail(f"PostgreSQL at {pg.split('@')[-1]} is unreachable and TEAMBOT_REQUIRE_POSTGRES is set")
    env = {**os.environ, "BENCH_PG_URL": pg, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "bench.smoke", "--out-dir", str(tmp_path)] + (
        [] if with_pg else ["--no-postgres"]
    )
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    def result(name: str) -> dict:
        return json.loads((tmp_path / f"{name}.json").read_text())

    slash = result("slash")["runs"]["sqlite"]
    assert [r["c"] for r in slash["compare"]] == [1, 4]
    for row in slash["compare"]:
        assert row["errors"] == 0 and row["lost"] == 0, row
    teambot = [lv for lv in slash["levels"] if lv["target"].startswith("teambot")]
    assert all(lv["ok"] > 0 and lv["done"] == lv["ok"] for lv in teambot), teambot

    clicks = result("clicks")["runs"]["sqlite"]
    assert clicks["clicks_sent"] > 0 and clicks["cases_claimed"] == clicks["clicks_sent"], clicks
    assert all(r["errors"] == 0 for r in clicks["compare"]), clicks["compare"]

    teams = result("teams")["runs"]["sqlite"]
    assert all(r["errors"] == 0 for r in teams["compare"]), teams["compare"]
    assert all(lv["sends"] == lv["ok"] > 0 for lv in teams["levels"]), teams["levels"]

    digest = result("digest")["dbs"]["sqlite"]["rows"]
    assert [r["history"] for r in digest] == [200, 1000]
    assert all(r["digest opened"] == r["week cases"] == 100 for r in digest), digest

    footprint = result("footprint")["rows"]
    assert {"bare aiohttp", "bare Bolt", "botbuilder echo", "teambot SQLite, Slack"} <= {
        r["target"] for r in footprint
    }
    assert all(0 < r["startup s"] < 60 for r in footprint), footprint

    if with_pg:
        for run in result("sweep")["runs"]:
            assert run["sent"] == run["due"] == 50 and run["duplicates"] == 0, run
            assert run["db"].get("nudge_unowned:sent") == 50, run["db"]


def test_the_causes_benchmark_runs_tiny(tmp_path: Path) -> None:
    """bench/causes.py in its smoke mode: it groups, files and measures the labelled set."""
    subprocess.run([sys.executable, "-m", "bench.causes", "--smoke", "--out-dir", str(tmp_path)], cwd=ROOT,
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    result = json.loads((tmp_path / "causes-smoke.json").read_text())
    assert result["causes"] == 300 and result["groups"] > 0 and result["precision"] == 1.0
