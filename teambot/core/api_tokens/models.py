"""The API token table: only a SHA-256 of each token is kept, so a database dump lets nobody in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from teambot.core.types import UTCDateTime

READ, WRITE = "read", "write"


class ApiToken(SQLModel, table=True):
    """One bearer token of one team. A revoked token keeps its row (who had access, and when)."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_team", "team_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=128)
    name: str = Field(max_length=64)
    scope: str = Field(default=READ, max_length=8)
    token_hash: str = Field(max_length=64, unique=True)  # hex SHA-256 of the whole token
    prefix: str = Field(max_length=16)  # the first characters, so a person can tell tokens apart
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
