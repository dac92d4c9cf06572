"""Due times people type ("tomorrow 10:00", "in 2h", "fri eod") turned into aware UTC datetimes.

Everything is read in the person's own time zone (an IANA name such as "Europe/Paris").

* A day: "today", "tomorrow", a weekday ("fri", "friday", "next friday"), or an ISO date
  ("2026-12-04"). A weekday is always the next one after today, never today itself, and
  "next friday" means the same as "friday": the coming one.
* A time, after the day or before it, with an optional "at": "10:00", "10am", "3:30pm", "noon",
  "midnight" (the end of that day) or "eod" / "end of day" (17:00, the end of the working day).
* A day without a time means 17:00 that day, like "eod".
* A time without a day means the next time the clock shows it: "08:00" at 09:00 is tomorrow.
* "in 2h", "in 30 min": that long from now; "in 3 days", "in 2 weeks": the same clock time then.

A time already past ("today 09:00" at 15:00, "2020-01-01") is refused: a step due yesterday is a
typo, not a plan.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from teambot.core.errors import BadInput

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SHORT = {
    "mon": 0,
    "tue": 1,
    "tues": 1,
    "wed": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}
_UNITS = {"m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1, "h": 60, "hr": 60, "hrs": 60,
          "hour": 60, "hours": 60, "d": 1440, "day": 1440, "days": 1440,
          "w": 10080, "wk": 10080, "wks": 10080, "week": 10080, "weeks": 10080}  # fmt: skip
EOD = time(17, 0)  # "eod", and the time of a day given without one: the end of the working day
_DEFAULT_TIME = EOD
_NAMED = {"noon": time(12, 0), "midday": time(12, 0), "eod": EOD}

_NEXT_YEAR = datetime.now(UTC).year + 1  # keeps the ISO examples in the future
DUE_EXAMPLES = (
    "in 2h",
    "in 3 days",
    "tomorrow at 10:00",
    "tomorrow 10am",
    "fri 9:00",
    "friday at 3pm",
    "next friday",
    "eod",
    "noon",
    f"{_NEXT_YEAR}-12-04",
    f"{_NEXT_YEAR}-12-04 14:30",
)
HINT = "Try " + ", ".join(f"'{e}'" for e in DUE_EXAMPLES) + "."


def _parse_time(text: str) -> tuple[time, int] | None:
    """A clock time and how many days after the named day it falls (1 only for midnight)."""
    text = text.strip()
    if text == "midnight":
        return time(0, 0), 1
    if text in _NAMED:
        return _NAMED[text], 0
    m = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?", text)
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if m.group(3) and not 1 <= hour <= 12:
        return None
    if m.group(3) == "pm" and hour < 12:
        hour += 12
    if m.group(3) == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or (m.group(2) is None and m.group(3) is None):
        return None  # a bare "10" could be a time, a date or a count: not guessed
    return time(hour, minute), 0


def _weekday(word: str) -> int | None:
    return _WEEKDAYS.index(word) if word in _WEEKDAYS else _SHORT.get(word)


def _day(words: list[str], today: date) -> date | None:
    """The day named by all of `words`, or None when they do not name one."""
    if len(words) == 2 and words[0] == "next":
        words = words[1:]
    if len(words) != 1:
        return None
    word = words[0]
    if word == "today":
        return today
    if word in ("tomorrow", "tmrw"):
        return today + timedelta(days=1)
    if (wd := _weekday(word)) is not None:
        return today + timedelta(days=(wd - today.weekday()) % 7 or 7)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
        try:
            return date.fromisoformat(word)
        except ValueError:
            return None
    return None


def _read(raw: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    local_now = now.astimezone(zone)
    m = re.fullmatch(r"in (\d{1,4}|an?) ?([a-z]+)", raw)
    if m:
        if m.group(2) not in _UNITS:
            return None
        minutes = (1 if m.group(1) in ("a", "an") else int(m.group(1))) * _UNITS[m.group(2)]
        if _UNITS[m.group(2)] >= 1440:  # days and weeks keep the clock time, across a DST change too
            return (local_now + timedelta(minutes=minutes)).astimezone(UTC)
        return now + timedelta(minutes=minutes)

    raw = re.sub(r"end of (the )?day", "eod", raw)
    raw = re.sub(r"^(\d{4}-\d{2}-\d{2})t(?=\d)", r"\1 ", raw)
    words = [w for w in raw.split() if w not in ("at", "by", "on")]
    if not words:
        return None
    day, rest = None, words
    for cut in (2, 1):  # the day first ("fri 9:00", "next fri 9:00"), or last ("10am tomorrow")
        if (day := _day(words[:cut], local_now.date())) is not None:
            rest = words[cut:]
            break
        if len(words) > cut and (day := _day(words[-cut:], local_now.date())) is not None:
            rest = words[:-cut]
            break
    if not rest:
        return None if day is None else datetime.combine(day, _DEFAULT_TIME, zone).astimezone(UTC)
    parsed = _parse_time(" ".join(rest))
    if parsed is None:
        return None
    at, days_after = parsed
    if day is None:  # a time alone: the next time the clock shows it
        day = local_now.date()
        if datetime.combine(day + timedelta(days=days_after), at, zone) <= local_now:
            day += timedelta(days=1)
    return datetime.combine(day + timedelta(days=days_after), at, zone).astimezone(UTC)


def parse_due(text: str, now: datetime, tz: str = "UTC") -> datetime:
    """Read a due time in the person's zone; refuse what is unreadable or already past."""
    raw = " ".join(text.strip().lower().split())
    try:
        result = _read(raw, now, ZoneInfo(tz))
    except OverflowError:
        result = None
    if result is None:
        raise BadInput(f"I can't read {text!r} as a due time.", HINT, field="due")
    if result <= now:
        raise BadInput(f"{text!r} is already in the past.", "Give a time still to come. " + HINT, field="due")
    return result
