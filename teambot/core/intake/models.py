"""One table for the transactional inbox (requests acknowledged to a chat platform) and the card
outbox (a case card to post or bring up to date).

A row is written *before* the platform gets its 200, so a crash after the ack loses nothing:
any live process (web or `teambot worker`) takes over a row whose lease ran out. `key` is unique,
so a redelivery of the same request finds its row instead of adding work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Integer
from sqlmodel import Field, SQLModel

from teambot.core.types import UTCDateTime, json_column

PENDING, DONE, FAILED = "pending", "done", "failed"


class IntakeItem(SQLModel, table=True):
    """One acknowledged request (`kind` = platform) or one card to keep in sync (`kind` = card:<platform>).

    `applied` is set inside the core transaction that changed a case for this request (through
    CaseEvents), so a row taken over after a crash never repeats a step whose change is already
    committed. `generation` is bumped each time a card row is re-armed: a worker finishing an older
    generation leaves the row pending for the newer change.
    """

    __tablename__ = "intake"
    __table_args__ = (Index("ix_intake_status_lease", "status", "lease_until"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, unique=True)
    kind: str = Field(max_length=32)
    team_id: str = Field(max_length=128)
    payload: dict[str, Any] = json_column(dict)
    status: str = Field(default=PENDING, max_length=16)
    attempts: int = 0
    applied: bool = False
    case_id: int | None = None
    generation: int = Field(default=1, sa_column=Column("generation", Integer, nullable=False, default=1))
    lease_owner: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
