"""Builds the slack-bolt AsyncApp and the runtime its listeners share.

Single workspace: SLACK_BOT_TOKEN. Distribution: SLACK_CLIENT_ID/SECRET with Bolt's OAuth
flow and slack_sdk's async SQLAlchemy installation and state stores in our own database
(tables created by migration 0002), with Bolt's authorize cache on so a request does not cost
a store lookup plus an `auth.test`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from teambot.bootstrap import Container
from teambot.config import ConfigError, Settings
from teambot.slack.pacing import Pacer
from teambot.slack.people import People

log = logging.getLogger(__name__)
# True while a Slack listener runs: notices the core sends then must not hold up Slack's 3 s ack.
IN_REQUEST: ContextVar[bool] = ContextVar("teambot_slack_in_request", default=False)

RETRIES = 5  # per Web API call
BOT_SCOPES = ["commands", "chat:write", "chat:write.public", "users:read", "im:write", "files:write"]


def make_client(settings: Settings, token: str | None = None) -> AsyncWebClient:
    """The Web API client: SLACK_API_URL as base URL, retries on 429 (Retry-After) and 5xx too."""
    kwargs: dict[str, Any] = {}
    if settings.slack_api_url:
        kwargs["base_url"] = settings.slack_api_url.rstrip("/") + "/"
    client = AsyncWebClient(token=token, **kwargs)
    # The attempt count is shared by the handlers, so each allows the whole budget: 5 retries with
    # exponential back-off (0.5 s, 1 s, 2 s...) or Retry-After, for dropped connections as well.
    client.retry_handlers = [
        AsyncConnectionErrorRetryHandler(max_retry_count=RETRIES),
        AsyncRateLimitErrorRetryHandler(max_retry_count=RETRIES),
        AsyncServerErrorRetryHandler(max_retry_count=RETRIES),
    ]
    return client


@dataclass
class SlackRuntime:
    """What every listener and the notifier share; also tracks background work so it can drain."""

    container: Container
    app: AsyncApp
    client: AsyncWebClient
    people: People
    pacer: Pacer
    installation_store: AsyncInstallationStore | None = None
    single_token: str | None = None
    _busy: int = 0
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _clients: dict[str, AsyncWebClient] = field(default_factory=dict)
    _locks: dict[tuple[str, int], asyncio.Lock] = field(default_factory=dict)
    _quiet: asyncio.Event | None = None

    @property
    def settings(self) -> Settings:
        return self.container.settings

    @contextlib.asynccontextmanager
    async def busy(self) -> AsyncIterator[None]:
        """Counts a listener as running, from before its ack to its last call."""
        self._busy += 1
        self._changed()
        token = IN_REQUEST.set(True)
        try:
            yield
        finally:
            IN_REQUEST.reset(token)
            self._busy -= 1
            self._changed()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        self._changed()
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._changed()
        if not task.cancelled() and task.exception() is not None:
            log.error("background Slack work failed", exc_info=task.exception())

    def _changed(self) -> None:
        if self._quiet is None:
            self._quiet = asyncio.Event()
        if self._busy or self._tasks:
            self._quiet.clear()
        else:
            self._quiet.set()

    async def idle(self) -> None:
        """Wait until no listener or queued delivery is running (tests, shutdown); callers bound it."""
        while self._busy or self._tasks:
            self._changed()
            assert self._quiet is not None
            await self._quiet.wait()

    def case_lock(self, team_id: str, number: int) -> asyncio.Lock:
        """One card refresh at a time per case, so the thread never gets a line twice."""
        key = (team_id, number)
        if key not in self._locks:
            if len(self._locks) > 5000:
                self._locks = {k: v for k, v in self._locks.items() if v.locked()}
            self._locks[key] = asyncio.Lock()
        return self._locks[key]

    async def client_for(self, team_id: str) -> AsyncWebClient | None:
        """A client holding the bot token of a workspace (for notices outside a request)."""
        if self.single_token:
            return self.client
        if self.installation_store is None:
            return None
        bot = await self.installation_store.async_find_bot(enterprise_id=None, team_id=team_id)
        if bot is None:
            bot = await self.installation_store.async_find_bot(
                enterprise_id=team_id, team_id=None, is_enterprise_install=True
            )
        if bot is None or not bot.bot_token:
            return None
        if bot.bot_token not in self._clients:
            self._clients[bot.bot_token] = make_client(self.settings, bot.bot_token)
        return self._clients[bot.bot_token]


def build_app(container: Container, *, pacer: Pacer | None = None) -> SlackRuntime:
    s = container.settings
    secret = s.slack_signing_secret.get_secret_value() if s.slack_signing_secret else None
    token = s.slack_bot_token.get_secret_value() if s.slack_bot_token else None
    oauth = bool(s.slack_client_id and s.slack_client_secret)
    if not secret and not s.slack_app_token:
        raise ConfigError(
            "SLACK_SIGNING_SECRET is needed to verify Slack's requests (or SLACK_APP_TOKEN for Socket Mode)."
        )
    if not oauth and not token:
        raise ConfigError(
            "Set SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET (OAuth)."
        )
    common: dict[str, Any] = {
        "name": "teambot",
        "signing_secret": secret or "",
        "request_verification_enabled": bool(secret),
        "logger": logging.getLogger("teambot.slack.bolt"),
    }
    store: AsyncInstallationStore | None = None
    if oauth:
        assert s.slack_client_id and s.slack_client_secret
        client = make_client(s)
        engine = container.db.engine
        store = AsyncSQLAlchemyInstallationStore(client_id=s.slack_client_id, engine=engine)
        settings = AsyncOAuthSettings(
            client_id=s.slack_client_id,
            client_secret=s.slack_client_secret.get_secret_value(),
            scopes=BOT_SCOPES,
            installation_store=store,
            installation_store_bot_only=True,
            state_store=AsyncSQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine),
        )
        authorize = AsyncInstallationStoreAuthorize(
            logger=common["logger"],
            installation_store=store,
            client_id=s.slack_client_id,
            client_secret=s.slack_client_secret.get_secret_value(),
            cache_enabled=True,
            bot_only=True,
            client=client,
        )
        app = AsyncApp(client=client, oauth_settings=settings, authorize=authorize, installation_store=store,
                       installation_store_bot_only=True, **common)  # fmt: skip
        token = None
    else:
        client = make_client(s, token)
        app = AsyncApp(client=client, **common)
    rt = SlackRuntime(
        container=container,
        app=app,
        client=client,
        people=People(default_tz=s.default_timezone),
        pacer=pacer or Pacer(),
        installation_store=store,
        single_token=token,
    )
    from teambot.slack.listeners import register

    register(rt)
    return rt
