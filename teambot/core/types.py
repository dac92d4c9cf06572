"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Integer
from sqlalchemy import Enum as SAEnum
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, returns aware UTC datetimes; SQLite would otherwise drop the zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

def enum_column(enum: type[StrEnum]) -> Any:
    """Stored as a plain string of the value, so new states need no database enum type change."""
    return SAEnum(enum, native_enum=False, create_constraint=False, length=16,
                  values_callable=lambda e: [m.value for m in e])  # fmt: skip


def version_column() -> Column[int]:
    """A fresh column per table, handed to SQLAlchemy as the optimistic-lock counter."""
    return Column("version", Integer, nullable=False, default=1)


def json_column(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))
