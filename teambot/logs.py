"""Logging set-up: stdlib logging, one line per record, no secrets (settings are never logged).

LOG_FORMAT=json renders every record (Teambot's and the libraries') as one JSON object through
structlog, with the request's context (`request_id`, `platform`, `team`) as fields, for log shippers.
The text format shows the same context as a `[request=... platform=... team=...]` tail. At INFO and
above Teambot logs no customer names, emails or message text (tests/ops/test_logs.py holds it to that).
"""

from __future__ import annotations

import logging
import sys

import structlog

from teambot.core.logcontext import request_context

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"


class _ContextTail(logging.Filter):
    """Adds the request context to a text line (empty outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = request_context()
        names = {"request_id": "request"}
        record.context = (" [" + " ".join(f"{names.get(k, k)}={v}" for k, v in ctx.items()) + "]") if ctx else ""
        return True


def json_formatter() -> logging.Formatter:
    """Stdlib records as JSON lines: time (UTC, ISO), level, logger, event, the request context, and
    the traceback as text when there is one."""
    pre = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )


def handler_for(fmt: str, stream: object = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    if fmt == "json":
        handler.setFormatter(json_formatter())
    else:
        handler.addFilter(_ContextTail())
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    return handler


def configure(level: str = "INFO", fmt: str = "text") -> None:
    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), handlers=[handler_for(fmt)])
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
