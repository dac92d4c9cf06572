"""Due times people type ("tomorrow 10:00", "in 2h", "friday") turned into aware UTC datetimes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from teambot.core.errors import BadInput

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_UNITS = {"m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1, "h": 60, "hr": 60, "hrs": 60,
          "hour": 60, "hours": 60, "d": 1440, "day": 1440, "days": 1440}  # fmt: skip
_DEFAULT_TIME = time(17, 0)  # a date without a time means "by end of that working day"
HINT = "Try 'in 2h', 'tomorrow 10:00', 'friday', '2026-12-01 09:30' or '16:00'."


def _parse_time(text: str) -> time | None:
    m = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?", text.strip().lower())
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if m.group(3) == "pm" and hour < 12:
        hour += 12
    if m.group(3) == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or (m.group(2) is None and m.group(3) is None):
        return None
    return time(hour, minute)


def parse_due(text: str, now: datetime, tz: str = "UTC") -> datetime:
    """Refuse times in the past: a next step due yesterday is a typo, not a plan."""
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    raw = " ".join(text.strip().lower().split())
    result: datetime | None = None

    m = re.fullmatch(r"in (\d+)\s*([a-z]+)", raw)
    if m and m.group(2) in _UNITS:
        result = now + timedelta(minutes=int(m.group(1)) * _UNITS[m.group(2)])
    else:
        day_word, _, rest = raw.partition(" ")
        at = _parse_time(rest) if rest else _DEFAULT_TIME
        day: date | None = None
        if day_word == "today":
            day = local_now.date()
        elif day_word == "tomorrow":
            day = local_now.date() + timedelta(days=1)
        elif day_word in _WEEKDAYS:
            ahead = (_WEEKDAYS.index(day_word) - local_now.weekday()) % 7 or 7
            day = local_now.date() + timedelta(days=ahead)
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", day_word):
            try:
                day = date.fromisoformat(day_word)
            except ValueError:
                day = None
        elif (only := _parse_time(raw)) is not None:
            day, at = local_now.date(), only
            if datetime.combine(day, only, zone) <= local_now:
                day += timedelta(days=1)
        if day is not None and at is not None:
            result = datetime.combine(day, at, zone).astimezone(UTC)

    if result is None:
        raise BadInput(f"I can't read {text!r} as a due time.", HINT, field="due")
    if result <= now:
        raise BadInput(f"{text!r} is already in the past.", "Give a time still to come. " + HINT, field="due")
    return result
