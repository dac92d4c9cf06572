"""The table of what is due.

Everything a worker needs to know lives here, not in a scheduler's memory: a restart or
a second worker reads the same rows and carries on.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Integer
from sqlmodel import Field, SQLModel

from teambot.core.types import UTCDateTime, json_column

PENDING, SENT, CANCELLED, FAILED = "pending", "sent", "cancelled", "failed"
# The kinds a case's own changes schedule (nudges), and those an approval's answer cancels.
CASE_KINDS = ("nudge_unowned", "nudge_resolve", "followup_due", "step_due", "approval_waiting", "approval_escalation")
APPROVAL_KINDS = ("approval_waiting", "approval_escalation")



class DueItem(SQLModel, table=True):
    """One thing to send at a time: a nudge, a digest, a pattern alert.

    `key` is unique, so scheduling the same thing twice (a retried request, two workers
    planning the same digest) leaves one row. A worker claims a row by writing its name
    and a lease expiry, guarded by `version`; whoever's conditional UPDATE matches wins.
    """

    __tablename__ = "due_items"
    __table_args__ = (
        Index("ix_due_items_status_due", "status", "due_at"),
        Index("ix_due_items_case_status", "case_id", "status"),
        Index("ix_due_items_team_kind", "team_id", "kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, unique=True)
    team_id: str = Field(max_length=128)
    kind: str = Field(max_length=32)
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    ref: str | None = Field(default=None, max_length=64)  # step position, approval id, week...
    stage: int = 1  # 1: first nudge; 2: missed twice (escalates once)
    due_at: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=PENDING, max_length=16)
    attempts: int = 0
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    data: dict[str, Any] = json_column(dict)
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=Column("version", Integer, nullable=False, default=1))
