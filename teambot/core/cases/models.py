"""The case tables. Money is stored as integer minor units so SQLite and PostgreSQL agree."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from teambot.core.types import UTCDateTime, enum_column, json_column, version_column


class CaseStatus(StrEnum):
    OPEN = "open"
    OWNED = "owned"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"  # opened by mistake or twice: in the timeline, in no figure


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"
    WITHDRAWN = "withdrawn"  # the requester took it back before anyone answered




class Customer(SQLModel, table=True):
    """A customer remembered per team, so the next case starts with their history."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("team_id", "key", name="uq_customers_team_key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=128)
    key: str = Field(max_length=200)  # normalised name, for lookups
    name: str = Field(max_length=200)
    # Where the written follow-up goes. Shown only to the team, never logged, erased on request.
    email: str | None = Field(default=None, max_length=254)
    notes: list[dict[str, Any]] = json_column(list)  # [{"text", "by", "at"}]
    created_at: datetime = Field(sa_type=UTCDateTime)


class Case(SQLModel, table=True):
    """One customer let down, and everything done to win them back."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("team_id", "number", name="uq_cases_team_number"),
        UniqueConstraint("team_id", "source_ref", name="uq_cases_team_source"),
        Index("ix_cases_team_status", "team_id", "status"),
        Index("ix_cases_team_owner", "team_id", "owner_id"),
        Index("ix_cases_followup_due", "status", "followup_due_at"),
        Index("ix_cases_team_opened", "team_id", "opened_at"),
        Index("ix_cases_team_resolved", "team_id", "resolved_at"),  # root-cause patterns, the digest
        Index("ix_cases_team_closed", "team_id", "closed_at"),  # the digest: open at a week's end
        Index("ix_cases_team_reopened", "team_id", "reopened_count"),  # (migration 0012)
        Index("ix_cases_team_cause", "team_id", "cause_id"),  # causes ranked by cost (0013)
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=128)
    number: int
    platform: str = Field(default="shell", max_length=16)
    channel_id: str = Field(max_length=128)
    source_ref: str | None = Field(default=None, max_length=200)  # dedupes redeliveries
    opened_by: str = Field(max_length=128)
    opened_at: datetime = Field(sa_type=UTCDateTime)
    customer_id: int | None = Field(default=None, foreign_key="customers.id")
    customer_name: str | None = Field(default=None, max_length=200)
    # What the follow-up mail and the feedback page speak; None: the team's (migration 0015).
    customer_language: str | None = Field(default=None, max_length=8)
    problem: str
    wants: str | None = None
    category: str = Field(default="uncategorised", max_length=64)
    severity: str = Field(default="medium", max_length=16)
    status: CaseStatus = Field(default=CaseStatus.OPEN, sa_type=enum_column(CaseStatus))
    owner_id: str | None = Field(default=None, max_length=128)
    owned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    apologised_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    apologised_by: str | None = Field(default=None, max_length=128)
    apology_method: str | None = Field(default=None, max_length=16)
    apology_words: str | None = None
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolution: str | None = None
    root_cause: str | None = Field(default=None, max_length=500)
    cause_id: int | None = Field(default=None, foreign_key="causes.id")  # the team's cause it is filed under
    cause_by: str | None = Field(default=None, max_length=16)  # "meaning" (suggested) or "person"
    followup_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    followup_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    satisfied: bool | None = None
    score: int | None = None
    won_back: bool | None = None
    followup_source: str | None = Field(default=None, max_length=16)  # "staff" or "customer"
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reopened_count: int = 0
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancel_reason: str | None = Field(default=None, max_length=500)
    duplicate_of: int | None = None  # the number of the case that carries on
    card_ref: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    updated_at: datetime = Field(sa_type=UTCDateTime)
    version: int = Field(default=1, sa_column=(_v := version_column()))

    __mapper_args__ = {"version_id_col": _v}
    del _v  # a leftover `_v` would be a pydantic private attribute, deep-copied (metadata and all) per instance


class TimelineEvent(SQLModel, table=True):
    """Append-only: nothing here is ever updated or deleted."""

    __tablename__ = "timeline_events"
    __table_args__ = (
        Index("ix_timeline_case_at", "case_id", "at"),
        Index("ix_timeline_team_at", "team_id", "at"),
        Index("ix_timeline_team_kind_at", "team_id", "kind", "at"),  # the digest, one kind a figure (0012)
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=128)
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    kind: str = Field(max_length=32)
    actor: str = Field(max_length=128)
    at: datetime = Field(sa_type=UTCDateTime)
    data: dict[str, Any] = json_column(dict)


class Grant(SQLModel, table=True):
    """Compensation actually given; `within_authority` False means an approver said yes."""

    __tablename__ = "grants"
    __table_args__ = (
        Index("ix_grants_case", "case_id"),
        Index("ix_grants_team_at", "team_id", "granted_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=128)
    case_id: int = Field(foreign_key="cases.id")
    granted_by: str = Field(max_length=128)
    gesture: str = Field(max_length=120)
    amount_minor: int
    currency: str = Field(max_length=3)
    within_authority: bool = True
    approval_id: int | None = Field(default=None, foreign_key="approval_requests.id")
    granted_at: datetime = Field(sa_type=UTCDateTime)


class ApprovalRequest(SQLModel, table=True):
    """A grant above the asker's authority, waiting for one click from an approver."""

    __tablename__ = "approval_requests"
    __table_args__ = (
        Index("ix_approvals_team_status", "team_id", "status"),
        Index("ix_approvals_case", "case_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=128)
    case_id: int = Field(foreign_key="cases.id")
    requested_by: str = Field(max_length=128)
    gesture: str = Field(max_length=120)
    amount_minor: int
    currency: str = Field(max_length=3)
    note: str | None = None
    status: ApprovalStatus = Field(default=ApprovalStatus.PENDING, sa_type=enum_column(ApprovalStatus))
    requested_at: datetime = Field(sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=128)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decision_note: str | None = None
    version: int = Field(default=1, sa_column=(_v := version_column()))

    __mapper_args__ = {"version_id_col": _v}
    del _v  # a leftover `_v` would be a pydantic private attribute, deep-copied (metadata and all) per instance


class NextStep(SQLModel, table=True):
    """Something agreed with the customer: who does it and by when."""

    __tablename__ = "next_steps"
    __table_args__ = (
        Index("ix_steps_case", "case_id"),
        Index("ix_steps_owner_done", "owner_id", "done"),
        Index("ix_steps_due", "done", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=128)
    case_id: int = Field(foreign_key="cases.id")
    position: int  # 1-based within the case, what people type
    text: str
    owner_id: str = Field(max_length=128)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done: bool = False
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_by: str | None = Field(default=None, max_length=128)
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ImprovementFlag(SQLModel, table=True):
    """Someone thinks the process, not just this customer, needs fixing."""

    __tablename__ = "improvement_flags"
    __table_args__ = (
        Index("ix_flags_case", "case_id"),
        Index("ix_flags_team_at", "team_id", "flagged_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=128)
    case_id: int = Field(foreign_key="cases.id")
    flagged_by: str = Field(max_length=128)
    note: str
    flagged_at: datetime = Field(sa_type=UTCDateTime)
