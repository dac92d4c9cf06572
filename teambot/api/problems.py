"""Errors as RFC 9457 `application/problem+json`, each with a sentence a person can act on."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import ValidationError

from teambot.core.errors import BadInput, Conflict, DomainError, InvalidStep, NotAllowed, NotFound

MEDIA = "application/problem+json"
BASE = "https://teambot.invalid/problems/"  # names, not pages: RFC 9457 lets a type URI be a plain identifier

_DOMAIN = {BadInput: 422, InvalidStep: 422, NotAllowed: 403, NotFound: 404, Conflict: 409}
TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          409: "Conflict", 413: "Request too large", 415: "Unsupported media type", 422: "Unprocessable content",
          429: "Too many requests", 500: "Internal error", 503: "Unavailable"}  # fmt: skip


def problem(status: int, kind: str, detail: str, *, instance: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> web.Response:  # fmt: skip
    body: dict[str, Any] = {"type": BASE + kind, "title": TITLES.get(status, "Error"), "status": status,
                            "detail": detail}  # fmt: skip
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return web.json_response(body, status=status, content_type=MEDIA, headers=headers)


def from_domain(err: DomainError, instance: str) -> web.Response:
    status = next((code for cls, code in _DOMAIN.items() if isinstance(err, cls)), 422)
    kind = {403: "forbidden", 404: "not-found", 409: "conflict"}.get(status, "invalid")
    return problem(status, kind, str(err), instance=instance, field=err.field)


def from_validation(err: ValidationError, instance: str, where: str) -> web.Response:
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]) or where, "message": e["msg"]} for e in err.errors()
    ]
    first = errors[0] if errors else {"field": where, "message": "invalid"}
    detail = (f"The {where} is not valid: {first['field']}: {first['message']}."
              f" Fix {'it' if len(errors) == 1 else f'these {len(errors)} inputs'} and send it again.")  # fmt: skip
    return problem(400 if where == "query" else 422, "invalid", detail, instance=instance, errors=errors)
