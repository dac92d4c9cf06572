"""/api/v1 on the shared aiohttp server: the route table the handlers and the OpenAPI document
are both made from.

Every route but the document needs `Authorization: Bearer <token>`; a token sees its own team
only, `write` scope is needed to open cases, and each token has its own rate limit (429 with
Retry-After). Errors are RFC 9457 problem documents.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from teambot.api import opening
from teambot.api.problems import from_domain, from_validation, problem
from teambot.api.schemas import (
    ActionList,
    ActionListQuery,
    ActionOut,
    CaseList,
    CaseListQuery,
    CauseList,
    CauseListQuery,
    CauseOut,
    Digest,
    DigestQuery,
    OpenCaseIn,
    Problem,
)
from teambot.bootstrap import Container
from teambot.core.api_tokens.models import WRITE
from teambot.core.api_tokens.store import Caller
from teambot.core.cases.listing import CaseFilter, case_and_timeline, cause_names, list_cases
from teambot.core.cases.public import CaseOut, CaseWithTimeline, case_out, case_with_timeline
from teambot.core.errors import BadInput, DomainError
from teambot.core.improvement.actions import list_actions
from teambot.core.improvement.costs import causes_with_cost
from teambot.core.insights import digest as digests
from teambot.core.policy.models import Policy
from teambot.web.ratelimit import RateLimiter

log = logging.getLogger(__name__)
PREFIX = "/api/v1"
RATE_PER_MINUTE = 120
API_CONTAINER: web.AppKey[Container] = web.AppKey("api_container", Container)
API_LIMITER: web.AppKey[RateLimiter] = web.AppKey("api_limiter", RateLimiter)

ApiEndpoint = Callable[[web.Request, Caller, Any], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One operation: how it is served and how the OpenAPI document describes it."""

    method: str
    path: str
    operation_id: str
    summary: str
    handler: ApiEndpoint
    scope: str = "read"
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    responses: dict[int, tuple[str, type[BaseModel] | None]] = field(default_factory=dict)
    path_params: dict[str, str] = field(default_factory=dict)  # name -> description (integers)
    headers: dict[str, str] = field(default_factory=dict)  # request headers it reads -> description


def _container(request: web.Request) -> Container:
    return request.app[API_CONTAINER]


def _json(model: BaseModel, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=model.model_dump_json(), status=status, content_type="application/json",
                        headers=headers)  # fmt: skip


async def list_cases_handler(request: web.Request, caller: Caller, q: CaseListQuery) -> web.StreamResponse:
    f = CaseFilter(status=q.status, category=q.category, cause=q.cause, owner=q.owner, opened_after=q.opened_after,
                   opened_before=q.opened_before, resolved_after=q.resolved_after, resolved_before=q.resolved_before)  # fmt: skip
    db = _container(request).db
    rows, nxt = await list_cases(db, caller.team_id, f, cursor=q.cursor, limit=q.limit)
    names = await cause_names(db, rows)
    items = [case_out(c, names.get(c.cause_id) if c.cause_id else None) for c in rows]
    return _json(CaseList(items=items, next_cursor=nxt))


async def get_case_handler(request: web.Request, caller: Caller, _: None) -> web.StreamResponse:
    number = _number(request)
    db = _container(request).db
    case, events = await case_and_timeline(db, caller.team_id, number)
    names = await cause_names(db, [case])
    return _json(case_with_timeline(case, events, names.get(case.cause_id) if case.cause_id else None))


