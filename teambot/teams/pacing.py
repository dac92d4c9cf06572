"""Stay inside Teams' send limits: ~7 sends a second per conversation, retries on throttling.

Teams answers 429 (throttled), 412 (precondition, transient) and 502/504 when it is busy;
Microsoft's guidance is to retry those with exponential back-off. Everything else is final.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRYABLE = {412, 429, 502, 504}


def status_of(exc: BaseException) -> int | None:
    """The HTTP status inside a botframework connector error, if there is one."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    return int(status) if isinstance(status, int) else None


def retry_after(exc: BaseException) -> float | None:
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    try:
        value = headers.get("Retry-After")
        return None if value is None else max(0.0, float(value))
    except (TypeError, ValueError):
        return None


class Pacer:
    def __init__(self, per_second: int = 7, tries: int = 4, base_delay: float = 0.5) -> None:
        self.per_second = per_second
        self.tries = tries
        self.base_delay = base_delay
        self._sent: dict[str, deque[float]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def _slot(self, conversation: str) -> None:
        lock = self._locks.setdefault(conversation, asyncio.Lock())
        async with lock:
            sent = self._sent.setdefault(conversation, deque(maxlen=self.per_second))
            if len(sent) == self.per_second:
                wait = 1.0 - (time.monotonic() - sent[0])
                if wait > 0:
                    await asyncio.sleep(wait)
            sent.append(time.monotonic())

    async def send(self, conversation: str, call: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(1, self.tries + 1):
            await self._slot(conversation)
            try:
                return await call()
            except Exception as exc:
                status = status_of(exc)
                if status not in RETRYABLE or attempt == self.tries:
                    raise
                delay = retry_after(exc)
                delay = self.base_delay * 2 ** (attempt - 1) if delay is None else delay
                log.warning("Teams answered %s; retrying in %.2fs (try %d)", status, delay, attempt + 1)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")
