"""What the stress scripts share: a database of their own, the real server on a real port, figures."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.engine import make_url

from teambot.bootstrap import Container, build
from teambot.config import load_settings
from teambot.core.migrate import upgrade
from teambot.server import create_app
from teambot.slack.http import RUNTIME
from teambot.slack.runtime import SlackRuntime
from tests.slack.conftest import SECRET
from tests.slack.fake_slack import FakeSlack


async def database_url(choice: str) -> str:
    """`sqlite` (a fresh temporary file), `postgres` (TEST_DATABASE_URL's server, a database named
    `<its name>_stress`, created when missing, so the test suite's own database is never touched),
    or a full URL."""
    if choice == "sqlite":
        return f"sqlite:///{tempfile.mkdtemp(prefix='teambot-stress-')}/stress.db"
    if choice == "postgres":
        base = make_url(os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"))
        url = base.set(database=f"{base.database}_stress")
        await _ensure_pg_database(url.render_as_string(hide_password=False))
        return url.render_as_string(hide_password=False)
    return choice


async def _ensure_pg_database(url: str) -> None:
    import asyncpg

    u = make_url(url)
    admin = u.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", u.database):
            await conn.execute(f'CREATE DATABASE "{u.database}"')
    finally:
        await conn.close()


async def fresh_container(url: str, **settings: Any) -> Container:
    """Migrated to head and emptied: every run starts from nothing."""
    await asyncio.to_thread(upgrade, url)
    container = await build(load_settings(database_url=url, **settings), migrate=False)
    from tests.conftest import _truncate

    await _truncate(container)
    return container


@dataclass
class Served:
    container: Container
    fake: FakeSlack
    rt: SlackRuntime
    url: str


@asynccontextmanager
async def slack_server(db_url: str, fake: FakeSlack | None = None) -> AsyncIterator[Served]:
    """The production aiohttp app (create_app) on 127.0.0.1, Slack's Web API faked locally."""
    fake = fake or FakeSlack()
    await fake.start()
    container = await fresh_container(
        db_url, slack_signing_secret=SECRET, slack_bot_token="xoxb-stress", slack_api_url=f"{fake.url}/api/"
    )
    app = create_app(container)
    rt = app[RUNTIME]
    rt.pacer.interval = 0.0  # the fake has no per-channel limit; pacing is tested on its own
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Served(container, fake, rt, f"http://127.0.0.1:{port}")
    finally:
        await runner.cleanup()
        await container.close()
        await fake.close()


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]
