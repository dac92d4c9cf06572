"""A local webhook receiver: a real aiohttp server on 127.0.0.1 that records every delivery and
answers as a test tells it (fail, redirect, stall, answer a huge body)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def data(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str = ""
    got: list[Delivery] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, in turn; then `status`
    status: int = 204
    stall: float = 0.0
    huge: bool = False

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.got.append(Delivery(dict(request.headers), await request.read()))
        if self.stall:
            await asyncio.sleep(self.stall)
        status = self.statuses.pop(0) if self.statuses else self.status
        if 300 <= status < 400:
            return web.Response(status=status, headers={"Location": self.url + "/elsewhere"})
        if self.huge:
            resp = web.StreamResponse(status=status)
            await resp.prepare(request)
            for _ in range(64):  # 4 MB: a reader without a cap would take it all
                await resp.write(b"x" * 65536)
            return resp
        return web.Response(status=status)

    def types(self) -> list[str]:
        return [d.data["type"] for d in self.got]


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    app = web.Application()
    app.router.add_post("/hook", r.handle)
    app.router.add_post("/hook/elsewhere", r.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    r.url = f"http://127.0.0.1:{server.port}/hook"
    try:
        yield r
    finally:
        await server.close()
