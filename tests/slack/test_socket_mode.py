"""Socket Mode: with SLACK_APP_TOKEN the app connects out at start-up and serves the same listeners."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from teambot.bootstrap import Container
from tests.slack.conftest import Slack, _harness, eventually
from tests.slack.fake_slack import FakeSlack


@pytest.fixture
async def socket_slack(container: Container, fake_slack: FakeSlack) -> AsyncIterator[Slack]:
    async for h in _harness(container, fake_slack, slack_signing_secret=None, slack_app_token="xapp-1-test",
                            slack_bot_token="xoxb-single"):  # fmt: skip
        yield h


async def test_socket_mode_serves_slash_commands(socket_slack: Slack) -> None:
    slack, fake = socket_slack, socket_slack.fake
    await eventually(lambda: bool(fake.sockets))
    assert [c.token for c in fake.calls if c.method == "apps.connections.open"] == ["xapp-1-test"]
    payload = {
        "token": "legacy", "team_id": "T1", "team_domain": "hotel", "channel_id": "C1", "channel_name": "desk",
        "user_id": "U1", "user_name": "u1", "command": "/recover", "text": "Soup was cold", "api_app_id": "A1",
        "is_enterprise_install": "false", "response_url": fake.response_url("sm1"), "trigger_id": "trig.sm1",
    }  # fmt: skip
    envelope = {
        "envelope_id": "env-1",
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": payload,
    }
    await fake.sockets[0].send_json(envelope)
    await eventually(lambda: any(a.get("envelope_id") == "env-1" for a in fake.socket_acks))
    await eventually(lambda: bool(fake.posts("C1")))  # the card is posted after the ack
    await slack.idle()
    [case] = await slack.cases()
    assert case.problem == "Soup was cold" and case.source_ref == "slack:cmd:trig.sm1"
    status, _ = await slack.post("token=x", "application/x-www-form-urlencoded")
    assert status == 404  # no signing secret: no HTTP endpoint to forge requests into
