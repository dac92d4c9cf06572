"""Mounts Teams on the shared aiohttp app: `POST /api/messages` through botbuilder's CloudAdapter.

Requests are authenticated as the Bot Framework requires (a JWT from the Bot Connector,
checked against its OpenID keys) whenever MICROSOFT_APP_ID is set. With an empty
MICROSOFT_APP_ID the endpoint runs unauthenticated for local tools (Bot Framework Emulator,
Microsoft 365 Agents Playground), and the start-up log says so loudly.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

from aiohttp import web
from botbuilder.core import MessageFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

from teambot.bootstrap import Container
from teambot.config import Settings
from teambot.teams.bot import TeambotActivityHandler
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


def attach(app: web.Application, container: Container, *, pacer: Pacer | None = None) -> None:
    settings = container.settings
    app_id = settings.microsoft_app_id or ""
    if not app_id:
        log.warning(
            "!!! MICROSOFT_APP_ID is empty: /api/messages accepts UNAUTHENTICATED requests. "
            "Use this only with the Bot Framework Emulator or Agents Playground on your own machine. !!!"
        )
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(bot_configuration(settings)))
    store = TeamsStore(container.db)
    pace = pacer or Pacer()
    bot = TeambotActivityHandler(container, store, app_id, pace)
    notifier = TeamsNotifier(adapter, store, container.db, app_id, pace)
    notifier.cards = bot  # case cards changed outside a turn (the feedback page) are updated by the bot

    async def on_error(context: TurnContext, error: Exception) -> None:
        log.error("Teams turn failed", exc_info=error)
        try:
            await context.send_activity(
                MessageFactory.text(
                    "Sorry, something went wrong on my side. Nothing you typed was lost; try again."
                )
            )
        except Exception:
            log.exception("could not tell the person about the failure")

    adapter.on_turn_error = on_error

    async def messages(request: web.Request) -> web.StreamResponse:
        if request.content_type != "application/json":
            return web.json_response({"error": "send the activity as application/json"}, status=415)
        header = request.headers.get("Authorization", "")
        if app_id and not (header.startswith("Bearer ") and len(header) > 7):
            return web.json_response({"error": "unauthorized"}, status=401)
        started: list[bool] = []

        class Marked:
            """The bot, noting that the turn began (so the token was accepted)."""

            async def on_turn(self, context: TurnContext) -> None:
                started.append(True)
                await bot.on_turn(context)

        try:
            response = await adapter.process(request, Marked())  # type: ignore[arg-type]
        except web.HTTPException:
            raise
        except Exception as exc:
            # Before the turn, an exception is the token check failing (bad signature, unknown
            # key, malformed token), which botbuilder doesn't always raise as PermissionError.
            if started or not app_id:
                raise
            log.warning("Teams request refused: %s: %s", type(exc).__name__, exc)
            return web.json_response({"error": "unauthorized"}, status=401)
        return response or web.Response(status=201)

    app.router.add_post("/api/messages", messages)
    app[TEAMS] = {"adapter": adapter, "bot": bot, "store": store, "notifier": notifier}
    container.notifier.register("teams", notifier)
