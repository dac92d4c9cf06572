"""Multi-workspace: install through Bolt's OAuth flow into our database, then serve that workspace."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from teambot.bootstrap import Container
from tests.slack.conftest import Slack, _harness
from tests.slack.fake_slack import FakeSlack


@pytest.fixture
async def oauth_slack(container: Container, fake_slack: FakeSlack) -> AsyncIterator[Slack]:
    async for h in _harness(container, fake_slack, slack_client_id="111.222", slack_client_secret="shh"):
        yield h


async def _rows(slack: Slack, sql: str) -> list[tuple[object, ...]]:
    async with slack.container.db.engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(text(sql))).all()]


async def test_install_then_requests_use_the_installed_token(oauth_slack: Slack) -> None:
    slack, fake = oauth_slack, oauth_slack.fake
    fake.install = {
        "app_id": "A1", "authed_user": {"id": "UINSTALLER"}, "scope": "commands,chat:write",
        "token_type": "bot", "access_token": "xoxb-installed-T9", "bot_user_id": "UBOT9",
        "team": {"id": "T9", "name": "Bistro"}, "enterprise": None, "is_enterprise_install": False,
    }  # fmt: skip
    resp = await slack.http.get("/slack/install")
    assert resp.status == 200
    page = await resp.text()
    state = re.search(r"state=([\w-]+)", page)
    assert state and "client_id=111.222" in page
    assert len(await _rows(slack, "SELECT state FROM slack_oauth_states")) == 1
    cookie = resp.headers["Set-Cookie"].split(";")[0]

    # A forged state is refused and installs nothing.
    resp = await slack.http.get("/slack/oauth_redirect", params={"code": "c0de", "state": "forged"})
    assert resp.status >= 400
    assert await _rows(slack, "SELECT team_id FROM slack_installations") == []

    resp = await slack.http.get(
        "/slack/oauth_redirect", params={"code": "c0de", "state": state.group(1)}, headers={"Cookie": cookie}
    )
    assert resp.status == 200
    assert fake.of("oauth.v2.access")[0]["code"] == "c0de"
    assert await _rows(slack, "SELECT team_id, bot_token FROM slack_bots") == [("T9", "xoxb-installed-T9")]
    assert await _rows(slack, "SELECT team_id, user_id FROM slack_installations") == [("T9", "UINSTALLER")]
    assert await _rows(slack, "SELECT state FROM slack_oauth_states") == []  # consumed

    await slack.command("Soup was cold", team="T9")
    auth_tests = len(fake.of("auth.test"))
    await slack.command("Wine was corked", team="T9")
    assert len(fake.of("auth.test")) == auth_tests  # authorize cache: no store lookup + auth.test per request
    posts = [c for c in fake.calls if c.method == "chat.postMessage"]
    assert len(posts) == 2 and {c.token for c in posts} == {"xoxb-installed-T9"}
    assert [c.number for c in await slack.cases("T9")] == [1, 2]
    # Notices for that workspace go out with its own token.
    from teambot.core.ports import Notice, Recipient

    await slack.container.notifier.notify(
        Recipient("user", "U5", "slack"), Notice("handover", "Yours", "T9", None, {"number": 1})
    )
    await slack.idle()
    assert [c.token for c in fake.calls if c.method == "chat.postMessage"][-1] == "xoxb-installed-T9"


async def test_a_workspace_that_never_installed_is_refused(oauth_slack: Slack) -> None:
    status, _, _ = await oauth_slack.command("Soup was cold", team="TNOPE")
    assert status == 200  # Bolt answers with its "not installed" message rather than failing
    assert await oauth_slack.cases("TNOPE") == []
