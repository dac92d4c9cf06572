"""Migration 0006 on a database filled under the old schema: each team's schedule row lands in
its policy, a team without one keeps the defaults, and team_schedules is gone. SQLite and
PostgreSQL (a database of its own, so the shared test database stays at head)."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from teambot.core.migrate import upgrade

PG = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def _fresh_pg(url: str) -> None:
    import asyncpg

    u = make_url(url)
    conn = await asyncpg.connect(u.set(drivername="postgresql", database="postgres").render_as_string(False))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{u.database}"')
    finally:
        await conn.close()


def old_database(request: pytest.FixtureRequest, migrated_urls: dict[str, str], name: str) -> str:
    """An empty database for one migration test, on the fixture's parameter: a new SQLite file, or a
    PostgreSQL database of its own (`<test database>_<name>`, dropped and created), so the shared test
    database stays at head."""
    if request.param == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix=f'teambot-{name}-')}/old.db"
    if "postgres" not in migrated_urls:
        pytest.skip(migrated_urls.get("postgres_skip", "PostgreSQL unreachable"))
    url = make_url(PG).set(database=f"{make_url(PG).database}_{name}").render_as_string(False)
    asyncio.run(_fresh_pg(url))
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def old_url(request: pytest.FixtureRequest, migrated_urls: dict[str, str]) -> str:
    return old_database(request, migrated_urls, "migration")


POLICY = (
    "INSERT INTO policies (team_id, platform, currency, role_limits, person_limits, roles, catalogue, "
    "categories, approvers, admins, own_within_minutes, resolve_within_hours, followup_after_hours, "
    "digest_weekday, digest_time, digest_timezone, case_counter, created_at, updated_at, version) VALUES "
    "(:t, 'shell', 'EUR', '{}', '{}', '{}', '[]', '[]', '[\"alice\"]', '[\"alice\"]', 15, 24, 48, 0, "
    "'09:00', 'UTC', 0, :now, :now, 1)"
)
SCHEDULE = (
    "INSERT INTO team_schedules (team_id, work_start, work_end, work_days, targets_in_working_hours, "
    "pattern_min_cases, pattern_rise_percent, repeat_customer_days, shoutouts_per_day, timezones, updated_at) "
    "VALUES ('T1', '08:00', '16:30', '[0, 1, 2, 3]', :yes, 4, 150, 14, 7, '{\"bob\": \"Asia/Tokyo\"}', :now)"
)


def test_schedules_move_into_the_policy(old_url: str) -> None:
    upgrade(old_url, "0005")
    now = "2026-11-30 10:00:00"
    asyncio.run(_fill_and_check(old_url, now))


async def _fill_and_check(url: str, now: str) -> None:
    from teambot.core.db import Database

    db = Database(url)
    async with db.engine.begin() as conn:
        await conn.execute(sa.text(POLICY.replace(":now", f"'{now}'")), {"t": "T1"})
        await conn.execute(sa.text(POLICY.replace(":now", f"'{now}'")), {"t": "T2"})
        await conn.execute(sa.text(SCHEDULE.replace(":now", f"'{now}'").replace(":yes", "true")))
    await db.dispose()
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
            rows = (
                await conn.execute(
                    sa.text(
                        "SELECT team_id, work_start, work_end, work_days, targets_in_working_hours, "
                        "pattern_min_cases, pattern_rise_percent, repeat_customer_days, shoutouts_per_day, "
                        "timezones FROM policies ORDER BY team_id"
                    )
                )
            ).all()
    finally:
        await db.dispose()
    assert "team_schedules" not in tables
    moved, untouched = (tuple(r) for r in rows)
    days, zones = moved[3], moved[9]
    days = days if isinstance(days, list) else json.loads(days)
    zones = zones if isinstance(zones, dict) else json.loads(zones)
    assert moved[:3] == ("T1", "08:00", "16:30") and days == [0, 1, 2, 3] and bool(moved[4]) is True
    assert moved[5:9] == (4, 150, 14, 7) and zones == {"bob": "Asia/Tokyo"}
    assert untouched[:3] == ("T2", "09:00", "18:00") and bool(untouched[4]) is False
    assert untouched[5:9] == (3, 200, 30, 3)
