"""The improvement loop's tables: a team's causes (its vocabulary of why things go wrong) and
the improvement actions that change something, followed to done."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from teambot.core.types import UTCDateTime, enum_column


class Cause(SQLModel, table=True):
    """One of a team's causes; a case's root cause keeps its owner's words and points here."""

    __tablename__ = "causes"
    __table_args__ = (UniqueConstraint("team_id", "key", name="uq_causes_team_key"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=128)
    name: str = Field(max_length=80)
    key: str = Field(max_length=80)  # lower-cased, spaces collapsed: what lookups compare
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ActionStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class ImprovementAction(SQLModel, table=True):
    """A change to the process someone owns until it is done (or dropped, with a reason)."""

    __tablename__ = "improvement_actions"
    __table_args__ = (
        UniqueConstraint("team_id", "number", name="uq_actions_team_number"),
        Index("ix_actions_team_status", "team_id", "status"),
        Index("ix_actions_owner_status", "owner_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=128)
    number: int  # per team, what people type: /recover action done 3
    case_id: int = Field(foreign_key="cases.id")
    cause_id: int | None = Field(default=None, foreign_key="causes.id")
    text: str
    owner_id: str = Field(max_length=128)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: ActionStatus = Field(default=ActionStatus.OPEN, sa_type=enum_column(ActionStatus))
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # done or dropped
    closed_by: str | None = Field(default=None, max_length=128)
    outcome: str | None = None  # what changed (done) or why not (dropped)
