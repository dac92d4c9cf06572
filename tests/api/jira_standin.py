"""A local stand-in for Jira Cloud speaking REST API v3's shapes: basic auth, create issue, get
issue (status and its category), transitions, and Jira's error bodies (`errorMessages`, `errors`).
It can also send Jira's signed admin webhook (`X-Hub-Signature: sha256=<hex>`) to Teambot."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

EMAIL, TOKEN = "ops@example.com", "atl-token-123"
DONE = {"id": "31", "name": "Done", "to": {"name": "Done", "statusCategory": {"key": "done", "name": "Done"}}}
START = {"id": "21", "name": "In Progress", "to": {"name": "In Progress", "statusCategory": {"key": "indeterminate"}}}


def _err(status: int, messages: list[str], errors: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"errorMessages": messages, "errors": errors or {}}, status=status)


@dataclass
class Jira:
    projects: set[str] = field(default_factory=lambda: {"OPS"})
    issues: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(10001))
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}"

    def _authorised(self, request: web.Request) -> bool:
        want = "Basic " + base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
        return request.headers.get("Authorization") == want

    @web.middleware
    async def guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.calls.append((request.method, request.path))
        if not self._authorised(request):  # Jira's 401 for bad basic auth
            return _err(401, ["You are not authenticated. Authentication required to perform this operation."])
        return await handler(request)

    async def project(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        if key not in self.projects:
            return _err(404, [f"No project could be found with key '{key}'."])
        return web.json_response({"id": "10000", "key": key, "name": "Operations"})

    async def create(self, request: web.Request) -> web.Response:
        fields = (await request.json()).get("fields", {})
        errors = {}
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        if (fields.get("project") or {}).get("key") not in self.projects:
            errors["project"] = "valid project is required"
        if errors:
            return _err(400, [], errors)
        issue_id = str(next(self.ids))
        key = f"{fields['project']['key']}-{len(self.issues) + 1}"
        self.issues[key] = {"id": issue_id, "key": key, "fields": {**fields, "status": self._status("To Do", "new")}}
        return web.json_response({"id": issue_id, "key": key, "self": f"{self.url}/rest/api/3/issue/{issue_id}"}, status=201)

    @staticmethod
    def _status(name: str, category: str) -> dict[str, Any]:
        return {"name": name, "statusCategory": {"key": category, "name": name}}

    def _issue(self, request: web.Request) -> dict[str, Any] | None:
        return self.issues.get(request.match_info["key"])

    async def get_issue(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        if issue is None:
            return _err(404, ["Issue does not exist or you do not have permission to see it."])
        return web.json_response({"id": issue["id"], "key": issue["key"], "fields": {"status": issue["fields"]["status"]}})

    async def transitions(self, request: web.Request) -> web.Response:
        issue = self._issue(request)
        if issue is None:
            return _err(404, ["Issue does not exist or you do not have permission to see it."])
        if request.method == "GET":
            return web.json_response({"expand": "transitions", "transitions": [START, DONE]})
        wanted = ((await request.json()).get("transition") or {}).get("id")
        chosen = next((t for t in (START, DONE) if t["id"] == wanted), None)
        if chosen is None:
            return _err(400, [f"Transition id '{wanted}' is not valid for this issue."])
        issue["fields"]["status"] = self._status(chosen["to"]["name"], chosen["to"]["statusCategory"]["key"])
        return web.Response(status=204)

    def finish(self, key: str) -> dict[str, Any]:
        """Someone moves the issue to Done in Jira; the webhook payload Jira would send."""
        issue = self.issues[key]
        issue["fields"]["status"] = self._status("Done", "done")
        return {"webhookEvent": "jira:issue_updated", "issue": {"id": issue["id"], "key": key,
                                                               "fields": {"status": issue["fields"]["status"]}}}

    @staticmethod
    def signed(payload: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(payload).encode()
        sig = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return body, {"X-Hub-Signature": f"sha256={sig}", "Content-Type": "application/json"}

    async def start(self) -> None:
        app = web.Application(middlewares=[self.guard])
        app.router.add_get("/rest/api/3/project/{key}", self.project)
        app.router.add_post("/rest/api/3/issue", self.create)
        app.router.add_get("/rest/api/3/issue/{key}", self.get_issue)
        app.router.add_route("*", "/rest/api/3/issue/{key}/transitions", self.transitions)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()
