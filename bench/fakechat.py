"""A lean local stand-in for the chat APIs the bot calls: Slack's Web API and response_urls, and
the Bot Connector's conversation endpoints. It answers like them and only counts, so it costs
little CPU beside the server under test.

Run apart, as its own process: `python -m bench.fakechat --port 8100`. `GET /stats` returns the
counts; `GET /stats?times=1` also returns (arrival time, channel) for each top-level Slack post.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from collections import Counter
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web


class FakeChat:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.cards: list[tuple[float, str]] = []  # Slack chat.postMessage without thread_ts
        self.per_channel: Counter[str] = Counter()
        self.last: dict[str, float] = {}  # count name -> when it last went up (turns/s for the Teams bench)
        self._ts = itertools.count(1)

    def reset(self) -> None:
        self.counts.clear()
        self.cards.clear()
        self.per_channel.clear()
        self.last.clear()

    async def _args(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if not raw:
            return dict(request.query)
        if request.content_type == "application/json":
            return dict(json.loads(raw))
        return dict(parse_qsl(raw.decode(), keep_blank_values=True))

    async def slack(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        self.counts[method] += 1
        channel = str(args.get("channel") or "")
        if method == "auth.test":
            return web.json_response({"ok": True, "team_id": "T1", "team": "Bench", "user_id": "UBOT",
                                      "bot_id": "BBOT", "url": "https://bench.slack.com/", "user": "teambot"})  # fmt: skip
        if method == "chat.postMessage":
            if not args.get("thread_ts"):
                self.cards.append((time.time(), channel))
                self.per_channel[channel] += 1
                self.counts["cards"] += 1
            dm = "D" + channel[1:] if channel.startswith(("U", "W")) else channel
            ts = f"1790000000.{next(self._ts):06d}"
            return web.json_response({"ok": True, "channel": dm, "ts": ts, "message": {"ts": ts}})
        if method == "chat.update":
            return web.json_response({"ok": True, "channel": channel, "ts": args.get("ts")})
        if method == "chat.postEphemeral":
            return web.json_response({"ok": True, "message_ts": f"1790000000.{next(self._ts):06d}"})
        if method == "users.info":
            user = str(args.get("user"))
            return web.json_response({"ok": True, "user": {"id": user, "name": user.lower(), "tz": "Europe/Paris",
                                                           "profile": {"display_name": f"name-{user}"}}})  # fmt: skip
        if method in ("views.open", "views.publish", "views.update"):
            return web.json_response({"ok": True, "view": {"id": f"V{next(self._ts)}"}})
        return web.json_response({"ok": False, "error": "unknown_method"})

    async def response_url(self, request: web.Request) -> web.Response:
        await request.read()
        self.counts["response_url"] += 1
        return web.Response(text="ok")

    async def connector_send(self, request: web.Request) -> web.Response:
        await request.read()
        self.counts["teams_send"] += 1
        self.last["teams_send"] = time.time()
        return web.json_response({"id": f"act-{next(self._ts)}"})

    async def connector_update(self, request: web.Request) -> web.Response:
        await request.read()
        self.counts["teams_update"] += 1
        return web.json_response({"id": request.match_info["aid"]})

    async def stats(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = {"counts": dict(self.counts), "last": self.last, "now": time.time()}
        if request.query.get("times"):
            body["cards"] = self.cards
            body["max_per_channel"] = max(self.per_channel.values(), default=0)
            body["channels_over_one"] = sum(1 for n in self.per_channel.values() if n > 1)
        return web.json_response(body)

    async def do_reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024**2)
        app.router.add_route("*", "/api/{method}", self.slack)
        app.router.add_post("/response/{key}", self.response_url)
        app.router.add_post("/v3/conversations/{cid}/activities", self.connector_send)
        app.router.add_post("/v3/conversations/{cid}/activities/{aid}", self.connector_send)
        app.router.add_put("/v3/conversations/{cid}/activities/{aid}", self.connector_update)
        app.router.add_get("/stats", self.stats)
        app.router.add_post("/reset", self.do_reset)
        app.router.add_get("/healthz", self.healthz)
        return app


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    web.run_app(FakeChat().app(), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
