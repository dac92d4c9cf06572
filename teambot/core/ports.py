"""The ports the core talks through: a clock, and a notifier that reaches people."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class Attachment:
    """A file to go with a notice (the digest chart): Slack uploads it, Teams shows it inline,
    the shell saves it and prints the path."""

    filename: str
    content: bytes
    mime: str = "image/png"
    title: str = ""


@dataclass
class Notice:
    """Something to tell a person or a channel, platform-neutral.

    `kind` lets an adapter choose a richer rendering (an approval with buttons, a case
    card refresh); `text` is always a complete plain-text fallback.
    """

    kind: str
    text: str
    team_id: str
    case_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class Recipient:
    """A user (direct message) or a channel, on the platform the case lives on."""

    kind: str  # "user" | "channel" | "card" (the case card of Notice.case_id, brought up to date in place)
    id: str
    platform: str = "shell"


class Notifier(Protocol):
    async def notify(self, recipient: Recipient, notice: Notice) -> None: ...


class NullNotifier:
    """For places that want the core without telling anyone."""

    async def notify(self, recipient: Recipient, notice: Notice) -> None:
        return None


class RoutingNotifier:
    """Sends each notice through the adapter of the platform the recipient lives on."""

    def __init__(self, fallback: Notifier | None = None) -> None:
        self.routes: dict[str, Notifier] = {}
        self.fallback: Notifier = fallback or NullNotifier()

    def register(self, platform: str, notifier: Notifier) -> None:
        self.routes[platform] = notifier

    async def notify(self, recipient: Recipient, notice: Notice) -> None:
        await self.routes.get(recipient.platform, self.fallback).notify(recipient, notice)
