"""One aiohttp server for every platform: /slack/*, /api/messages, /feedback/* and /healthz."""

from __future__ import annotations

import logging

from aiohttp import web

from teambot.bootstrap import Container

log = logging.getLogger(__name__)
CONTAINER: web.AppKey[Container] = web.AppKey("container", Container)


async def healthz(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    try:
        async with container.db.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
    except Exception:
        log.exception("health check: database unreachable")
        return web.json_response({"status": "error", "database": "unreachable"}, status=503)
    s = container.settings
    return web.json_response(
        {"status": "ok", "database": "ok", "slack": s.slack_configured, "teams": s.teams_configured}
    )


def create_app(container: Container) -> web.Application:
    """Mount each configured platform; an unconfigured one simply has no routes."""
    app = web.Application(client_max_size=1024**2)
    app[CONTAINER] = container
    app.router.add_get("/healthz", healthz)
    from teambot.web.ops import attach as attach_ops

    attach_ops(app, container)  # /readyz, /metrics (METRICS_PORT or METRICS_TOKEN), request counts
    # The customer's one-click feedback page: always served, the shell included.
    from teambot.web.feedback import add_feedback_routes

    add_feedback_routes(
        app, container.feedback_store, container.feedback_secret, container.clock,
        public_origin=container.settings.public_url_setting,
    )  # fmt: skip
    # The HTTP API (/api/v1): always served, the shell included, so `make run` answers curl.
    from teambot.api.routes import attach as attach_api

    attach_api(app, container)
    if container.settings.slack_configured:
        from teambot.slack.http import attach as attach_slack

        attach_slack(app, container)
    if container.settings.teams_configured:
        from teambot.teams.http import attach as attach_teams

        attach_teams(app, container)

    async def start_intake(_: web.Application) -> None:
        container.intake.start()  # takes over rows a dead or stopped process left

    async def pause_intake(_: web.Application) -> None:
        container.intake.pause()  # shutting down: take over nothing more

    async def stop_intake(_: web.Application) -> None:
        # After the platforms drained their own work (on_cleanup runs in order): what is still
        # running gets a moment, then every row this process holds is handed back.
        handed = await container.intake.stop(grace=1.5)
        if handed:
            log.warning("handed %s unfinished intake rows back for the next process", handed)

    app.on_startup.append(start_intake)
    app.on_shutdown.append(pause_intake)
    app.on_cleanup.append(stop_intake)
    return app


async def serve(container: Container) -> web.AppRunner:
    app = create_app(container)
    # On SIGTERM the listening socket closes first; requests in flight get a few seconds.
    runner = web.AppRunner(app, shutdown_timeout=3.0)
    await runner.setup()
    site = web.TCPSite(runner, container.settings.host, container.settings.port)
    await site.start()
    log.info("listening on %s:%s", container.settings.host, container.settings.port)
    return runner
