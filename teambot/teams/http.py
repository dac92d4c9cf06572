"""Mounts Teams on the shared aiohttp app: `POST /api/messages` through botbuilder's CloudAdapter.

Requests are authenticated as the Bot Framework requires (a JWT from the Bot Connector,
checked against its OpenID keys) whenever MICROSOFT_APP_ID is set. With an empty
MICROSOFT_APP_ID the endpoint runs unauthenticated for local tools (Bot Framework Emulator,
Microsoft 365 Agents Playground), and the start-up log says so loudly.

Acks first (issue 12): after authentication the activity is committed as an intake row keyed by its
id (a redelivery adds nothing) and `/api/messages` answers 201 at once; the turn runs after it, from
the row, held with a lease, and replies go out through the activity's conversation reference as a
proactive turn. A process that dies leaves the row to any live process (web or `teambot worker`),
which runs the same turn. Invokes whose answer carries a body (`adaptiveCard/action`, `task/fetch`,
`composeExtension/*`) are recorded first the same way and still run inline, since Teams shows what
that answer holds; a crash before the answer leaves the row to be taken over like any other.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from types import SimpleNamespace
from typing import Any

from aiohttp import web
from botbuilder.core import MessageFactory, TurnContext, serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes

from teambot.bootstrap import Container
from teambot.config import Settings
from teambot.core.i18n import gettext as _
from teambot.core.i18n import use_locale
from teambot.core.intake.models import IntakeItem
from teambot.core.intake.queue import APPLYING
from teambot.teams.bot import PLATFORM, TeambotActivityHandler
from teambot.teams.connector import CachingBotFrameworkAuthentication
from teambot.teams.notifier import TeamsNotifier
from teambot.teams.pacing import Pacer
from teambot.teams.store import TeamsStore

log = logging.getLogger(__name__)
TEAMS: web.AppKey[dict[str, Any]] = web.AppKey("teams", dict)
_ENDPOINTS = (
    "channel_service", "to_channel_from_bot_login_url", "to_channel_from_bot_oauth_scope",
    "to_bot_from_channel_token_issuer", "to_bot_from_channel_openid_metadata_url",
    "to_bot_from_emulator_openid_metadata_url",
)  # fmt: skip


def bot_configuration(settings: Settings) -> SimpleNamespace:
    """The configuration object botbuilder's ConfigurationBotFrameworkAuthentication reads."""
    password = settings.microsoft_app_password.get_secret_value() if settings.microsoft_app_password else None
    config: dict[str, Any] = {
        "APP_ID": settings.microsoft_app_id or "",
        "APP_PASSWORD": password or "",
        "APP_TYPE": settings.microsoft_app_type,
        "APP_TENANTID": settings.microsoft_app_tenant_id,
    }
    for name in _ENDPOINTS:
        value = getattr(settings, name)
        if value:
            config[name.upper()] = value
    return SimpleNamespace(**config)


def activity_key(activity: Activity) -> str:
    """The intake key of an activity: its id within its conversation, so a redelivery adds nothing."""
    conversation = activity.conversation.id if activity.conversation and activity.conversation.id else ""
    where = hashlib.sha256(conversation.encode()).hexdigest()[:16]
    return f"teams:{where}:{activity.id or uuid.uuid4().hex}"[:255]


