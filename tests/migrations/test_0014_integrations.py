"""Migration 0014_integrations on a database at its previous head (PREVIOUS) holding a case, its timeline and a
pending due item: the five new tables appear, the old rows stay, the app writes and reads the new
tables, and a downgrade takes them away again. SQLite and PostgreSQL (a database of its own)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa
from alembic import command

from teambot.core.migrate import alembic_config, upgrade
from tests.migrations.test_0006_settings_in_policy import old_database
from tests.migrations.test_0012_digest_indexes import CASE, EVENT

PREVIOUS = "0015_languages"  # 0014's down_revision (the head when this migration was merged)
NEW = {"api_tokens", "webhooks", "webhook_attempts", "jira_links", "jira_issues"}
DUE = (
    "INSERT INTO due_items (key, team_id, kind, case_id, stage, due_at, status, attempts, data, created_at, version) "
    "VALUES ('resolve:1', 'T1', 'nudge_resolve', 1, 1, :now, 'pending', 0, '{}', :now, 1)"
)


@pytest.fixture(params=["sqlite", "postgres"])
def old_url(request: pytest.FixtureRequest, migrated_urls: dict[str, str]) -> str:
    return old_database(request, migrated_urls, "migration_integrations")


def test_the_integration_tables_come_and_go(old_url: str) -> None:
    upgrade(old_url, PREVIOUS)
    asyncio.run(_run(old_url, [CASE, EVENT, DUE]))
    assert not NEW & asyncio.run(_tables(old_url))
    upgrade(old_url, "0014_integrations")
    assert asyncio.run(_tables(old_url)) >= NEW
    assert asyncio.run(_count(old_url, "cases", "timeline_events", "due_items")) == [1, 1, 1]  # nothing lost
    asyncio.run(_use(old_url))
    command.downgrade(alembic_config(old_url), PREVIOUS)
    assert not NEW & asyncio.run(_tables(old_url))
    assert asyncio.run(_count(old_url, "cases", "timeline_events", "due_items")) == [1, 1, 1]


async def _run(url: str, statements: list[str]) -> None:
    from teambot.core.db import Database

    db = Database(url)
    now = "'2026-11-30 10:00:00'"  # a literal time, as the 0006 test does: drivers differ on binds
    async with db.engine.begin() as conn:
        for sql in statements:
            await conn.execute(sa.text(sql.replace(":now", now)))
    await db.dispose()


async def _use(url: str) -> None:
    """The models write and read the new tables as migrated (types, lengths, defaults)."""
    from datetime import UTC, datetime

    from sqlmodel import select

    from teambot.core.api_tokens.models import ApiToken
    from teambot.core.db import Database
    from teambot.core.jira.models import JiraIssue, JiraLink
    from teambot.core.webhooks.models import Webhook, WebhookAttempt

    db = Database(url)
    now = datetime(2026, 12, 7, tzinfo=UTC)
    try:
        async with db.session() as s:
            s.add(ApiToken(team_id="T1", name="bi", scope="read", token_hash="a" * 64, prefix="tb_abcde",
                           created_by="alice", created_at=now))  # fmt: skip
            s.add(Webhook(team_id="T1", url="https://example.com/h", events=["case.opened"], secret="sealed",
                          created_by="alice", created_at=now))  # fmt: skip
            s.add(WebhookAttempt(webhook_id=1, event_id="msg_1", event_type="case.opened", case_id=1, at=now, ok=True,
                                 status_code=204))  # fmt: skip
            s.add(JiraLink(team_id="T1", site="acme.atlassian.net", project="OPS", email="a@example.com",
                           token="sealed", webhook_secret="sealed", created_at=now, updated_at=now))  # fmt: skip
            s.add(JiraIssue(team_id="T1", action_id=1, issue_key="OPS-1", issue_id="10001", created_by="alice",
                            created_at=now))  # fmt: skip
            await s.commit()
            hook = (await s.exec(select(Webhook))).one()
            assert hook.events == ["case.opened"] and hook.status == "active" and hook.created_at == now
    finally:
        await db.dispose()


async def _tables(url: str) -> set[str]:
    from teambot.core.db import Database

    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    finally:
        await db.dispose()


async def _count(url: str, *tables: str) -> list[int]:
    from teambot.core.db import Database

    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return [int((await conn.execute(sa.text(f"SELECT count(*) FROM {t}"))).scalar_one()) for t in tables]
    finally:
        await db.dispose()
