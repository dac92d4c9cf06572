"""Case changes reach other features one way: a typed event published inside the case's
transaction, so a subscriber's rows (due items, pattern checks) commit or roll back with it.

Subscribers must not flush or commit; they add to or update through `event.session`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.models import Case
from teambot.core.policy.models import Policy


@dataclass(frozen=True)
class CaseChanged:
    session: AsyncSession
    case: Case
    policy: Policy
    kind: str  # the timeline event's kind: opened, claimed, resolved...
    data: dict[str, Any]
    at: datetime


Subscriber = Callable[[CaseChanged], Awaitable[None]]


@dataclass
class CaseEvents:
    """The one channel from the case engine to scheduling, insights and anything added later."""

    subscribers: list[Subscriber] = field(default_factory=list)

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    async def publish(self, event: CaseChanged) -> None:
        for subscriber in self.subscribers:
            await subscriber(event)
