"""The baselines Teambot is measured against, each served the way Teambot serves (an aiohttp
AppRunner + TCPSite on 127.0.0.1:$PORT, GET /healthz):

- `aiohttp`: POST /slack/events and /api/messages answer 200 at once (the HTTP floor).
- `bolt`: a bare slack-bolt AsyncApp, mounted like teambot/slack/http.py, with the same signing
  secret, bot token and SLACK_API_URL; its `/recover` and `case:*` listeners only ack.
- `echo`: a bare botbuilder echo bot on a CloudAdapter built like teambot/teams/http.py, with
  MICROSOFT_APP_ID empty (local mode, no authentication either way).

Run: `python -m bench.baselines aiohttp|bolt|echo` with PORT (and the Slack variables for bolt).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
from types import SimpleNamespace
from typing import Any

from aiohttp import web


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def bare_aiohttp(app: web.Application) -> None:
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=200)

    app.router.add_post("/slack/events", ok)
    app.router.add_post("/api/messages", ok)


def bare_bolt(app: web.Application) -> None:
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.app.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    token = os.environ["SLACK_BOT_TOKEN"]
    base = os.environ.get("SLACK_API_URL")
    client = AsyncWebClient(token=token, **({"base_url": base.rstrip("/") + "/"} if base else {}))
    bolt = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"], name="bare")

    @bolt.command("/recover")
    async def on_recover(ack: Any) -> None:
        await ack()

    @bolt.action(re.compile(r"^case:"))
    async def on_click(ack: Any) -> None:
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app.router.add_post("/slack/events", events)


def echo_bot(app: web.Application) -> None:
    from botbuilder.core import ActivityHandler, MessageFactory, TurnContext
    from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

    config = SimpleNamespace(APP_ID="", APP_PASSWORD="", APP_TYPE="MultiTenant", APP_TENANTID=None)
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(config))

    class Echo(ActivityHandler):
        async def on_message_activity(self, turn_context: TurnContext) -> None:
            await turn_context.send_activity(MessageFactory.text(f"Echo: {turn_context.activity.text}"))

    bot = Echo()

    async def messages(request: web.Request) -> web.StreamResponse:
        response = await adapter.process(request, bot)
        return response or web.Response(status=201)

    app.router.add_post("/api/messages", messages)


async def serve(kind: str, port: int) -> None:
    app = web.Application(client_max_size=1024**2)
    app.router.add_get("/healthz", healthz)
    {"aiohttp": bare_aiohttp, "bolt": bare_bolt, "echo": echo_bot}[kind](app)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    p = argparse.ArgumentParser(description="A baseline server for the benchmarks.")
    p.add_argument("kind", choices=["aiohttp", "bolt", "echo"])
    args = p.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.kind, int(os.environ.get("PORT", "3000"))))


if __name__ == "__main__":
    main()
