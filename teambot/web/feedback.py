"""The customer's feedback page: a plain HTML form behind a signed link, no JavaScript needed.

GET /feedback/{token} shows the form; POST answers it once. The link is the capability (an
HMAC-signed opaque id), so there is no login and no CSRF token: a cross-site page could
only post for a link its author already holds. A present Origin header must still be ours,
so a stolen link cannot be driven from someone else's page in the customer's browser.
Nothing is written unless the link is genuine, unexpired, unused and the answer is valid.

Every page speaks the customer's language: the one chosen with the page's language switch
(`?lang=de`, kept when the form is posted back to the same address), else the one on the case,
else the browser's Accept-Language, else the team's, else English.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from aiohttp import web
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from teambot.core.customer_loop.ports import (
    COMMENT_MAX_CHARS,
    FeedbackAnswer,
    FeedbackStore,
    FeedbackView,
)
from teambot.core.customer_loop.tokens import TokenExpired, TokenInvalid, read_token
from teambot.core.errors import BadInput
from teambot.core.i18n import (
    LANGUAGES,
    N_,
    babel_locale,
    install_jinja,
    language_name,
    negotiate,
    normalise,
    use_locale,
)
from teambot.core.i18n import gettext as _
from teambot.core.ports import Clock
from teambot.web.ratelimit import RateLimiter

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
install_jinja(_env)

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
    ("1", N_("Very poor")),
    ("2", N_("Poor")),
    ("3", N_("Okay")),
    ("4", N_("Good")),
    ("5", N_("Excellent")),
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

    def _page(self, request: web.Request, template: str, status: int = 200, *,
              view: FeedbackView | None = None, **context: Any) -> web.Response:  # fmt: skip
        lang = page_language(request, view)
        with use_locale(lang):
            html = _env.get_template(template).render(lang=lang, switch=_switch(request), **context)
        resp = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
        resp.headers.update(_HEADERS)
        resp.headers["Content-Language"] = lang
        resp.headers["Vary"] = "Accept-Language"
        return resp

    def _message(
        self, request: web.Request, kind: str, status: int, view: FeedbackView | None = None
    ) -> web.Response:
        resp = self._page(
            request,
            "feedback_message.html",
            status,
            view=view,
            kind=kind,
            team_name=view.team_name if view else "",
            first_name=view.first_name if view else "",
        )
        if status == 429:
            resp.headers["Retry-After"] = "60"
        return resp

    def _form(
        self, request: web.Request, view: FeedbackView, status: int = 200,
        values: Mapping[str, str] | None = None, error: BadInput | None = None,
    ) -> web.Response:  # fmt: skip
        lang = page_language(request, view)
        return self._page(
            request,
            "feedback_form.html",
            status,
            view=view,
            first_name=view.first_name,
            team_name=view.team_name,
            values=dict(values or {}),
            error=error,
            scores=[(value, _score(text, lang)) for value, text in SCORES],
            comment_max=COMMENT_MAX_CHARS,
            comment_max_text=format_decimal(COMMENT_MAX_CHARS, locale=babel_locale(lang)),
        )

    # -- checks --------------------------------------------------------------------------

    async def _open_view(self, request: web.Request) -> tuple[str, FeedbackView] | web.Response:
        """The token_id and view of a usable link, or the kind page that explains why not."""
        try:
            token_id = read_token(self.secret, request.match_info["token"], self.clock.now())
        except TokenInvalid:
            return self._message(request, "not_found", 404)
        except TokenExpired:
            return self._message(request, "expired", 410)
        view = await self.store.lookup(token_id)
        if view is None:
            return self._message(request, "not_found", 404)
        if view.state == "used":
            return self._message(request, "used", 410, view)
        if view.state == "expired":
            return self._message(request, "expired", 410, view)
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
        checked = await self._open_view(request)
        if isinstance(checked, web.Response):
            return checked
        return self._form(request, checked[1])

    async def submit(self, request: web.Request) -> web.Response:
        if not self.ip_limiter.allow(self.client_ip(request)):
            return self._message(request, "slow_down", 429)
        if not self._origin_ok(request):
            return self._message(request, "wrong_origin", 403)
        checked = await self._open_view(request)
        if isinstance(checked, web.Response):
            return checked
        token_id, view = checked
        if not self.token_limiter.allow(token_id):
            return self._message(request, "slow_down", 429, view)
        form = await request.post()
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        try:
            with use_locale(page_language(request, view)):  # the refusal reads in the page's language
                answer = FeedbackAnswer.from_form(values)
        except BadInput as error:
            return self._form(request, view, 400, values, error)
        if not await self.store.answer(token_id, answer, self.clock.now()):
            # Answered (or closed) between our look and our write: say so, write nothing more.
            latest = await self.store.lookup(token_id)
            expired = latest is not None and latest.state == "expired"
            return self._message(request, "expired" if expired else "used", 410, latest or view)
        return self._page(
            request,
            "feedback_thanks.html",
            view=view,
            first_name=view.first_name,
            team_name=view.team_name,
            satisfied=answer.satisfied,
        )


def page_language(request: web.Request, view: FeedbackView | None) -> str:
    """The switch's choice, else the case's language, else Accept-Language, else the team's."""
    chosen = normalise(request.query.get("lang"))
    if chosen is not None:
        return chosen
    if view is not None and normalise(view.language):
        return normalise(view.language) or "en"
    browser = negotiate(request.headers.get("Accept-Language"))
    if browser is not None:
        return browser
    return normalise(view.team_language if view else None) or "en"


def _switch(request: web.Request) -> list[tuple[str, str, str]]:
    """(code, name in its own language, this page's address in it) for the language switch."""
    return [
        (code, language_name(code), f"{request.path}?{urlencode({'lang': code})}") for code in LANGUAGES
    ]


def _score(text: str, lang: str) -> str:
    with use_locale(lang):
        return _(text)


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
