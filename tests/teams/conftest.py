"""A running Teambot (shared aiohttp app) with Teams mounted, a local identity provider and Bot Connector.

Activities are POSTed over HTTP to /api/messages with a JWT signed by the test key, as
the Bot Connector would; the bot's replies land on the FakeConnector.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from teambot.bootstrap import Container
from teambot.server import create_app
from teambot.teams.pacing import Pacer
from tests.teams.adaptive import problems
from tests.teams.fakes import BOT_SCOPE, ISSUER, FakeConnector, IdentityProvider

APP_ID = "00000000-aaaa-bbbb-cccc-000000000001"
APP_PASSWORD = "test-app-password"
TENANT = "tenant-1"
BOT = {"id": f"28:{APP_ID}", "name": "Teambot"}
CHANNEL = "19:recovery@thread.tacv2;messageid=1700000000000"
TEAM = "19:frontdesk@thread.tacv2"


@dataclass
class User:
    key: str
    name: str
    tz: str = "Europe/London"

    @property
    def aad(self) -> str:
        return f"aad-{self.key}"

    @property
    def account(self) -> dict[str, str]:
        return {"id": f"29:{self.key}", "name": self.name, "aadObjectId": self.aad}

    @property
    def personal(self) -> str:
        return f"a:1{self.key}-personal-" + "x" * 130  # real 1:1 ids are long


ALICE, BOB, CAROL = User("alice", "Alice Admin"), User("bob", "Bob Owner"), User("carol", "Carol New")


@dataclass
class Teams:
    url: str
    connector: FakeConnector
    connector_url: str
    identity: IdentityProvider | None
    container: Container
    session: aiohttp.ClientSession
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_700_000_000_001))
    invoked: list[dict[str, Any]] = field(default_factory=list)  # invoke responses, for the card check
    adapter: Any = None  # the app's CloudAdapter

    def activity(self, user: User, conversation: str | None = None, **extra: Any) -> dict[str, Any]:
        conv = conversation or CHANNEL
        personal = conv == user.personal
        body: dict[str, Any] = {
            "type": "message",
            "id": str(next(self._ids)),
            "timestamp": "2026-11-23T09:00:00.000Z",
            "localTimezone": user.tz,
            "serviceUrl": self.connector_url,
            "channelId": "msteams",
            "from": user.account,
            "conversation": {
                "id": conv,
                "tenantId": TENANT,
                "conversationType": "personal" if personal else "channel",
                "isGroup": not personal,
            },
            "recipient": BOT,
            "channelData": {"tenant": {"id": TENANT}}
            | ({} if personal else {"team": {"id": TEAM}, "channel": {"id": conv.split(";")[0]}}),
        }
        body.update(extra)
        return body

    async def post(self, body: dict[str, Any], *, token: str | bool | None = True) -> aiohttp.ClientResponse:
        headers = {}
        if token is True and self.identity is not None:
            headers["Authorization"] = "Bearer " + self.identity.channel_token(self.connector_url)
        elif isinstance(token, str):
            headers["Authorization"] = token
        async with self.session.post(f"{self.url}/api/messages", json=body, headers=headers) as resp:
            await resp.read()
        await self.settled()
        return resp

    async def settled(self) -> None:
        """The turns acknowledged so far have run (they run after the 201, from their intake rows)."""
        await self.container.intake.idle()

    async def say(self, user: User, text: str, conversation: str | None = None) -> int:
        """A message as Teams sends it: in a channel the bot is @mentioned."""
        conv = conversation or CHANNEL
        extra: dict[str, Any] = {"text": text}
        if conv != user.personal:
            extra["text"] = f"<at>Teambot</at> {text}"
            extra["entities"] = [{"type": "mention", "text": "<at>Teambot</at>", "mentioned": BOT}]
        resp = await self.post(self.activity(user, conv, **extra))
        return resp.status

    async def execute(
        self, user: User, card_id: str, data: dict[str, Any], conversation: str | None = None,
        *, trigger: str = "manual",
    ) -> tuple[int, dict[str, Any]]:  # fmt: skip
        """An Action.Execute (or a refresh) as Teams sends it: an adaptiveCard/action invoke; returns
        the HTTP status and the invoke response body."""
        verb = data.get("teambot", "")
        value = {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": trigger}
        body = self.activity(user, conversation, type="invoke", name="adaptiveCard/action", replyToId=card_id,
                             value=value)  # fmt: skip
        headers = {"Authorization": "Bearer " + self.identity.channel_token(self.connector_url)} if self.identity else {}
        async with self.session.post(f"{self.url}/api/messages", json=body, headers=headers) as resp:
            answer = await resp.json(content_type=None)
        self.invoked.append(answer)
        await self.settled()
        return resp.status, answer

    async def press(
        self, user: User, card_id: str, data: dict[str, Any], conversation: str | None = None
    ) -> int:
        """An Action.Submit on a card: a message whose value is the button data plus the inputs."""
        resp = await self.post(self.activity(user, conversation, replyToId=card_id, value=data))
        return resp.status


@pytest.fixture
def identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[IdentityProvider]:
    with IdentityProvider(tmp_path, APP_ID, APP_PASSWORD) as idp:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(idp.cert_path))
        yield idp


def teams_settings(idp: IdentityProvider | None) -> dict[str, Any]:
    if idp is None:
        return {"microsoft_app_id": ""}
    return {
        "microsoft_app_id": APP_ID,
        "microsoft_app_password": SecretStr(APP_PASSWORD),
        "to_channel_from_bot_login_url": f"{idp.url}/adfs",
        "to_channel_from_bot_oauth_scope": BOT_SCOPE,
        "to_bot_from_channel_token_issuer": ISSUER,
        "to_bot_from_channel_openid_metadata_url": idp.metadata_url,
        "to_bot_from_emulator_openid_metadata_url": idp.metadata_url,
    }


async def start_teams(container: Container, idp: IdentityProvider | None) -> AsyncIterator[Teams]:
    container.settings = container.settings.model_copy(update=teams_settings(idp))
    connector = FakeConnector(identity=idp)
    connector_url = await connector.start()
    from teambot.teams import http as teams_http

    app = create_app(container)
    # Fast back-off so a throttling test doesn't sleep; same code path as production.
    app[teams_http.TEAMS]["bot"].pacer.base_delay = 0.01
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    session = aiohttp.ClientSession()
    harness = Teams(str(server.make_url("")).rstrip("/"), connector, connector_url, idp, container, session)
    harness.adapter = app[teams_http.TEAMS]["adapter"]
    try:
        yield harness
        # Every card the bot sent, updated or answered an invoke with parses cleanly at 1.5.
        sent = [s.card for s in connector.log if s.card is not None]
        answered = [a["value"] for a in harness.invoked if isinstance(a, dict) and isinstance(a.get("value"), dict)]
        assert not (found := problems(sent + answered)), found
    finally:
        await session.close()
        await server.close()
        await connector.close()


@pytest.fixture
async def teams(container: Container, identity: IdentityProvider) -> AsyncIterator[Teams]:
    async for harness in start_teams(container, identity):
        yield harness


@pytest.fixture
async def teams_open(container: Container) -> AsyncIterator[Teams]:
    """MICROSOFT_APP_ID empty: the local-tools mode, no authentication either way."""
    async for harness in start_teams(container, None):
        yield harness


__all__ = ["ALICE", "BOB", "CAROL", "CHANNEL", "TENANT", "Pacer", "Teams", "User"]
