"""Every database test runs twice: on a SQLite file and on the local PostgreSQL.

The PostgreSQL tier skips only when the server is unreachable AND
TEAMBOT_REQUIRE_POSTGRES is unset; CI sets it, so there it fails loudly instead.
Set TEST_DATABASE_URL to give a run its own PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from teambot.bootstrap import Container, build
from teambot.config import load_settings
from teambot.core.migrate import upgrade
from tests.helpers import FakeClock, RecordingNotifier


def _per_worker_pg_url() -> str:
    """Under pytest-xdist each worker gets its own database (`<name>_gw0`, ...), created when missing,
    and TEST_DATABASE_URL is set to it before any test module reads it (the migration, bench and
    stress tests derive their own databases from it), so workers never drop each other's schema."""
    base = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return base
    from sqlalchemy.engine import make_url

    url = make_url(base)
    mine = url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)

    async def ensure() -> None:
        import asyncpg

        admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        conn = await asyncpg.connect(admin, timeout=3)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", f"{url.database}_{worker}"):
                await conn.execute(f'CREATE DATABASE "{url.database}_{worker}"')
        finally:
            await conn.close()

    try:
        asyncio.run(ensure())
    except Exception:
        return base  # unreachable: the session fixture reports it (or skips) as without xdist
    os.environ["TEST_DATABASE_URL"] = mine
    return mine


PG_URL = _per_worker_pg_url()


def _pg_reachable() -> str | None:
    import asyncpg

    async def probe() -> None:
        conn = await asyncpg.connect(PG_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _reset_pg() -> None:
    """Drop everything so the migrations are tested from nothing, once per run."""
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(PG_URL)
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await conn.close()

    asyncio.run(drop())


@pytest.fixture(scope="session")
def migrated_urls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    sqlite_file = Path(tmp_path_factory.mktemp("db")) / "teambot.db"
    urls = {"sqlite": f"sqlite:///{sqlite_file}"}
    upgrade(urls["sqlite"])
    problem = _pg_reachable()
    if problem is None:
        _reset_pg()
        upgrade(PG_URL)
        urls["postgres"] = PG_URL
    elif os.environ.get("TEAMBOT_REQUIRE_POSTGRES"):
        pytest.exit(f"PostgreSQL is required but unreachable at {PG_URL}: {problem}", returncode=3)
    else:
        urls["postgres_skip"] = problem
    return urls


async def _truncate(container: Container) -> None:
    engine = container.db.engine
    async with engine.begin() as conn:
        ordered = await conn.run_sync(lambda c: inspect(c).get_sorted_table_and_fkc_names())
        names = [n for n, _ in ordered if n and n != "alembic_version"]
        if conn.dialect.name == "postgresql":
            quoted = ", ".join(f'"{n}"' for n in names)
            await conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for n in reversed(names):  # children before parents, so foreign keys hold
                await conn.execute(text(f'DELETE FROM "{n}"'))


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, migrated_urls: dict[str, str]) -> str:
    if request.param not in migrated_urls:
        pytest.skip(f"PostgreSQL unreachable: {migrated_urls.get('postgres_skip')}")
    return migrated_urls[request.param]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
async def container(db_url: str, clock: FakeClock, notifier: RecordingNotifier) -> AsyncIterator[Container]:
    c = await build(load_settings(database_url=db_url), clock=clock, migrate=False)
    await _truncate(c)
    c.notifier.fallback = notifier
    yield c
    await c.close()
