"""How the core reaches a webhook endpoint: a port, so the HTTP client lives in an adapter."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from teambot.core.i18n import gettext as _

TIMEOUT_SECONDS = 5.0
READ_LIMIT = 64 * 1024  # of an endpoint's answer, read at most this much


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""


class WebhookTransport(Protocol):
    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        """POST once: no redirect followed, TIMEOUT_SECONDS in all, READ_LIMIT of the answer read.
        Raises on a network failure or a timeout."""
        ...


class NoTransport:
    """For processes built without an adapter: every delivery fails and is retried later."""

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        raise ConnectionError(_("no webhook transport in this process"))
