"""The operator's endpoints: `/metrics` (Prometheus) and `/readyz` (may a load balancer send traffic?).

- `/metrics` is served on METRICS_PORT when set (a port the internet never reaches), else on the
  main port only for requests carrying `Authorization: Bearer $METRICS_TOKEN`; with neither set it is
  not served. With both set the token is asked on the metrics port too.
- `/readyz` answers 200 when the database is reachable and at the migration head and, when
  configured, Slack's `auth.test` and a Teams token succeed; those two are asked at most once a
  minute (cached). The JSON body names each part and what failed. `/healthz` stays liveness only.
- A middleware counts every request to the platforms' endpoints by platform, kind and outcome, and
  times its answer (the ack).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_to_bytes

from aiohttp import web
from prometheus_client import generate_latest

from teambot.bootstrap import Container
from teambot.core import observability as obs
from teambot.core.heartbeat import Heartbeat
from teambot.ops import probes

log = logging.getLogger(__name__)
READY_CACHE_SECONDS = 60.0
# The classic text format every Prometheus 2.x and 3.x scrapes (the names are all plain ASCII).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
AiohttpHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SLACK_KINDS = {
    "block_actions": "action", "block_suggestion": "action", "interactive_message": "action",
    "view_submission": "view", "view_closed": "view", "shortcut": "shortcut", "message_action": "shortcut",
    "event_callback": "event", "url_verification": "event",
}  # fmt: skip
TEAMS_KINDS = {"message": "message", "invoke": "invoke"}


# ----- counting requests --------------------------------------------------------------------------


_LEADING_TYPE = re.compile(rb'^\s*\{\s*"type"\s*:\s*"([A-Za-z_]+)"')


def _type_of(doc: bytes) -> str | None:
    """The top-level "type" of a JSON object: read from its first bytes when it comes first (as Slack
    and the Bot Connector send it), else from the whole document. Counting must cost the ack nothing:
    a 6 KB interaction payload took 0.14 ms to parse whole, its first 200 bytes a few microseconds."""
    found = _LEADING_TYPE.match(doc[:200])
    if found:
        return found.group(1).decode()
    kind = json.loads(doc).get("type")
    return kind if isinstance(kind, str) else None


async def request_kind(request: web.Request, platform: str) -> str:
    """The kind of a platform request, from its (already buffered) body; never raises."""
    try:
        raw = await request.read()
        if platform == "teams":
            kind = _type_of(raw)
            return TEAMS_KINDS.get(kind, "event") if kind else "other"
        if request.content_type == "application/json":
            return SLACK_KINDS.get(_type_of(raw) or "", "other")
        for field in raw.split(b"&"):
            key, _, value = field.partition(b"=")
            if key == b"command":
                return "command"
            if key == b"payload":
                # A percent-escape cut in two at the prefix's end only spoils a match the fallback redoes.
                head = unquote_to_bytes(value[:300].replace(b"+", b" "))
                found = _LEADING_TYPE.match(head)
                kind = found.group(1).decode() if found else _type_of(unquote_to_bytes(value.replace(b"+", b" ")))
                return SLACK_KINDS.get(kind or "", "other")
        return "other"
    except Exception:
        return "other"


def outcome_of(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "unauthorized"
    return "rejected" if status < 500 else "error"


def platform_of(path: str) -> str | None:
    if path.startswith("/slack/"):
        return "slack"
    if path == "/api/messages":
        return "teams"
    return None


@web.middleware
async def count_requests(request: web.Request, handler: AiohttpHandler) -> web.StreamResponse:
    platform = platform_of(request.path)
    if platform is None or request.method != "POST":
        return await handler(request)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        obs.count_request(platform, await request_kind(request, platform), outcome_of(status),
                          time.perf_counter() - started)  # fmt: skip


# ----- /metrics ---------------------------------------------------------------------------------


class _Scrape:
    """The scrape-time gauges as a collector prometheus_client can render."""

    def __init__(self, metrics: list[Any]) -> None:
        self.metrics = metrics

    def collect(self) -> list[Any]:
        return self.metrics


async def exposition(container: Container) -> bytes:
    """This process's counters and histograms, then the figures read from the database now."""
    pools = {"main": obs.pool_usage(container.db)}
    if container.intake.db is not container.db:
        pools["intake"] = obs.pool_usage(container.intake.db)
    try:
        backlog = await obs.read_backlog(container.db, container.clock.now(), datetime.now(UTC))
        shared = list(obs.backlog_metrics(backlog, pools))
    except Exception as exc:  # the database is away: the process's own figures still go out
        log.warning("metrics: database figures unavailable (%s)", type(exc).__name__)
        shared = [m for m in obs.backlog_metrics(obs.Backlog({}, 0, 0, 0, 0, 0), pools)
                  if m.name.startswith("teambot_db_pool")]  # fmt: skip
    return generate_latest(obs.REGISTRY) + generate_latest(_Scrape(shared))  # type: ignore[arg-type]


