"""A small in-memory token bucket per key (client IP, feedback token).

Enough for one process answering a handful of customers; several workers each keep their
own buckets, which only makes the limit a little looser, never stricter.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    """Allows `capacity` hits at once per key, refilled evenly over `per_seconds`."""

    def __init__(
        self,
        capacity: int,
        per_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.capacity = float(capacity)
        self.rate = capacity / per_seconds
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)

    def allow(self, key: str) -> bool:
        """Take one token for `key`; False when the bucket is empty (answer 429)."""
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if len(self._buckets) >= self.max_keys and key not in self._buckets:
            self._prune(now)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        return True

    def retry_after(self, key: str) -> float:
        """Seconds until `key` may make its next request (0 when it may now)."""
        tokens, last = self._buckets.get(key, (self.capacity, self.clock()))
        tokens = min(self.capacity, tokens + (self.clock() - last) * self.rate)
        return max(0.0, (1.0 - tokens) / self.rate)

    def _prune(self, now: float) -> None:
        """Forget keys whose bucket has refilled (they are as good as new); bounds memory."""
        full = [k for k, (t, last) in self._buckets.items() if t + (now - last) * self.rate >= self.capacity]
        for k in full:
            del self._buckets[k]
        if len(self._buckets) >= self.max_keys:  # a flood of distinct keys: drop the oldest half
            for k in sorted(self._buckets, key=lambda k: self._buckets[k][1])[: self.max_keys // 2]:
                del self._buckets[k]
