"""Migration 0013_improvement on a database filled under 0016_ops: the causes and
actions tables and a case's cause appear, every case stays (unfiled, its root-cause words kept),
a cause can be filed and an action written, and a downgrade takes it all away again.
SQLite and PostgreSQL (a database of its own, so the shared test database stays at head)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic import command

from teambot.core.migrate import alembic_config, upgrade
from tests.migrations.test_0006_settings_in_policy import old_database
from tests.migrations.test_0012_digest_indexes import CASE, EVENT

RESOLVED = CASE.replace("(1, 'T1', 1,", "(2, 'T1', 2,").replace("'Cold soup'", "'Cold room'")


@pytest.fixture(params=["sqlite", "postgres"])
def old_url(request: pytest.FixtureRequest, migrated_urls: dict[str, str]) -> str:
    return old_database(request, migrated_urls, "migration_improvement")


def test_causes_and_actions_come_and_go(old_url: str) -> None:
    upgrade(old_url, "0016_ops")
    asyncio.run(_run(old_url, _fill))
    upgrade(old_url, "0013_improvement")
    assert asyncio.run(_run(old_url, _after_upgrade)) == (2, 1, None, "the heat lamp was off")
    command.downgrade(alembic_config(old_url), "0016_ops")
    assert asyncio.run(_run(old_url, _after_downgrade)) == (2, False, False)
    upgrade(old_url, "0013_improvement")  # and up again, cleanly


async def _run(url: str, work):  # type: ignore[no-untyped-def]
    from teambot.core.db import Database

    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            return await work(conn)
    finally:
        await db.dispose()


NOW = "'2026-11-30 10:00:00'"  # a literal time, as the 0006 test does: drivers differ on binds


async def _fill(conn: sa.Connection) -> None:
    await conn.execute(sa.text(CASE.replace(":now", NOW)))
    await conn.execute(sa.text(RESOLVED.replace(":now", NOW)))
    await conn.execute(sa.text("UPDATE cases SET root_cause = 'the heat lamp was off' WHERE id = 2"))
    await conn.execute(sa.text(EVENT.replace(":now", NOW)))


async def _after_upgrade(conn: sa.Connection) -> tuple[int, int, object, str]:
    cases = (await conn.execute(sa.text("SELECT count(*) FROM cases"))).scalar_one()
    await conn.execute(sa.text(
        f"INSERT INTO causes (team_id, name, key, created_by, created_at) VALUES ('T1', 'Heat lamp', 'heat lamp', 'alice', {NOW})"
    ))  # fmt: skip
    cause = (await conn.execute(sa.text("SELECT id FROM causes"))).scalar_one()
    before = (await conn.execute(sa.text("SELECT cause_id, root_cause FROM cases WHERE id = 2"))).one()
    await conn.execute(sa.text(f"UPDATE cases SET cause_id = {cause}, cause_by = 'person' WHERE id = 2"))
    await conn.execute(sa.text(
        "INSERT INTO improvement_actions (team_id, number, case_id, cause_id, text, owner_id, status, created_by, "
        f"created_at) VALUES ('T1', 1, 2, {cause}, 'Replace the lamp', 'alice', 'open', 'alice', {NOW})"
    ))  # fmt: skip
    actions = (await conn.execute(sa.text("SELECT count(*) FROM improvement_actions"))).scalar_one()
    return int(cases), int(actions), before[0], before[1]


async def _after_downgrade(conn: sa.Connection) -> tuple[int, bool, bool]:
    cases = (await conn.execute(sa.text("SELECT count(*) FROM cases"))).scalar_one()

    def look(sync: sa.Connection) -> tuple[bool, bool]:
        inspector = sa.inspect(sync)
        return "causes" in inspector.get_table_names(), any(
            c["name"] == "cause_id" for c in inspector.get_columns("cases")
        )

    tables, column = await conn.run_sync(look)
    return int(cases), tables, column
