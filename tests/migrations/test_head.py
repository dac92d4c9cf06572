"""`teambot.core.migrate.HEAD` lets a process at head start without importing Alembic; it must name
the revision Alembic itself finds newest, or start-up would refuse a database that is up to date."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from teambot.core.migrate import HEAD, alembic_config


def test_head_is_alembics_newest_revision() -> None:
    assert ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() == HEAD
