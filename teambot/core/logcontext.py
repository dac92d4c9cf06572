"""The log context of one request: every line logged while its work runs says which request it is.

The request id is the intake row id: the same in the process that acknowledged the request, in the
one that took it over after a crash, and in the card delivery that follows in the same task. Bound in
structlog's context variables, so tasks started from the request's work inherit it; `teambot/logs.py`
prints them (LOG_FORMAT=json as fields, text as a `[request=... platform=... team=...]` tail).
"""

from __future__ import annotations

from structlog.contextvars import bind_contextvars, get_contextvars

__all__ = ["bind_request", "get_contextvars", "request_context"]


def bind_request(request_id: int | None, kind: str, team: str) -> None:
    """`kind` is the intake row's: a platform (`slack`) or a card row (`card:slack`)."""
    bind_contextvars(request_id=request_id, platform=kind.removeprefix("card:"), team=team or None)


def request_context() -> dict[str, object]:
    """What is bound now (tests, and the text formatter)."""
    ctx = get_contextvars()
    return {k: ctx[k] for k in ("request_id", "platform", "team") if ctx.get(k) is not None}
