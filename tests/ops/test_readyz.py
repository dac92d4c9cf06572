"""`/readyz` over HTTP: 200 only when the database is reachable and at head and, when configured,
Slack's auth.test and a Teams token succeed (asked at most once a minute); the body names what
failed. `/healthz` stays liveness: it does not care about Slack or Teams."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from teambot.bootstrap import Container
from teambot.core.db import Database
from teambot.core.migrate import upgrade_async
from teambot.server import create_app
from teambot.web.ops import READINESS
from tests.slack.conftest import _harness
from tests.slack.fake_slack import FakeSlack
from tests.teams.conftest import teams_settings
from tests.teams.fakes import IdentityProvider


async def test_ready_with_the_database_at_head_and_nothing_else_configured(container: Container) -> None:
    async with TestClient(TestServer(create_app(container))) as http:
        resp = await http.get("/readyz")
        assert resp.status == 200
        assert await resp.json() == {"status": "ok", "failed": [], "database": "ok", "slack": "skipped",
                                     "teams": "skipped"}  # fmt: skip


async def test_not_ready_when_the_database_is_unreachable_or_behind(container: Container, tmp_path: Path) -> None:
    dead = replace(container, db=Database("postgresql://postgres@127.0.0.1:1/nothing"))
    async with TestClient(TestServer(create_app(dead))) as http:
        resp = await http.get("/readyz")
        body = await resp.json()
    await dead.db.dispose()
    assert resp.status == 503 and body["failed"] == ["database"] and "unreachable" in body["database"]
    url = f"sqlite:///{tmp_path}/old.db"
    await upgrade_async(url, "0012_digest_indexes")
    behind = replace(container, db=Database(url))
    async with TestClient(TestServer(create_app(behind))) as http:
        resp = await http.get("/readyz")
        body = await resp.json()
        assert (await http.get("/healthz")).status == 200  # alive all the same: restarting would not help
    await behind.db.dispose()
    assert resp.status == 503 and body["failed"] == ["database"] and "0012_digest_indexes" in body["database"]


async def test_slack_auth_test_decides_and_is_asked_at_most_once_a_minute(
    container: Container, fake_slack: FakeSlack
) -> None:
    async for slack in _harness(container, fake_slack, slack_bot_token="xoxb-ready"):
        resp = await slack.http.get("/readyz")
        assert resp.status == 200 and (await resp.json())["slack"] == "ok"
        fake_slack.bad_tokens.add("xoxb-ready")  # revoked: within the minute, the cached answer stands
        assert (await slack.http.get("/readyz")).status == 200
        assert len(fake_slack.of("auth.test")) == 1
        slack.http.app[READINESS].cache_seconds = 0  # a minute later
        resp = await slack.http.get("/readyz")
        body = await resp.json()
        assert resp.status == 503 and body["failed"] == ["slack"] and "invalid_auth" in body["slack"]
        assert body["database"] == "ok" and len(fake_slack.of("auth.test")) == 2
        assert "xoxb-ready" not in await resp.text()
        assert (await slack.http.get("/healthz")).status == 200


async def test_teams_token_decides(container: Container, identity: IdentityProvider) -> None:
    container.settings = container.settings.model_copy(update=teams_settings(identity))
    async with TestClient(TestServer(create_app(container))) as http:
        resp = await http.get("/readyz")
        assert resp.status == 200 and (await resp.json())["teams"] == "ok"
    container.settings = container.settings.model_copy(update={"microsoft_app_password": SecretStr("expired")})
    async with TestClient(TestServer(create_app(container))) as http:
        resp = await http.get("/readyz")
        body = await resp.json()
        assert (await http.get("/healthz")).status == 200
    assert resp.status == 503 and body["failed"] == ["teams"] and "refused" in body["teams"]