class Endpoint:
    """`POST /api/messages` and the turns it starts: what `attach` wires into the app."""

    def __init__(
        self, adapter: CloudAdapter, bot: TeambotActivityHandler, container: Container, app_id: str
    ) -> None:
        self.adapter = adapter
        self.bot = bot
        self.intake = container.intake
        self.app_id = app_id

    async def on_error(self, context: TurnContext, error: Exception) -> None:
        """A turn that failed: say so to the person, in their language, and keep what they typed."""
        log.error("Teams turn failed", exc_info=error)
        turn = context.turn_state.get("teambot.turn")
        language = turn.language if turn is not None else context.activity.locale
        try:
            with use_locale(language):
                sorry = _("Sorry, something went wrong on my side. Nothing you typed was lost; try again.")
            await context.send_activity(MessageFactory.text(sorry))
        except Exception:
            log.exception("could not tell the person about the failure")

    async def run_row(self, item: IntakeItem) -> None:
        """The turn of a recorded activity, in this process or, after a crash, in any other. Replies go
        out through the activity's own conversation reference (serviceUrl, conversation), as a
        proactive turn: nothing here needs the HTTP request that brought it."""
        # Run even when `applied` (the step committed, then the process died): Teams has no card outbox,
        # so the turn is what answers the person. The step itself is not done twice: an open finds its
        # case by source_ref, any other step is refused by the applied check ("That was done already").
        activity = Activity().deserialize(item.payload["activity"])
        activity.caller_id = item.payload.get("caller_id")
        claims = self.adapter.create_claims_identity(self.app_id)
        await self.adapter.process_proactive(claims, activity, item.payload.get("audience"), self.bot.on_turn)

    async def _activity(self, request: web.Request) -> tuple[Activity, dict[str, Any]] | web.Response:
        """The activity in the request, or the answer that refuses it (for the Bot Connector or a developer)."""
        if request.content_type != "application/json":
            return web.json_response(data={"error": "send the activity as application/json"}, status=415)
        header = request.headers.get("Authorization", "")
        if self.app_id and not (header.startswith("Bearer ") and len(header) > 7):
            return web.json_response(data={"error": "unauthorized"}, status=401)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response(data={"error": "the body is not JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response(data={"error": "the body is not an activity"}, status=400)
        activity = Activity().deserialize(body)
        if not activity.type:
            return web.json_response(data={"error": "the activity has no type"}, status=400)
        return activity, body

    async def messages(self, request: web.Request) -> web.StreamResponse:
        """Authenticate, commit the activity as an intake row, answer; the turn runs after (a message,
        a conversation update...) or, for an invoke whose answer carries a body, inline."""
        read = await self._activity(request)
        if isinstance(read, web.Response):
            return read
        activity, body = read
        header = request.headers.get("Authorization", "")
        try:
            auth = await self.adapter.bot_framework_authentication.authenticate_request(activity, header)
        except Exception as exc:  # bad signature, unknown key, malformed or expired token
            if not self.app_id:
                raise
            log.warning("Teams request refused: %s: %s", type(exc).__name__, exc)
            return web.json_response(data={"error": "unauthorized"}, status=401)
        activity.caller_id = auth.caller_id
        payload = {"activity": body, "caller_id": auth.caller_id, "audience": auth.audience}
        tenant = TeambotActivityHandler.tenant_of(activity)
        invoke = activity.type == ActivityTypes.invoke  # its answer is the HTTP response: run here
        item = await self.intake.record(activity_key(activity), PLATFORM, tenant, payload, here=invoke)
        if not invoke:
            # None: a redelivery, whose row carries the work already; a row deferred to the workers
            # (TEAMBOT_WORK=worker) runs there.
            if item is not None and self.intake.runs_here(item):
                self.intake.run_soon(item)
            return web.Response(status=201)
        return await self._invoke(auth, activity, item)

    async def _invoke(self, auth: Any, activity: Activity, item: IntakeItem | None) -> web.StreamResponse:
        """An invoke's answer is its body (a card, a dialog): run it now, the row held while it runs."""
        token = APPLYING.set(item.id if item is not None else None)
        try:
            response = await self.adapter.process_activity(auth, activity, self.bot.on_turn)
        except BaseException:
            if item is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.intake.release(item))
            raise
        finally:
            APPLYING.reset(token)
        if item is not None:
            await self.intake.finish(item)
        if response:
            return web.json_response(data=serializer_helper(response.body), status=response.status)
        return web.Response(status=201)


def attach(app: web.Application, container: Container, *, pacer: Pacer | None = None) -> None:
    settings = container.settings
    app_id = settings.microsoft_app_id or ""
    if not app_id:
        log.warning(
            "!!! MICROSOFT_APP_ID is empty: /api/messages accepts UNAUTHENTICATED requests. "
            "Use this only with the Bot Framework Emulator or Agents Playground on your own machine. !!!"
        )
    # Connector clients, credentials (so tokens) and user-token clients are kept between turns.
    adapter = CloudAdapter(CachingBotFrameworkAuthentication(bot_configuration(settings)))
    store = TeamsStore(container.db)
    pace = pacer or Pacer()
    bot = TeambotActivityHandler(container, store, app_id, pace)
    notifier = TeamsNotifier(adapter, store, container.db, app_id, pace, container.commands.language_of)
    notifier.cards = bot  # case cards changed outside a turn (the feedback page) are updated by the bot
    endpoint = Endpoint(adapter, bot, container, app_id)
    adapter.on_turn_error = endpoint.on_error
    container.intake.register(PLATFORM, endpoint.run_row)
    app.router.add_post("/api/messages", endpoint.messages)
    app[TEAMS] = {"adapter": adapter, "bot": bot, "store": store, "notifier": notifier}
    container.notifier.register("teams", notifier)