async def open_case_handler(request: web.Request, caller: Caller, body: OpenCaseIn) -> web.StreamResponse:
    key = opening.check_key(request.headers.get("Idempotency-Key")) or body.external_ref
    data = body.model_dump(mode="json", exclude_none=True)
    opened, replayed = await opening.open_through_intake(
        _container(request), caller.team_id, caller.actor, data, key
    )
    headers = {"Location": f"{PREFIX}/cases/{opened.case.number}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return _json(case_out(opened.case), 201, headers)


async def digest_handler(request: web.Request, caller: Caller, q: DigestQuery) -> web.StreamResponse:
    container = _container(request)
    now = container.clock.now()
    async with container.db.session() as s:
        policy = await s.get(Policy, caller.team_id)
    tz = policy.digest_timezone if policy else "UTC"
    this_week = digests.current_monday(now, tz)
    monday = digests.parse_week(q.week) if q.week else this_week
    result = await digests.compute(container.db, caller.team_id, monday, now, preview=monday >= this_week)
    data = json.loads(json.dumps(result.as_data(), default=str))
    return web.json_response(Digest.model_validate(data).model_dump(mode="json"))


async def causes_handler(request: web.Request, caller: Caller, q: CauseListQuery) -> web.StreamResponse:
    container = _container(request)
    end = q.resolved_before or container.clock.now()
    start = q.resolved_after or end - timedelta(days=28)
    if start >= end:
        raise BadInput("resolved_after must be before resolved_before.", "Give a period that moves forward in time.",
                       field="resolved_after")  # fmt: skip
    found = await causes_with_cost(container.db, caller.team_id, start, end)
    items = [CauseOut(name=x.name, cases=x.cases, compensation=x.compensation, not_satisfied=x.not_satisfied, lost=x.lost,
                      repeat_customers=x.repeat_customers, per_week=x.per_week, per_week_before=x.per_week_before,
                      trend=x.trend, points=x.points) for x in found]  # type: ignore[arg-type]  # fmt: skip
    return _json(CauseList(resolved_after=start, resolved_before=end, items=items))


async def actions_handler(request: web.Request, caller: Caller, q: ActionListQuery) -> web.StreamResponse:
    container = _container(request)
    found = await list_actions(container.db, caller.team_id, None if q.status == "all" else q.status, q.owner)
    keys = await container.jira.issue_keys(caller.team_id)
    items = [ActionOut(**{**asdict(a), "jira_issue": keys.get(a.number)}) for a in found]
    return _json(ActionList(items=items))


def _number(request: web.Request) -> int:
    raw = request.match_info.get("number", "")
    if not raw.isdigit() or len(raw) > 9:
        raise web.HTTPNotFound()
    return int(raw)


ROUTES: list[Route] = [
    Route("GET", "/cases", "listCases", "List the team's cases, newest first, a page at a time.", list_cases_handler,
          query=CaseListQuery, responses={200: ("A page of cases.", CaseList), 400: ("A query parameter is invalid.", Problem),
                                     422: ("The cursor is not one this API gave out.", Problem)}),
    Route("GET", "/cases/{number}", "getCase", "One case with its timeline.", get_case_handler,
          path_params={"number": "The case number."},
          responses={200: ("The case.", CaseWithTimeline), 404: ("No such case in this team.", Problem)}),
    Route("POST", "/cases", "openCase", "Open a case (write scope); honours Idempotency-Key.", open_case_handler,
          scope=WRITE, body=OpenCaseIn,
          headers={"Idempotency-Key": "Your id for this request (a ticket id): the same key and body give the "
                   "same case; the same key with another body gets 409."},
          responses={201: ("The case, opened (or, for a repeated key, opened before).", CaseOut),
                     400: ("The body is not JSON, or the Idempotency-Key is malformed.", Problem),
                     403: ("The token has read scope only.", Problem),
                     409: ("The Idempotency-Key was used with a different body.", Problem),
                     415: ("The body is not sent as application/json.", Problem),
                     422: ("The body is JSON but not a case Teambot can open.", Problem)}),
    Route("GET", "/causes", "listCauses", "The team's causes ranked by what their cases cost in a period.",
          causes_handler, query=CauseListQuery,
          responses={200: ("The causes, costliest first.", CauseList), 400: ("A query parameter is invalid.", Problem),
                     422: ("The period runs backwards.", Problem)}),
    Route("GET", "/actions", "listActions", "The team's improvement actions (open ones by default).", actions_handler,
          query=ActionListQuery, responses={200: ("The actions, oldest first.", ActionList),
                                            400: ("A query parameter is invalid.", Problem)}),
    Route("GET", "/digest", "getDigest", "A week's digest as data.", digest_handler, query=DigestQuery,
          responses={200: ("The digest.", Digest), 400: ("The week is not written as 2026-W47.", Problem),
                     422: ("The week does not exist.", Problem)}),
]  # fmt: skip


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def serve(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Authenticate, rate limit, parse, run; every refusal a problem document."""

    async def handle(request: web.Request) -> web.StreamResponse:
        container, where = _container(request), request.path
        token = _bearer(request)
        caller = await container.tokens.authenticate(token) if token else None
        if caller is None:
            return problem(401, "unauthorized",
                           "Send a valid API token as `Authorization: Bearer <token>`; an admin makes one with "
                           "/recover api-token create <name> [read|write].",
                           instance=where, headers={"WWW-Authenticate": 'Bearer realm="teambot"'})  # fmt: skip
        limiter = request.app[API_LIMITER]
        key = f"token:{caller.token_id}"
        if not limiter.allow(key):
            wait = max(1, math.ceil(limiter.retry_after(key)))
            return problem(429, "rate-limited", f"This token made too many requests; try again in {wait} s.",
                           instance=where, headers={"Retry-After": str(wait)})  # fmt: skip
        if route.scope == WRITE and caller.scope != WRITE:
            return problem(403, "forbidden",
                           f"The token {caller.name} can read only; opening cases needs a write token "
                           "(/recover api-token create <name> write).", instance=where)  # fmt: skip
        try:
            arg = await _parse(request, route)
        except ValidationError as err:
            return from_validation(err, where, "query" if route.query else "body")
        except _BadBody as err:
            return problem(err.status, "invalid", str(err), instance=where)
        try:
            return await route.handler(request, caller, arg)
        except DomainError as err:
            return from_domain(err, where)

    return handle


class _BadBody(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _parse(request: web.Request, route: Route) -> Any:
    if route.query is not None:
        return route.query.model_validate(dict(request.query))
    if route.body is not None:
        if request.content_type != "application/json":
            raise _BadBody(415, "Send the body as JSON with `Content-Type: application/json`.")
        try:
            raw = await request.json()
        except ValueError:
            raise _BadBody(400, "The body is not valid JSON; check quotes and commas.") from None
        if not isinstance(raw, dict):
            raise _BadBody(422, 'The body must be a JSON object such as {"problem": "..."}.')
        return route.body.model_validate(raw)
    return None


@web.middleware
async def problems_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Under /api/v1, even an unknown path or an unexpected fault answers with a problem document."""
    if not request.path.startswith(PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        detail = {404: "There is nothing at this address; the operations are in /api/v1/openapi.json.",
                  405: "This address does not take that method; see /api/v1/openapi.json.",
                  413: "The body is larger than the server accepts (1 MB)."}.get(exc.status, exc.reason)  # fmt: skip
        return problem(exc.status, "http", detail, instance=request.path)
    except Exception:
        log.exception("API request %s %s failed", request.method, request.path)
        return problem(500, "internal", "Teambot failed on this request; it is logged. Try again shortly.",
                       instance=request.path)  # fmt: skip


def attach(app: web.Application, container: Container, *, per_minute: int = RATE_PER_MINUTE) -> None:
    from teambot.api.openapi import document

    app[API_CONTAINER] = container
    app[API_LIMITER] = RateLimiter(per_minute, 60.0)
    app.middlewares.append(problems_middleware)
    for route in ROUTES:
        app.router.add_route(route.method, PREFIX + route.path, serve(route))
    doc = document(ROUTES, PREFIX)

    async def openapi(_: web.Request) -> web.Response:
        return web.json_response(doc)

    app.router.add_get(PREFIX + "/openapi.json", openapi)
    opening.register(container)
    from teambot.api import jira_hook

    jira_hook.attach(app, container)
