"""The customer's feedback page: a plain HTML form behind a signed link, no JavaScript needed.

GET /feedback/{token} shows the form; POST answers it once. The link is the capability (an
HMAC-signed opaque id), so there is no login and no CSRF token: a cross-site page could
only post for a link its author already holds. A present Origin header must still be ours,
so a stolen link cannot be driven from someone else's page in the customer's browser.
Nothing is written unless the link is genuine, unexpired, unused and the answer is valid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from teambot.core.customer_loop.ports import (
    COMMENT_MAX_CHARS,
    FeedbackAnswer,
    FeedbackStore,
    FeedbackView,
)
from teambot.core.customer_loop.tokens import TokenExpired, TokenInvalid, read_token
from teambot.core.errors import BadInput
from teambot.core.ports import Clock
from teambot.web.ratelimit import RateLimiter

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

_HEADERS = {
    # The token is in the URL: keep it out of caches, other sites' Referer headers and frames.
    # "same-origin", not "no-referrer": under no-referrer browsers post `Origin: null`, which a
    # hostile page can send too, so our own form could not be told apart from theirs.
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}

SCORES = (
    ("1", "Very poor"),
    ("2", "Poor"),
    ("3", "Okay"),
    ("4", "Good"),
    ("5", "Excellent"),
)


def _remote(request: web.Request) -> str:
    return request.remote or "unknown"


class FeedbackPages:
    """The two handlers and their shared checks; build it through feedback_routes()."""

    def __init__(
        self,
        store: FeedbackStore,
        secret: bytes,
        clock: Clock,
        *,
        ip_limiter: RateLimiter | None = None,
        token_limiter: RateLimiter | None = None,
        client_ip: Callable[[web.Request], str] = _remote,
        public_origin: str | None = None,
    ) -> None:
        self.store = store
        self.secret = secret
        self.clock = clock
        self.ip_limiter = ip_limiter or RateLimiter(10, 60.0)
        self.token_limiter = token_limiter or RateLimiter(5, 60.0)
        self.client_ip = client_ip
        self.public_origin = public_origin.rstrip("/") if public_origin else None

    # -- pages ---------------------------------------------------------------------------

    def _page(self, template: str, status: int = 200, **context: Any) -> web.Response:
        html = _env.get_template(template).render(**context)
        resp = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
        resp.headers.update(_HEADERS)
        return resp

    def _message(self, kind: str, status: int, view: FeedbackView | None = None) -> web.Response:
        resp = self._page(
            "feedback_message.html",
            status,
            kind=kind,
            team_name=view.team_name if view else "",
            first_name=view.first_name if view else "",
        )
        if status == 429:
            resp.headers["Retry-After"] = "60"
        return resp

    def _form(
        self, view: FeedbackView, status: int = 200, values: Mapping[str, str] | None = None,
        error: BadInput | None = None,
    ) -> web.Response:
        return self._page(
            "feedback_form.html",
            status,
            first_name=view.first_name,
            team_name=view.team_name,
            values=dict(values or {}),
            error=error,
            scores=SCORES,
            comment_max=COMMENT_MAX_CHARS,
        )

    # -- checks --------------------------------------------------------------------------

    async def _open_view(self, token: str) -> tuple[str, FeedbackView] | web.Response:
        """The token_id and view of a usable link, or the kind page that explains why not."""
        try:
            token_id = read_token(self.secret, token, self.clock.now())
        except TokenInvalid:
            return self._message("not_found", 404)
        except TokenExpired:
            return self._message("expired", 410)
        view = await self.store.lookup(token_id)
        if view is None:
            return self._message("not_found", 404)
        if view.state == "used":
            return self._message("used", 410, view)
        if view.state == "expired":
            return self._message("expired", 410, view)
        return token_id, view

    def _origin_ok(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # older browsers and non-browser clients; the link is the capability
        if origin == "null":
            return False  # sandboxed frames and no-referrer pages; never our own form
        if self.public_origin is not None:
            return origin.rstrip("/") == self.public_origin
        # Behind a TLS-terminating proxy the scheme differs; the host must still be ours.
        return urlsplit(origin).netloc.lower() == request.host.lower()

    # -- handlers ------------------------------------------------------------------------

    async def show(self, request: web.Request) -> web.Response:
        checked = await self._open_view(request.match_info["token"])
        if isinstance(checked, web.Response):
            return checked
        return self._form(checked[1])

    async def submit(self, request: web.Request) -> web.Response:
        if not self.ip_limiter.allow(self.client_ip(request)):
            return self._message("slow_down", 429)
        if not self._origin_ok(request):
            return self._message("wrong_origin", 403)
        token = request.match_info["token"]
        checked = await self._open_view(token)
        if isinstance(checked, web.Response):
            return checked
        token_id, view = checked
        if not self.token_limiter.allow(token_id):
            return self._message("slow_down", 429, view)
        form = await request.post()
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        try:
            answer = FeedbackAnswer.from_form(values)
        except BadInput as error:
            return self._form(view, 400, values, error)
        if not await self.store.answer(token_id, answer, self.clock.now()):
            # Answered (or closed) between our look and our write: say so, write nothing more.
            latest = await self.store.lookup(token_id)
            expired = latest is not None and latest.state == "expired"
            return self._message("expired" if expired else "used", 410, latest or view)
        return self._page(
            "feedback_thanks.html",
            first_name=view.first_name,
            team_name=view.team_name,
            satisfied=answer.satisfied,
        )


def feedback_routes(
    store: FeedbackStore,
    secret: bytes,
    clock: Clock,
    *,
    ip_limiter: RateLimiter | None = None,
    token_limiter: RateLimiter | None = None,
    client_ip: Callable[[web.Request], str] = _remote,
    public_origin: str | None = None,
) -> list[web.RouteDef]:
    """GET and POST /feedback/{token}. POSTs: 10/minute per client IP, 5/minute per link by default.

    `client_ip` decides who a client is (behind a proxy, read your trusted forwarding header
    there); `public_origin` (e.g. "https://teambot.example.com") makes the Origin check exact.
    """
    pages = FeedbackPages(
        store,
        secret,
        clock,
        ip_limiter=ip_limiter,
        token_limiter=token_limiter,
        client_ip=client_ip,
        public_origin=public_origin,
    )
    return [
        web.get("/feedback/{token}", pages.show),
        web.post("/feedback/{token}", pages.submit),
    ]


def add_feedback_routes(app: web.Application, store: FeedbackStore, secret: bytes, clock: Clock, **options: Any) -> None:
    """Mount the feedback page on an existing aiohttp app (see feedback_routes for options)."""
    app.add_routes(feedback_routes(store, secret, clock, **options))
