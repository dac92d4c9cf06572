"""POST /jira/webhook/{team}: Jira's admin webhook, signed with the secret `teambot jira link`
printed (`X-Hub-Signature: sha256=<hex>`). An issue moved to done marks its action done."""

from __future__ import annotations

import json
import logging

from aiohttp import web

from teambot.bootstrap import Container
from teambot.core.errors import DomainError

log = logging.getLogger(__name__)
PATH = "/jira/webhook/{team}"


def attach(app: web.Application, container: Container) -> None:
    async def receive(request: web.Request) -> web.Response:
        team = request.match_info["team"]
        body = await request.read()
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        if not isinstance(payload, dict):
            return web.json_response({"error": "the body is not a Jira event"}, status=400)
        try:
            changed = await container.jira.on_webhook(
                team, body, request.headers.get("X-Hub-Signature"), payload
            )
        except PermissionError:
            log.warning("Jira webhook for %s refused: bad or missing X-Hub-Signature", team)
            return web.json_response({"error": "bad signature"}, status=401)
        except DomainError as err:
            return web.json_response({"error": str(err)}, status=404)
        return web.json_response({"ok": True, "changed": changed})

    app.router.add_post(PATH, receive)
