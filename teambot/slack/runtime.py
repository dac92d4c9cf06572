"""The runtime every Slack listener shares: the app, the core container, pacing, people.

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

import aiohttp
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from teambot.bootstrap import Container
from teambot.config import Settings
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
    _http: aiohttp.ClientSession | None = None
    _http_loop: asyncio.AbstractEventLoop | None = None

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
            return self._keep_alive(self.client)
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
        return self._keep_alive(self._clients[bot.bot_token])

    def _keep_alive(self, client: AsyncWebClient) -> AsyncWebClient:
        """Give `client` this runtime's HTTP session: without one slack_sdk opens a session, and
        a connection (a TLS handshake with Slack), for every call and closes it after."""
        loop = asyncio.get_running_loop()
        http = self._http
        if http is None or http.closed or self._http_loop is not loop:  # tests run one loop each
            http = self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=client.timeout))
            self._http_loop = loop
        if client.session is not http:
            client.session = http
        return client

    async def close_http(self) -> None:
        """Close the shared HTTP session (process shutdown); a later call opens a new one."""
        http, self._http = self._http, None
        if http is not None and not http.closed:
            await http.close()
