"""The API harness: the real aiohttp app, real HTTP in, and every answer checked against the
OpenAPI document the server itself serves (openapi-core), so a handler and its document cannot
drift apart unnoticed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_spec_validator import validate

from teambot.bootstrap import Container
from teambot.core.commands.context import Context
from teambot.server import create_app

ADMIN = "U_ADMIN"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class Api:
    """Calls /api/v1 and validates each answer (status, headers, body) against the document."""

    http: TestClient
    container: Container
    spec: OpenAPI
    checked: list[str] = field(default_factory=list)

    async def call(self, method: str, path: str, *, token: str | None = None, query: dict[str, Any] | None = None,
                   body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None) -> Answer:
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        data: bytes | None = raw
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        url = path + (f"?{urlencode(query)}" if query else "")
        resp = await self.http.request(method, url, data=data, headers=h)
        text = await resp.text()
        answer = Answer(resp.status, dict(resp.headers), text)
        if path.startswith("/api/v1/") and not path.endswith("openapi.json"):
            request = MockRequest("http://localhost", method.lower(), path, args={k: str(v) for k, v in (query or {}).items()},
                                  headers=h, data=data, content_type=h.get("Content-Type", "application/json"))  # fmt: skip
            response = MockResponse(text.encode(), status_code=resp.status,
                                    content_type=resp.headers.get("Content-Type", "").split(";")[0],
                                    headers=dict(resp.headers))  # fmt: skip
            if resp.status != 404 or "{number}" in self._template(path):
                self.spec.validate_response(request, response)
                self.checked.append(f"{method} {path} {resp.status}")
        return answer

    @staticmethod
    def _template(path: str) -> str:
        return "/api/v1/cases/{number}" if path.rstrip("/").split("/")[-1].isdigit() else path

    async def token(self, name: str = "zendesk", scope: str = "write", team: str = "T1", admin: str = ADMIN) -> str:
        reply = await self.container.commands.run_text(f"api-token create {name} {scope}", ctx(team, admin))
        text = getattr(reply, "text", "")
        assert "tb_" in text, text
        return text.split(": ", 1)[1].split()[0]


def ctx(team: str = "T1", user: str = ADMIN) -> Context:
    return Context(team_id=team, channel_id="C1", user_id=user)


@pytest.fixture
async def api(container: Container) -> AsyncIterator[Api]:
    app = create_app(container)
    async with TestClient(TestServer(app)) as http:
        doc = await (await http.get("/api/v1/openapi.json")).json()
        validate(doc)
        # problem+json is JSON: openapi-core reads it as such only when told.
        config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
        yield Api(http, container, OpenAPI.from_dict(doc, config=config))


def app_of(api: Api) -> web.Application:
    return api.http.server.app  # type: ignore[no-any-return]