def metrics_handler(container: Container, token: str | None) -> AiohttpHandler:
    async def metrics(request: web.Request) -> web.Response:
        if token is not None:
            given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                return web.Response(status=401, text="send Authorization: Bearer $METRICS_TOKEN\n")
        body = await exposition(container)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    return metrics


# ----- /readyz ----------------------------------------------------------------------------------


class Readiness:
    """The database every time (one small read); Slack and Teams at most once a minute."""

    def __init__(self, container: Container, cache_seconds: float = READY_CACHE_SECONDS) -> None:
        self.container = container
        self.cache_seconds = cache_seconds
        self._outside: tuple[float, list[probes.Check]] | None = None

    async def outside(self) -> list[probes.Check]:
        now = time.monotonic()
        if self._outside is not None and now - self._outside[0] < self.cache_seconds:
            return self._outside[1]
        s = self.container.settings
        checks = [await probes.slack_token(s), await probes.teams_token(s)]
        self._outside = (now, checks)
        return checks

    async def check(self) -> tuple[bool, dict[str, Any]]:
        checks = [await probes.database(self.container.db), *await self.outside()]
        parts = {c.name.split()[0]: ("ok" if c.status == probes.OK else
                                     "skipped" if c.status == probes.SKIP else f"failed: {c.detail}")
                 for c in checks}  # fmt: skip
        failed = [c.name.split()[0] for c in checks if c.status == probes.FAIL]
        return not failed, {"status": "error" if failed else "ok", "failed": failed, **parts}


READINESS: web.AppKey[Readiness] = web.AppKey("readiness", Readiness)


async def readyz(request: web.Request) -> web.Response:
    ready, body = await request.app[READINESS].check()
    return web.json_response(body, status=200 if ready else 503)


# ----- wiring -----------------------------------------------------------------------------------


def metrics_app(container: Container) -> web.Application:
    """The small app on METRICS_PORT: /metrics (and /readyz, for a worker's own probe)."""
    app = web.Application()
    token = container.settings.metrics_token
    app.router.add_get("/metrics", metrics_handler(container, token.get_secret_value() if token else None))
    app[READINESS] = Readiness(container)
    app.router.add_get("/readyz", readyz)
    return app


async def serve_metrics(container: Container) -> web.AppRunner | None:
    """Serve /metrics on METRICS_PORT; None when it is not set."""
    port = container.settings.metrics_port
    if port is None:
        return None
    runner = web.AppRunner(metrics_app(container), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, container.settings.host, port).start()
    log.info("metrics on %s:%s/metrics", container.settings.host, port)
    return runner


def attach(app: web.Application, container: Container) -> None:
    """Called once by server.create_app: the middleware, /readyz, and /metrics where it belongs."""
    app.middlewares.append(count_requests)
    app[READINESS] = Readiness(container)
    app.router.add_get("/readyz", readyz)
    s = container.settings
    if s.metrics_port is None and s.metrics_token is not None:
        app.router.add_get("/metrics", metrics_handler(container, s.metrics_token.get_secret_value()))
    if s.metrics_port is None:
        return
    runners: list[web.AppRunner] = []

    async def start(_: web.Application) -> None:
        runner = await serve_metrics(container)
        if runner is not None:
            runners.append(runner)

    async def stop(_: web.Application) -> None:
        for runner in runners:
            await runner.cleanup()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)


async def start_worker_ops(container: Container) -> Callable[[], Awaitable[None]]:
    """`teambot worker`: its heartbeat (the workers table) and its own /metrics; returns the stop."""
    heartbeat = Heartbeat(container.db, container.intake.worker_id)
    heartbeat.start()
    runner = await serve_metrics(container)

    async def stop() -> None:
        await heartbeat.stop()
        if runner is not None:
            await runner.cleanup()

    return stop
