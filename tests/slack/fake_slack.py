"""A local stand-in for Slack's Web API and response_urls: records every call, answers like Slack.

Real HTTP on 127.0.0.1: the bot's AsyncWebClient reaches it through SLACK_API_URL, and the
response_urls in the payloads we send point at it too.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    responses: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (response_url key, JSON)
    not_member: set[str] = field(default_factory=set)  # channels where the bot is not a member
    time_zones: dict[str, str] = field(default_factory=dict)
    locales: dict[str, str] = field(default_factory=dict)  # users.info include_locale (default en-US)
    failures: dict[str, list[int]] = field(default_factory=dict)  # method -> HTTP statuses to answer first
    install: dict[str, Any] = field(default_factory=dict)  # what oauth.v2.access answers
    server: TestServer | None = None
    sockets: list[web.WebSocketResponse] = field(default_factory=list)  # Socket Mode connections
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)  # file id -> bytes sent to the upload URL
    history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # channel -> messages posted
    # auth.test: the scopes Slack lists in its x-oauth-scopes header (None: no header), tokens it refuses
    scopes: str | None = "commands,chat:write,chat:write.public,users:read,im:write,files:write"
    bad_tokens: set[str] = field(default_factory=set)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))  # type: ignore[type-arg]
    _views: itertools.count = field(default_factory=lambda: itertools.count(1))  # type: ignore[type-arg]

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def response_url(self, key: str) -> str:
        return f"{self.url}/response/{key}"

    # ----- what tests look at ----------------------------------------------------------------

    def of(self, method: str) -> list[dict[str, Any]]:
        return [c.args for c in self.calls if c.method == method]

    def posts(self, channel: str | None = None, thread: bool | None = None) -> list[dict[str, Any]]:
        out = self.of("chat.postMessage")
        if channel is not None:
            out = [a for a in out if a.get("channel") == channel]
        if thread is not None:
            out = [a for a in out if bool(a.get("thread_ts")) == thread]
        return out

    def to(self, key: str) -> list[dict[str, Any]]:
        return [body for k, body in self.responses if k == key]

    def last_view(self, callback_id: str | None = None) -> dict[str, Any]:
        views = [a["view"] for a in self.of("views.open")]
        if callback_id:
            views = [v for v in views if v.get("callback_id") == callback_id]
        assert views, f"no view {callback_id or ''} was opened"
        return views[-1]

    # ----- the server --------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """Socket Mode: say hello, then record every envelope acknowledgement the app sends."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}})
        async for msg in ws:
            if msg.type.name == "TEXT":
                self.socket_acks.append(json.loads(msg.data))
        return ws

    async def _upload(self, request: web.Request) -> web.Response:
        """Slack's upload URLs take the raw bytes (step 2 of files_upload_v2)."""
        self.uploads[request.match_info["file_id"]] = await request.read()
        return web.Response(text="OK - uploaded")

    async def _response(self, request: web.Request) -> web.Response:
        self.responses.append((request.match_info["key"], await request.json()))
        return web.Response(text="ok")

    async def _args(self, request: web.Request) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.query)
        raw = await request.text()
        if request.content_type == "application/json" and raw:
            args.update(json.loads(raw))
        elif raw:
            args.update(dict(parse_qsl(raw, keep_blank_values=True)))
        for key in ("blocks", "view", "attachments", "metadata"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._args(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") or args.get("token")
        self.calls.append(Call(method, args, token))
        pending = self.failures.get(method)
        if pending:
            status = pending.pop(0)
            return web.json_response({"ok": False, "error": "ratelimited" if status == 429 else "fatal_error"},
                                     status=status, headers={"Retry-After": "0"} if status == 429 else {})  # fmt: skip
        if method == "auth.test" and token in self.bad_tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        headers = {"X-OAuth-Scopes": self.scopes} if method == "auth.test" and self.scopes is not None else {}
        return web.json_response(self.answer(method, args), headers=headers)

    def answer(self, method: str, a: dict[str, Any]) -> dict[str, Any]:
        channel = str(a.get("channel") or "")
        if method == "auth.test":
            return {"ok": True, "team_id": "T1", "team": "Hotel", "user_id": "UBOT", "bot_id": "BBOT",
                    "url": "https://hotel.slack.com/", "user": "teambot"}  # fmt: skip
        if method in ("chat.postMessage", "chat.postEphemeral", "chat.update") and channel in self.not_member:
            return {
                "ok": False,
                "error": "not_in_channel" if channel.startswith("C") else "channel_not_found",
            }
        if method == "chat.postMessage":
            dm = "D" + channel[1:] if channel.startswith(("U", "W")) else channel
            ts = f"1790000000.{next(self._ts):06d}"
            message = {"text": a.get("text"), "ts": ts, "thread_ts": a.get("thread_ts"), "metadata": a.get("metadata")}
            self.history.setdefault(dm, []).append(message)
            return {"ok": True, "channel": dm, "ts": ts, "message": {"text": a.get("text"), "ts": ts}}
        if method == "conversations.history":  # newest first; metadata only when asked for
            with_meta = str(a.get("include_all_metadata")).lower() in ("true", "1")
            msgs = [m for m in reversed(self.history.get(channel, [])) if not m.get("thread_ts")]
            start = int(a.get("cursor") or 0)
            limit = int(a.get("limit") or 100)
            page = [{k: v for k, v in m.items() if with_meta or k != "metadata"} for m in msgs[start:start + limit]]
            more = start + limit < len(msgs)
            return {"ok": True, "messages": page, "has_more": more,
                    "response_metadata": {"next_cursor": str(start + limit) if more else ""}}
        if method == "chat.update":
            return {"ok": True, "channel": channel, "ts": a.get("ts"), "text": a.get("text")}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1790000000.{next(self._ts):06d}"}
        if method == "chat.getPermalink":
            ts = str(a.get("message_ts", "")).replace(".", "")
            return {
                "ok": True,
                "channel": channel,
                "permalink": f"https://hotel.slack.com/archives/{channel}/p{ts}",
            }
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            view = dict(a.get("view") or {})
            view["id"] = f"V{next(self._views):04d}"
            return {"ok": True, "view": view}
        if method == "users.info":
            user = str(a.get("user"))
            info = {"id": user, "name": user.lower(), "real_name": f"Real {user}",
                    "tz": self.time_zones.get(user, "Europe/Paris"),
                    "profile": {"display_name": f"name-{user}", "real_name": f"Real {user}"}}  # fmt: skip
            if str(a.get("include_locale")).lower() in ("true", "1"):  # Slack sends it only when asked
                info["locale"] = self.locales.get(user, "en-US")
            return {"ok": True, "user": info}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.url.replace("http://", "ws://") + "/socket"}
        if method == "oauth.v2.access":
            return {"ok": True, **self.install}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ts):06d}"
            return {"ok": True, "file_id": file_id, "upload_url": f"{self.url}/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            files = a.get("files")
            files = json.loads(files) if isinstance(files, str) else files
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files or []]}
        if method == "files.info":
            return {"ok": True, "file": {"id": a.get("file"), "name": "upload"}}
        return {"ok": False, "error": "unknown_method"}
