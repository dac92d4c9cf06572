"""A team's webhook endpoints and the log of every delivery attempt.

The deliveries themselves are due items (`kind = "webhook"`): written in the transaction of the
change they report, claimed under a lease by any live process, retried with back-off.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from teambot.core.types import UTCDateTime, json_column

ACTIVE, DISABLED = "active", "disabled"


class Webhook(SQLModel, table=True):
    """An endpoint; `secret` is the whsec_ signing secret, sealed with the SecretBox."""

    __tablename__ = "webhooks"
    __table_args__ = (Index("ix_webhooks_team", "team_id"), Index("ix_webhooks_status", "status"))

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=128)
    url: str = Field(max_length=2000)
    events: list[str] = json_column(list)  # the event types it receives
    secret: str = Field(max_length=500)
    status: str = Field(default=ACTIVE, max_length=16)
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)  # the first failure after a success
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)


class WebhookAttempt(SQLModel, table=True):
    """One POST to one endpoint: what `/recover webhook log` shows."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_hook_at", "webhook_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int
    event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=40)
    case_id: int | None = None
    at: datetime = Field(sa_type=UTCDateTime)
    ok: bool = False
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=300)
    duration_ms: int = 0
