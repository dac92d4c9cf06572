"""A real, in-memory FeedbackStore (single use enforced under a lock) and a clock we can move."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from teambot.core.customer_loop.ports import FeedbackAnswer, FeedbackView


class MovableClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


@dataclass
class _Row:
    first_name: str
    team_name: str
    closed: bool = False
    language: str | None = None
    answer: FeedbackAnswer | None = None
    answered_at: datetime | None = None


@dataclass
class MemoryFeedbackStore:
    rows: dict[str, _Row] = field(default_factory=dict)
    writes: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def add(
        self, token_id: str, first_name: str, team_name: str, *, closed: bool = False, language: str | None = None
    ) -> None:
        self.rows[token_id] = _Row(first_name, team_name, closed, language)

    def answered(self, token_id: str) -> FeedbackAnswer | None:
        return self.rows[token_id].answer

    async def lookup(self, token_id: str) -> FeedbackView | None:
        row = self.rows.get(token_id)
        if row is None:
            return None
        state = "used" if row.answer else "expired" if row.closed else "open"
        return FeedbackView(row.first_name, row.team_name, state, language=row.language)

    async def answer(self, token_id: str, answer: FeedbackAnswer, now: datetime) -> bool:
        async with self._lock:
            row = self.rows.get(token_id)
            if row is None or row.answer is not None or row.closed:
                return False
            row.answer, row.answered_at = answer, now
            self.writes += 1
            return True
