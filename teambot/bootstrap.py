"""The composition root: the only place that decides which parts plug into which."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from teambot.config import ConfigError, Settings
from teambot.core.cases import RecoveryService
from teambot.core.commands import Commands
from teambot.core.db import Database, is_sqlite
from teambot.core.migrate import alembic_config, upgrade_async
from teambot.core.ports import Clock, RoutingNotifier, SystemClock

log = logging.getLogger(__name__)


@dataclass
class Container:
    settings: Settings
    db: Database
    clock: Clock
    notifier: RoutingNotifier
    service: RecoveryService
    commands: Commands
    extras: dict[str, object] = field(default_factory=dict)

    async def close(self) -> None:
        await self.db.dispose()


async def _check_schema(db: Database, url: str) -> None:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    async with db.engine.connect() as conn:
        current = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
    if current != head:
        raise ConfigError(
            f"The database schema is at {current or 'nothing'}, the code needs {head}. "
            "Run `teambot db upgrade` (the Procfile's release step does it on deploy)."
        )


async def build(settings: Settings, *, clock: Clock | None = None, migrate: bool | None = None) -> Container:
    """SQLite upgrades itself (zero set-up); PostgreSQL must already be at head."""
    url = settings.database_url
    if migrate if migrate is not None else is_sqlite(settings.async_database_url):
        await upgrade_async(url)
    db = Database(url)
    await _check_schema(db, url)
    clk = clock or SystemClock()
    notifier = RoutingNotifier()
    service = RecoveryService(db, clk, notifier)
    container = Container(settings, db, clk, notifier, service, Commands(service))
    from teambot.core.extensions import install as install_scheduling

    install_scheduling(container)  # due items, scheduler, digest, shout-outs (extras + commands)
    return container
