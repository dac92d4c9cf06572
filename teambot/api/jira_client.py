"""Jira Cloud REST API v3 over aiohttp (basic auth: the account's email and an API token).

Jira's refusals carry `{"errorMessages": [...], "errors": {"field": "why"}}`; they become one
JiraError sentence, so an operator or an admin reads what Jira said, never a traceback."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp

from teambot.core.jira.ports import CreatedIssue, JiraCredentials, JiraError

TIMEOUT = aiohttp.ClientTimeout(total=10)


def _explain(status: int, body: Any) -> str:
    if isinstance(body, dict):
        parts = [str(m) for m in body.get("errorMessages") or []]
        parts += [f"{k}: {v}" for k, v in (body.get("errors") or {}).items()]
        if parts:
            return f"Jira refused ({status}): " + "; ".join(parts)
    hint = {401: " (check the email and the API token)", 403: " (the account may not use this project)",
            404: " (no such project or issue, or the account cannot see it)"}.get(status, "")  # fmt: skip
    return f"Jira answered {status}{hint}."


class AiohttpJira:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    async def _call(self, creds: JiraCredentials, method: str, path: str, body: Any = None) -> Any:
        token = base64.b64encode(f"{creds.email}:{creds.token}".encode()).decode()
        headers = {"Accept": "application/json", "Authorization": f"Basic {token}"}
        try:
            async with self._client().request(method, creds.base_url + path, json=body, headers=headers,
                                              allow_redirects=False) as r:  # fmt: skip
                data = await r.json(content_type=None) if r.status != 204 else None
                if r.status >= 300:
                    raise JiraError(_explain(r.status, data), r.status)
                return data
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise JiraError(f"Jira could not be reached at {creds.base_url} ({type(exc).__name__}).") from exc

    async def project(self, creds: JiraCredentials, key: str) -> dict[str, Any]:
        return dict(await self._call(creds, "GET", f"/rest/api/3/project/{key}"))

    async def create_issue(self, creds: JiraCredentials, fields: dict[str, Any]) -> CreatedIssue:
        data = await self._call(creds, "POST", "/rest/api/3/issue", {"fields": fields})
        return CreatedIssue(str(data["id"]), str(data["key"]))

    async def issue_status(self, creds: JiraCredentials, key: str) -> str:
        data = await self._call(creds, "GET", f"/rest/api/3/issue/{key}?fields=status")
        return str(data["fields"]["status"]["statusCategory"]["key"])

    async def transition_to_done(self, creds: JiraCredentials, key: str) -> bool:
        offered = await self._call(creds, "GET", f"/rest/api/3/issue/{key}/transitions")
        done = [
            t
            for t in offered.get("transitions", [])
            if ((t.get("to") or {}).get("statusCategory") or {}).get("key") == "done"
        ]
        if not done:
            return False
        await self._call(
            creds, "POST", f"/rest/api/3/issue/{key}/transitions", {"transition": {"id": done[0]["id"]}}
        )
        return True

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
