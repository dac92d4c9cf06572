"""Migration 0008_money on a database filled under the old schema (at 0006): a grant or approval
request with no currency gets its team's; a code in lower case or with spaces is normalised; and a
row made in an earlier currency keeps it (a $25 grant is not relabelled €25 because the team now
records euros). SQLite and PostgreSQL (a database of its own)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from teambot.core.migrate import alembic_config, upgrade
from tests.migrations.test_0006_settings_in_policy import POLICY, old_database

CASE = (
    "INSERT INTO cases (id, team_id, number, platform, channel_id, opened_by, opened_at, problem, category, "
    "severity, status, reopened_count, updated_at, version) VALUES "
    "(:id, :t, 1, 'shell', 'C1', 'alice', :now, 'Cold soup', 'food and drink', 'medium', 'owned', 0, :now, 1)"
)
GRANT = (
    "INSERT INTO grants (id, team_id, case_id, granted_by, gesture, amount_minor, currency, within_authority, "
    "granted_at) VALUES (:id, :t, :case, 'bob', 'Tea', 2500, :cur, :yes, :now)"
)
APPROVAL = (
    "INSERT INTO approval_requests (id, team_id, case_id, requested_by, gesture, amount_minor, currency, status, "
    "requested_at, version) VALUES (:id, :t, :case, 'bob', 'Spa', 9000, :cur, 'pending', :now, 1)"
)


@pytest.fixture(params=["sqlite", "postgres"])
def old_url(request: pytest.FixtureRequest, migrated_urls: dict[str, str]) -> str:
    return old_database(request, migrated_urls, "migration_money")


def test_every_amount_names_its_currency(old_url: str) -> None:
    upgrade(old_url, "0006")
    asyncio.run(_fill_and_check(old_url))


async def _fill_and_check(url: str) -> None:
    from teambot.core.db import Database

    now = "2026-11-30 10:00:00"
    db = Database(url)

    def sql(text: str) -> sa.TextClause:  # a literal time, as the 0006 test does: drivers differ on binds
        return sa.text(text.replace(":now", f"'{now}'"))

    async with db.engine.begin() as conn:
        for team, case in (("T1", 1), ("T2", 2)):  # both teams record EUR now (POLICY's currency)
            await conn.execute(sql(POLICY), {"t": team})
            await conn.execute(sql(CASE), {"id": case, "t": team})
        rows = [
            (1, "T1", 1, "USD"),  # given before T1 switched to EUR: stays USD
            (2, "T1", 1, ""),  # no currency written: T1's
            (3, "T1", 1, "eur "),  # normalised
            (4, "T2", 2, "  "),
            (5, "T2", 2, "gbp"),
        ]
        for gid, team, case, cur in rows:
            await conn.execute(sql(GRANT), {"id": gid, "t": team, "case": case, "cur": cur, "yes": True})
            await conn.execute(sql(APPROVAL), {"id": gid, "t": team, "case": case, "cur": cur})
    await db.dispose()
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            version = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))).scalar_one()
            grants = (await conn.execute(sa.text("SELECT id, currency, amount_minor FROM grants ORDER BY id"))).all()
            asks = (await conn.execute(sa.text("SELECT id, currency FROM approval_requests ORDER BY id"))).all()
    finally:
        await db.dispose()
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert version == head  # upgraded through 0008_money to whatever follows it
    expected = [(1, "USD"), (2, "EUR"), (3, "EUR"), (4, "EUR"), (5, "GBP")]
    assert [(g[0], g[1]) for g in grants] == expected and all(g[2] == 2500 for g in grants)
    assert [tuple(a) for a in asks] == expected
