"""The shout-out table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from teambot.core.types import UTCDateTime


class Shoutout(SQLModel, table=True):
    """Recognition from a teammate, optionally for a case."""

    __tablename__ = "shoutouts"
    __table_args__ = (
        Index("ix_shoutouts_team_at", "team_id", "at"),
        Index("ix_shoutouts_giver_at", "team_id", "giver", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=128)
    giver: str = Field(max_length=128)
    recipient: str = Field(max_length=128)
    case_id: int | None = Field(default=None, foreign_key="cases.id")
    message: str = Field(max_length=500)
    channel_id: str | None = Field(default=None, max_length=128)
    at: datetime = Field(sa_type=UTCDateTime)
