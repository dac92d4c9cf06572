"""Migration 0012_digest_indexes on a database at 0007_intake holding a case and its timeline: the
digest's three indexes appear, the rows stay, and a downgrade takes the indexes away again.
SQLite and PostgreSQL (a database of its own, so the shared test database stays at head)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic import command

from teambot.core.migrate import alembic_config, upgrade
from tests.migrations.test_0006_settings_in_policy import old_database

NEW = {"ix_timeline_team_kind_at", "ix_cases_team_closed", "ix_cases_team_reopened"}
CASE = (
    "INSERT INTO cases (id, team_id, number, platform, channel_id, opened_by, opened_at, problem, category, "
    "severity, status, reopened_count, updated_at, version) VALUES "
    "(1, 'T1', 1, 'shell', 'C1', 'alice', :now, 'Cold soup', 'food and drink', 'medium', 'owned', 0, :now, 1)"
)
EVENT = (
    "INSERT INTO timeline_events (team_id, case_id, kind, actor, at, data) "
    "VALUES ('T1', 1, 'opened', 'alice', :now, '{}')"
)


@pytest.fixture(params=["sqlite", "postgres"])
def old_url(request: pytest.FixtureRequest, migrated_urls: dict[str, str]) -> str:
    return old_database(request, migrated_urls, "migration_digest")


def test_the_digest_indexes_come_and_go(old_url: str) -> None:
    upgrade(old_url, "0007_intake")
    asyncio.run(_fill(old_url))
    assert not NEW & asyncio.run(_indexes(old_url))
    upgrade(old_url, "0012_digest_indexes")
    assert asyncio.run(_indexes(old_url)) >= NEW
    assert asyncio.run(_count(old_url)) == (1, 1)  # nothing lost on the way
    command.downgrade(alembic_config(old_url), "0007_intake")
    assert not NEW & asyncio.run(_indexes(old_url))


async def _fill(url: str) -> None:
    from teambot.core.db import Database

    db = Database(url)
    now = "'2026-11-30 10:00:00'"  # a literal time, as the 0006 test does: drivers differ on binds
    async with db.engine.begin() as conn:
        await conn.execute(sa.text(CASE.replace(":now", now)))
        await conn.execute(sa.text(EVENT.replace(":now", now)))
    await db.dispose()


async def _indexes(url: str) -> set[str]:
    from teambot.core.db import Database

    db = Database(url)
    try:
        async with db.engine.connect() as conn:

            def names(sync: sa.Connection) -> set[str]:
                inspector = sa.inspect(sync)
                found = {i["name"] for i in inspector.get_indexes("cases")}
                return found | {i["name"] for i in inspector.get_indexes("timeline_events")}

            return await conn.run_sync(names)
    finally:
        await db.dispose()


async def _count(url: str) -> tuple[int, int]:
    from teambot.core.db import Database

    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            cases = (await conn.execute(sa.text("SELECT count(*) FROM cases"))).scalar_one()
            events = (await conn.execute(sa.text("SELECT count(*) FROM timeline_events"))).scalar_one()
            return int(cases), int(events)
    finally:
        await db.dispose()
