"""Migration 0015_languages on a database at 0013_improvement holding a team and a case: the team
speaks English as before, the case names no customer language, nothing is lost, and a downgrade
takes the three columns away again. SQLite and PostgreSQL (each a database of its own)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic import command

from teambot.core.migrate import alembic_config, upgrade
from tests.migrations.test_0006_settings_in_policy import POLICY, old_database
from tests.migrations.test_0012_digest_indexes import CASE

NOW = "'2026-11-30 10:00:00'"


@pytest.fixture(params=["sqlite", "postgres"])
def old_url(request: pytest.FixtureRequest, migrated_urls: dict[str, str]) -> str:
    return old_database(request, migrated_urls, "migration_languages")


def test_languages_arrive_with_english_defaults_and_go(old_url: str) -> None:
    upgrade(old_url, "0013_improvement")
    asyncio.run(_run(old_url, POLICY.replace(":t", "'T1'").replace(":now", NOW), CASE.replace(":now", NOW)))
    upgrade(old_url, "0015_languages")
    [(language, languages)] = asyncio.run(_rows(old_url, "SELECT language, languages FROM policies"))
    assert language == "en" and languages in ({}, "{}")
    assert asyncio.run(_rows(old_url, "SELECT number, customer_language FROM cases")) == [(1, None)]
    command.downgrade(alembic_config(old_url), "0013_improvement")
    assert asyncio.run(_rows(old_url, "SELECT number, problem FROM cases")) == [(1, "Cold soup")]
    with pytest.raises(sa.exc.DBAPIError):
        asyncio.run(_rows(old_url, "SELECT customer_language FROM cases"))


async def _run(url: str, *statements: str) -> None:
    from teambot.core.db import Database

    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            for statement in statements:
                await conn.execute(sa.text(statement))
    finally:
        await db.dispose()


async def _rows(url: str, query: str) -> list[tuple]:
    from teambot.core.db import Database

    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return [tuple(r) for r in (await conn.execute(sa.text(query))).all()]
    finally:
        await db.dispose()
