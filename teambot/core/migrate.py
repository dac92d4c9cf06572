"""Schema upgrades through Alembic, callable from the CLI and at start-up."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

    from teambot.core.db import Database

# The newest revision in migrations/versions (tests/migrations/test_head.py holds it to Alembic's own
# answer). Knowing it here lets a process at head start without importing Alembic at all.
HEAD = "0014_integrations"

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """Alembic's env runs its own event loop, so it goes to a worker thread."""
    await asyncio.to_thread(upgrade, database_url, revision)


async def current_revision(db: Database) -> str | None:
    """The schema's revision, read with one query (None for an empty database)."""
    try:
        async with db.engine.connect() as conn:
            row: Any = (await conn.execute(text("SELECT version_num FROM alembic_version"))).first()
    except DBAPIError:  # no alembic_version table yet
        return None
    return str(row[0]) if row is not None else None
