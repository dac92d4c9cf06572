"""Mounts Slack on the shared aiohttp server: POST /slack/events (commands, interactions,
shortcuts, events), GET /slack/install and /slack/oauth_redirect with OAuth, Socket Mode with
SLACK_APP_TOKEN; registers the Slack notifier."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_sdk.signature import SignatureVerifier

from teambot.bootstrap import Container
from teambot.slack.app import build_app
from teambot.slack.guard import malformed
from teambot.slack.notifier import SlackNotifier
from teambot.slack.runtime import SlackRuntime

log = logging.getLogger(__name__)
RUNTIME: web.AppKey[SlackRuntime] = web.AppKey("slack_runtime", SlackRuntime)


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def attach(app: web.Application, container: Container) -> SlackRuntime:
    runtime = build_app(container)
    app[RUNTIME] = runtime
    container.notifier.register("slack", SlackNotifier(runtime))
    bolt = runtime.app

    secret = container.settings.slack_signing_secret
    verifier = SignatureVerifier(secret.get_secret_value()) if secret is not None else None

    async def events(request: web.Request) -> web.Response:
        # slack_sdk's verifier does int() on the timestamp header and raises on anything else,
        # which Bolt turns into a 500; a request that can't carry a valid signature is a 401.
        # A timestamp of more than 12 digits is no time Slack sends (400 digits overflowed to a 500).
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        if not stamp.isdigit() or len(stamp) > 12:
            return web.Response(status=401, text="")
        if verifier is not None:
            raw = await request.read()
            if not _utf8(raw):  # Slack sends UTF-8; slack_sdk decodes before checking (a 500 and a traceback)
                return web.Response(status=400, text="")
            if not verifier.is_valid(raw, stamp, request.headers.get("X-Slack-Signature", "")):
                return web.Response(status=401, text="")
            if malformed(raw, request.content_type):
                return web.Response(status=400, text="")
        try:
            bolt_request = await to_bolt_request(request)
        except (AttributeError, TypeError, ValueError):
            # Bolt reads the body before verifying it and assumes a JSON object or a form; a
            # body such as `0` or `[]` raised there (a 500, signed or not). It is no Slack request.
            return web.Response(status=400, text="")
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    if container.settings.slack_signing_secret is not None:
        app.router.add_post("/slack/events", events)
    flow = bolt.oauth_flow
    if flow is not None:

        async def install(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await flow.handle_installation(await to_bolt_request(request)))

        async def redirect(request: web.Request) -> web.Response:
            return await to_aiohttp_response(await flow.handle_callback(await to_bolt_request(request)))

        app.router.add_get(flow.install_path, install)
        app.router.add_get(flow.redirect_uri_path, redirect)

    app_token = container.settings.slack_app_token
    if app_token is not None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(bolt, app_token.get_secret_value())

        async def start_socket_mode(_: web.Application) -> None:
            await handler.connect_async()
            log.info("Slack Socket Mode connected")

        async def stop_socket_mode(_: web.Application) -> None:
            await handler.close_async()

        app.on_startup.append(start_socket_mode)
        app.on_cleanup.append(stop_socket_mode)

    async def drain(_: web.Application) -> None:
        try:  # a deploy must end within 10 s: what is left is handed back through the intake rows
            async with asyncio.timeout(4):
                await runtime.idle()
        except TimeoutError:
            log.warning("shutting down with Slack work unfinished")

    app.on_cleanup.append(drain)
    container.closers.append(runtime.close_http)  # closed last, with the database (serve and worker)
    return runtime
