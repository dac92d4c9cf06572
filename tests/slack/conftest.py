"""The Slack harness: the real aiohttp app on a real port, signed requests in, a fake Slack out."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from slack_sdk.signature import SignatureVerifier
from sqlmodel import select

from teambot.bootstrap import Container
from teambot.config import load_settings
from teambot.core.cases.models import Case
from teambot.server import create_app
from teambot.slack.http import RUNTIME
from teambot.slack.runtime import SlackRuntime
from tests.slack.fake_slack import FakeSlack

# Slack's documented example signing secret (request-verification docs, slack_sdk's tests).
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T1"


def sign(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert sig is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


class Slack:
    """Sends what Slack would send, shaped as Slack documents it, and waits for the work to finish."""

    def __init__(self, http: TestClient, fake: FakeSlack, runtime: SlackRuntime, container: Container) -> None:
        self.http = http
        self.fake = fake
        self.runtime = runtime
        self.container = container
        self._n = itertools.count(1)

    def next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._n):05d}"

    async def post(self, body: str, content_type: str, headers: dict[str, str] | None = None,
                   signed: bool = True) -> tuple[int, str]:  # fmt: skip
        h = {"Content-Type": content_type, **(sign(body) if signed else {}), **(headers or {})}
        resp = await self.http.post("/slack/events", data=body.encode(), headers=h)
        text = await resp.text()
        await self.idle()
        return resp.status, text

    async def idle(self) -> None:
        async with asyncio.timeout(20):
            await self.runtime.idle()

    # ----- payloads ----------------------------------------------------------------------------

    def command_body(
        self, text: str, user: str = "U1", channel: str = "C1", team: str = TEAM
    ) -> tuple[str, str]:
        key = self.next_id("cmd")
        form = {
            "token": "legacy", "team_id": team, "team_domain": "hotel", "channel_id": channel,
            "channel_name": "front-desk", "user_id": user, "user_name": user.lower(), "command": "/recover",
            "text": text, "api_app_id": "A1", "is_enterprise_install": "false",
            "response_url": self.fake.response_url(key), "trigger_id": self.next_id("trig."),
        }  # fmt: skip
        return urlencode(form), key

    async def command(self, text: str, user: str = "U1", channel: str = "C1", team: str = TEAM,
                      headers: dict[str, str] | None = None) -> tuple[int, str, str]:  # fmt: skip
        """Returns (status, body, response_url key)."""
        body, key = self.command_body(text, user, channel, team)
        status, out = await self.post(body, "application/x-www-form-urlencoded", headers)
        return status, out, key

    async def interact(
        self, payload: dict[str, Any], headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded", headers)

    def _who(self, user: str, team: str) -> dict[str, Any]:
        return {
            "team": {"id": team, "domain": "hotel"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
            "api_app_id": "A1", "token": "legacy", "is_enterprise_install": False, "enterprise": None,
        }  # fmt: skip

    async def click(self, action_id: str, value: str, user: str = "U1", channel: str = "C1",
                    message_ts: str | None = None, team: str = TEAM, ephemeral: bool = False,
                    selected: bool = False) -> tuple[int, str, str]:  # fmt: skip
        """A block_actions payload for a button (or a static_select when `selected`)."""
        key = self.next_id("act")
        ts = message_ts or "1790000000.000001"
        action: dict[str, Any] = {"action_id": action_id, "block_id": "b", "action_ts": str(time.time())}
        if selected:
            action.update(
                type="static_select",
                selected_option={"value": value, "text": {"type": "plain_text", "text": value}},
            )
        else:
            action.update(type="button", value=value, text={"type": "plain_text", "text": action_id})
        payload = {
            "type": "block_actions", **self._who(user, team), "trigger_id": self.next_id("trig."),
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": ephemeral},
            "channel": {"id": channel, "name": "front-desk"},
            "message": {"type": "message", "ts": ts, "text": "card", "user": "UBOT"},
            "response_url": self.fake.response_url(key), "actions": [action],
        }  # fmt: skip
        status, out = await self.interact(payload)
        return status, out, key

    async def home_click(
        self, action_id: str, value: str, user: str = "U1", team: str = TEAM
    ) -> tuple[int, str]:
        payload = {
            "type": "block_actions", **self._who(user, team), "trigger_id": self.next_id("trig."),
            "container": {"type": "view", "view_id": "VHOME"}, "view": {"id": "VHOME", "type": "home"},
            "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button"}],
        }  # fmt: skip
        return await self.interact(payload)

    def state(self, view: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
        """The `state.values` Slack would send for `answers` {block_id: value} typed into `view`."""
        values: dict[str, Any] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            el, bid = block["element"], block["block_id"]
            v = answers.get(bid)
            kind = el["type"]
            if kind == "plain_text_input":
                item: dict[str, Any] = {"type": kind, "value": v}
            elif kind in ("static_select", "radio_buttons"):
                item = {
                    "type": kind,
                    "selected_option": {"value": v, "text": {"type": "plain_text", "text": str(v)}}
                    if v
                    else None,
                }
            elif kind == "users_select":
                item = {"type": kind, "selected_user": v}
            elif kind == "conversations_select":
                item = {"type": kind, "selected_conversation": v}
            elif kind == "checkboxes":
                item = {"type": kind, "selected_options": [{"value": x} for x in (v or [])]}
            elif kind == "number_input":  # Slack sends the number as text, "25.5"
                item = {"type": kind, "value": None if v is None else str(v)}
            elif kind == "datetimepicker":  # seconds since the epoch
                item = {"type": kind, "selected_date_time": v}
            else:
                raise AssertionError(f"no answer shape for {kind}")
            values[bid] = {el["action_id"]: item}
        return {"values": values}

    async def submit(self, view: dict[str, Any], answers: dict[str, Any], user: str = "U1", team: str = TEAM,
                     view_id: str | None = None) -> tuple[int, dict[str, Any] | None]:  # fmt: skip
        sent = {**view, "id": view_id or view.get("id") or self.next_id("VS"), "team_id": team,
                "state": self.state(view, answers), "hash": "h"}  # fmt: skip
        payload = {"type": "view_submission", **self._who(user, team), "trigger_id": self.next_id("trig."),
                   "view": sent, "response_urls": []}  # fmt: skip
        status, out = await self.interact(payload)
        return status, (json.loads(out) if out.strip().startswith("{") else None)

    async def shortcut(self, text: str, message_ts: str, user: str = "U1", channel: str = "C1",
                       author: str = "U9", team: str = TEAM) -> tuple[int, str, str]:  # fmt: skip
        key = self.next_id("sc")
        payload = {
            "type": "message_action", "callback_id": "open_recovery_case", **self._who(user, team),
            "trigger_id": self.next_id("trig."), "message_ts": message_ts, "response_url": self.fake.response_url(key),
            "channel": {"id": channel, "name": "front-desk"},
            "message": {"type": "message", "user": author, "ts": message_ts, "text": text},
        }  # fmt: skip
        status, out = await self.interact(payload)
        return status, out, key

    async def event(
        self, event: dict[str, Any], team: str = TEAM, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        body = json.dumps({
            "token": "legacy", "team_id": team, "api_app_id": "A1", "type": "event_callback",
            "event": event, "event_id": self.next_id("Ev"), "event_time": int(time.time()),
            "authorizations": [{"team_id": team, "user_id": "UBOT", "is_bot": True, "enterprise_id": None}],
        })  # fmt: skip
        return await self.post(body, "application/json", headers)

    # ----- reading the result ------------------------------------------------------------------

    async def cases(self, team: str = TEAM) -> list[Case]:
        async with self.container.db.session() as s:
            return list((await s.exec(select(Case).where(Case.team_id == team).order_by(Case.number))).all())

    async def case(self, number: int, team: str = TEAM) -> Case:
        return next(c for c in await self.cases(team) if c.number == number)

    def card_updates(self, ts: str) -> list[dict[str, Any]]:
        return [a for a in self.fake.of("chat.update") if a.get("ts") == ts]


async def eventually(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """For work Slack starts outside a request (Socket Mode): poll, bounded, never a timing assertion."""
    for _ in range(int(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never became true")


def action_ids(message: dict[str, Any]) -> list[str]:
    return [
        el.get("action_id")
        for b in message.get("blocks", [])
        if b.get("type") == "actions"
        for el in b["elements"]
    ]


def all_text(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False) + str(message.get("text", ""))


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    await fake.start()
    yield fake
    await fake.close()


async def _harness(container: Container, fake: FakeSlack, **settings: Any) -> AsyncIterator[Slack]:
    settings = {"slack_signing_secret": SECRET, **settings}
    container.settings = load_settings(
        database_url=container.settings.database_url, slack_api_url=f"{fake.url}/api/", **settings
    )
    app = create_app(container)
    runtime = app[RUNTIME]
    runtime.pacer.interval = 0.0  # pacing has its own test; here it would only make the suite slow
    http = TestClient(TestServer(app, host="127.0.0.1"))
    await http.start_server()
    try:
        yield Slack(http, fake, runtime, container)
    finally:
        await http.close()


@pytest.fixture
async def slack(container: Container, fake_slack: FakeSlack) -> AsyncIterator[Slack]:
    async for h in _harness(container, fake_slack, slack_bot_token="xoxb-single"):
        yield h
