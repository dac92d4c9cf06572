"""Shared bits for the scheduling tests: reach the due-item worker, and a second process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from teambot.bootstrap import Container, build
from teambot.config import load_settings
from teambot.core.policy.rules import load_policy
from teambot.core.ports import Notice, Recipient
from teambot.core.scheduling.deadlines import Deadlines
from teambot.core.scheduling.scheduler import Scheduler
from tests.helpers import FakeClock, RecordingNotifier

T, CH = "T1", "C1"


def deadlines(c: Container) -> Deadlines:
    dl = c.deadlines
    assert isinstance(dl, Deadlines)
    return dl


def scheduler(c: Container) -> Scheduler:
    sc = c.scheduler
    assert isinstance(sc, Scheduler)
    return sc


def kinds(notifier: RecordingNotifier) -> list[str]:
    return [n.kind for _, n in notifier.sent]


def of_kind(notifier: RecordingNotifier, kind: str) -> list[tuple[Recipient, Notice]]:
    return [(r, n) for r, n in notifier.sent if n.kind == kind]


@asynccontextmanager
async def another_process(
    db_url: str, clock: FakeClock
) -> AsyncIterator[tuple[Container, RecordingNotifier]]:
    """A second Container on the same database: its own engine, worker id and notifier."""
    c = await build(load_settings(database_url=db_url), clock=clock, migrate=False)
    rec = RecordingNotifier()
    c.notifier.fallback = rec
    try:
        yield c, rec
    finally:
        await c.close()


class FlakyNotifier(RecordingNotifier):
    """Fails the first `failures` deliveries (to recipients matching `only`), then works."""

    def __init__(self, failures: int = 1, only: str | None = None) -> None:
        super().__init__()
        self.failures = failures
        self.only = only
        self.attempts = 0

    async def notify(self, recipient: Recipient, notice: Notice) -> None:
        self.attempts += 1
        if self.failures > 0 and (self.only is None or recipient.id == self.only):
            self.failures -= 1
            raise ConnectionError("chat API unreachable")
        await super().notify(recipient, notice)


async def configure(c: Container, team: str, first_user: str, **settings: Any) -> None:
    """Set policy fields directly, as a migrated database or an admin would have left them;
    `first_user` becomes the admin if the team is new, as the first real use would make them."""
    async with c.db.session() as s:
        policy = await load_policy(s, team, first_user, c.clock.now())
        for name, value in settings.items():
            setattr(policy, name, value)
        s.add(policy)
        await s.commit()
