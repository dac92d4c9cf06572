"""The customer loop's tables: feedback links and the site secret that signs them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from teambot.core.types import UTCDateTime


class FeedbackToken(SQLModel, table=True):
    """One feedback link: its opaque id maps to a case; `used_at` makes it single-use.

    The signed token in the URL carries only `id` and the expiry; answering is one
    conditional UPDATE (`used_at IS NULL AND expires_at > now`), so two clicks, two tabs or
    two servers can never both write.
    """

    __tablename__ = "feedback_tokens"
    __table_args__ = (Index("ix_feedback_tokens_case", "case_id"),)

    id: str = Field(primary_key=True, max_length=64)
    team_id: str = Field(max_length=128)
    case_id: int = Field(foreign_key="cases.id")
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SiteSecret(SQLModel, table=True):
    """Secrets Teambot makes for itself when none is configured (the feedback HMAC key).

    Kept in the database so every web and worker process signs and checks with the same key.
    """

    __tablename__ = "site_secrets"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=256)
    created_at: datetime = Field(sa_type=UTCDateTime)
