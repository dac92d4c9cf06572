"""Slack allows about one chat.postMessage per second per channel: queue bursts, drop nothing.

Each channel has a next free slot; a caller reserves the slot after the last reservation and
sleeps until it. Reservations are taken in call order, so a burst keeps its order.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Pacer:
    def __init__(
        self,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        size: int = 10000,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self.size = size
        self._next: dict[str, float] = {}

    def reserve(self, key: str) -> float:
        """Seconds to wait before this caller may post to `key`."""
        now = self.clock()
        slot = max(now, self._next.get(key, now))
        self._next[key] = slot + self.interval
        if len(self._next) > self.size:  # forget channels whose slots are long past
            self._next = {k: v for k, v in self._next.items() if v > now}
        return slot - now

    async def wait(self, key: str) -> None:
        delay = self.reserve(key)
        if delay > 0:
            await self.sleep(delay)
