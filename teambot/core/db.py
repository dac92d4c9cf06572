"""Async engine and sessions; turns the database URLs people paste into async ones."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from sqlalchemy import Table, bindparam, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.sql.elements import TextClause
from sqlmodel.ext.asyncio.session import AsyncSession

READ_ONLY = "teambot_read_only"  # execution option: begin deferred on SQLite
ONE_STATEMENT = "teambot_one_statement"  # execution option: no BEGIN on SQLite (the statement commits itself)
# Set while this task holds the SQLite write turn, so a session opened inside it does not wait on itself.
_WRITING: ContextVar[bool] = ContextVar("teambot_db_writing", default=False)

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
}


@cache
def insert_or_skip(table: Table, conflict: tuple[str, ...]) -> TextClause:
    """`INSERT ... ON CONFLICT (conflict) DO NOTHING RETURNING id` for every column but `id`, values by
    column name. SQLAlchemy never caches the compiled form of the dialects' own insert().on_conflict_*
    (their `inherit_cache = False`), so each one was compiled anew: about 1 ms of CPU on every Teams
    ack. The same SQL as a typed text() is compiled once; PostgreSQL and SQLite (3.35+) both read it."""
    cols = [c for c in table.c if c.name != "id"]
    names = ", ".join(f'"{c.name}"' for c in cols)
    values = ", ".join(f":{c.name}" for c in cols)
    on = ", ".join(f'"{name}"' for name in conflict)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({values}) ON CONFLICT ({on}) DO NOTHING RETURNING "id"'
    return text(sql).bindparams(*(bindparam(c.name, type_=c.type) for c in cols))


@cache
def insert_rows_or_skip(table: Table, conflict: tuple[str, ...], rows: int,
                        returning: tuple[str, ...] = ("id",)) -> TextClause:  # fmt: skip
    """`insert_or_skip` for `rows` rows at once (values `<column>_<row>`), compiled once per row count.
    Callers split a batch into a few fixed sizes, so a burst's multi-row INSERT is never compiled
    anew (it was a fifth of a web process's CPU behind a burst of acks)."""
    cols = [c for c in table.c if c.name != "id"]
    names = ", ".join(f'"{c.name}"' for c in cols)
    values = ", ".join("(" + ", ".join(f":{c.name}_{i}" for c in cols) + ")" for i in range(rows))
    on = ", ".join(f'"{name}"' for name in conflict)
    back = ", ".join(f'"{name}"' for name in returning)
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES {values} ON CONFLICT ({on}) DO NOTHING RETURNING {back}'
    return text(sql).bindparams(*(bindparam(f"{c.name}_{i}", type_=c.type) for i in range(rows) for c in cols))


def normalise_database_url(url: str) -> str:
    """Accept `sqlite:///x`, `postgres://` (as Heroku-style hosts hand it out) and
    `postgresql://`; pick the async driver so no query blocks the event loop."""
    raw = url.strip()
    if not raw:
        raise ValueError("DATABASE_URL is empty; use sqlite:///./teambot.db or postgresql://...")
    try:
        parsed = make_url(raw)
    except ArgumentError:
        raise ValueError(
            f"DATABASE_URL {raw.split('@')[-1]!r} is not a database URL; "
            "use sqlite:///./teambot.db or postgresql://user@host/dbname"
        ) from None
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ValueError(
            f"DATABASE_URL scheme {parsed.drivername!r} is not supported; use sqlite or postgresql"
        )
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def is_transient(exc: BaseException) -> bool:
    """A database that went away for a moment (a cut connection, a failover, a pool that stayed
    full, SQLite's lock held too long): a recorded request is run again rather than reported failed."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError | InterfaceError | PoolTimeout | ConnectionError)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, *, echo: bool = False, pool_size: int | None = None) -> AsyncEngine:
    async_url = normalise_database_url(url)
    if is_sqlite(async_url):
        db_path = make_url(async_url).database
        if db_path and db_path != ":memory:":
            Path(db_path).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: a database error's message never carries a row's values (customer words)
        # into a log line or a traceback.
        engine = create_async_engine(async_url, echo=echo, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # WAL lets readers and the single writer work side by side; FKs are off by default.
            dbapi_conn.isolation_level = None  # let the "begin" hook below issue BEGIN
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            # A writer's BEGIN IMMEDIATE takes the write lock up front, so two writers queue
            # instead of failing with "database is locked" on upgrade; a reader (Database.read)
            # begins deferred and reads its WAL snapshot without waiting for anyone.
            options = conn.get_execution_options()
            if options.get(ONE_STATEMENT, False):
                return  # the connection is in SQLite's autocommit mode: the one statement commits itself
            conn.exec_driver_sql("BEGIN" if options.get(READ_ONLY, False) else "BEGIN IMMEDIATE")

        return engine
    sizing = {"pool_size": pool_size, "max_overflow": pool_size} if pool_size else {}
    return create_async_engine(async_url, echo=echo, pool_pre_ping=True, hide_parameters=True, **sizing)


class Database:
    """Owns the engine and hands out sessions; one per process.

    SQLite has one writer at a time. Writers here wait their turn on an asyncio lock (FIFO,
    no polling) rather than in SQLite's sleeping busy handler, and readers never wait."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int | None = None) -> None:
        self.url = normalise_database_url(url)
        self.engine = create_engine(url, echo=echo, pool_size=pool_size)
        self.sqlite = is_sqlite(self.url)
        self._sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._writer = asyncio.Lock()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session that may write."""
        if not self.sqlite or _WRITING.get():
            async with self._sessions() as session:
                yield session
            return
        async with self._writer:
            token = _WRITING.set(True)
            try:
                async with self._sessions() as session:
                    yield session
            finally:
                _WRITING.reset(token)

    @asynccontextmanager
    async def one_statement(self) -> AsyncIterator[AsyncSession]:
        """A session for ONE write statement that commits itself: no BEGIN and COMMIT round trips around
        it (PostgreSQL's AUTOCOMMIT; on SQLite no BEGIN IMMEDIATE, still in its writer turn). Two
        statements in it would not be atomic: callers with more use `session`."""
        async with self.session() as session:
            if self.sqlite:
                await session.connection(execution_options={ONE_STATEMENT: True})
            else:
                await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session that only reads: on SQLite it begins deferred and takes no write turn."""
        async with self._sessions() as session:
            if self.sqlite:
                await session.connection(execution_options={READ_ONLY: True})
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
