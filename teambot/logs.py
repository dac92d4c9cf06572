"""Logging set-up: stdlib logging, one line per record, no secrets (settings are never logged)."""

from __future__ import annotations

import logging


def configure(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    root = logging.getLogger().level
    # Library chatter at INFO (every request line) hides what matters.
    for noisy in ("aiohttp.access", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root))
    # At DEBUG these print SQL parameters and request bodies, i.e. customer words and
    # sometimes tokens; they stay at WARNING / INFO even when Teambot itself is at DEBUG.
    for leaky in ("sqlalchemy.engine", "aiosqlite", "asyncpg"):
        logging.getLogger(leaky).setLevel(max(logging.WARNING, root))
    for chatty in ("slack_bolt", "slack_sdk", "botbuilder", "botframework", "msal", "urllib3"):
        logging.getLogger(chatty).setLevel(max(logging.INFO, root))
