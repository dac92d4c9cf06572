"""Test doubles for the ports only: a clock we can move and a notifier that remembers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from teambot.core.ports import Notice, Recipient


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> datetime:
        self.current += timedelta(**kwargs)
        return self.current


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[Recipient, Notice]] = []

    async def notify(self, recipient: Recipient, notice: Notice) -> None:
        self.sent.append((recipient, notice))

    def to(self, user: str) -> list[Notice]:
        return [n for r, n in self.sent if r.id == user]
