"""Who is who: display names and time zones from `users.info`, cached per workspace.

Every time the bot shows to a person, and every due time a person types, is in their own
zone; a lookup that fails or is slow falls back to the default zone instead of failing a step.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    tz: str
    locale: str | None = None  # their Slack language ("de-DE"), with include_locale


class People:
    """A small TTL cache in front of `users.info` (Tier 4: plenty, but not per request)."""

    def __init__(self, default_tz: str = "UTC", ttl: float = 3600.0, timeout: float = 1.5, size: int = 5000):
        self.default_tz = default_tz
        self.ttl = ttl
        self.timeout = timeout
        self.size = size
        self._cache: dict[tuple[str, str], tuple[float, Person]] = {}

    def _fallback(self, user: str) -> Person:
        return Person(user, user, self.default_tz)

    async def get(self, client: AsyncWebClient, team_id: str, user: str) -> Person:
        key = (team_id, user)
        hit = self._cache.get(key)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        try:
            resp = await asyncio.wait_for(client.users_info(user=user, include_locale=True), self.timeout)
        except (SlackApiError, TimeoutError, OSError) as exc:
            log.warning("users.info failed for %s: %s; using %s", user, type(exc).__name__, self.default_tz)
            return hit[1] if hit else self._fallback(user)
        info = resp.get("user") or {}
        profile = info.get("profile") or {}
        name = (
            profile.get("display_name")
            or profile.get("real_name")
            or info.get("real_name")
            or info.get("name")
            or user
        )
        tz = info.get("tz") or self.default_tz
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            tz = self.default_tz
        locale = info.get("locale") if isinstance(info.get("locale"), str) else None
        person = Person(user, name, tz, locale)
        if len(self._cache) >= self.size:
            self._cache.pop(next(iter(self._cache)))
        self._cache[key] = (time.monotonic() + self.ttl, person)
        return person
