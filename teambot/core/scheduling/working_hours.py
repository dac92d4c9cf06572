"""Working hours: when a deadline falls, counted in the team's (or a person's) working time."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from teambot.core.errors import BadInput
from teambot.core.i18n import first_supported, ngettext
from teambot.core.i18n import gettext as _
from teambot.core.policy.models import Policy

# ----- working hours ----------------------------------------------------------------------


def _hm(text: str) -> time:
    hh, mm = (int(x) for x in text.split(":"))
    return time(hh, mm)


def zone_of(policy: Policy, user: str | None) -> ZoneInfo:
    name = (policy.timezones or {}).get(user or "") or policy.digest_timezone or "UTC"
    return ZoneInfo(name)


def person_language(policy: Policy, user: str | None) -> str:
    """The language a message to `user` is written in: their own choice
    (`/recover policy my language`), else the team's."""
    return first_supported((policy.languages or {}).get(user or ""), policy.language)


def duration(delta: timedelta) -> str:
    """How long, as a nudge says it: `under a minute`, `45 min`, `3 h 20 min`, `3 days`."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return _("under a minute")
    if minutes < 60:
        return _("%(minutes)s min") % {"minutes": minutes}
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        if rest:
            return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": rest}
        return _("%(hours)s h") % {"hours": hours}
    return ngettext("%(count)s day", "%(count)s days", hours // 24) % {"count": hours // 24}


def _window(day: datetime, policy: Policy, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    if day.weekday() not in (policy.work_days or []):
        return None
    start = datetime.combine(day.date(), _hm(policy.work_start), zone)
    end = datetime.combine(day.date(), _hm(policy.work_end), zone)
    return (start, end) if end > start else None


def next_working_moment(at: datetime, policy: Policy, zone: ZoneInfo) -> datetime:
    """`at` itself inside working hours, else the start of the next working period."""
    local = at.astimezone(zone)
    for _day in range(15):
        win = _window(local, policy, zone)
        if win and local < win[1]:
            return max(local, win[0]).astimezone(UTC)
        local = datetime.combine(local.date() + timedelta(days=1), time(0), zone)
    return at  # no working days configured: never hold a nudge back


def add_working_time(start: datetime, delta: timedelta, policy: Policy, zone: ZoneInfo) -> datetime:
    """`start + delta` counting only working hours (targets set to count working hours)."""
    remaining = delta
    local = start.astimezone(zone)
    for _day in range(800):
        win = _window(local, policy, zone)
        if win and local < win[1]:
            begin = max(local, win[0])
            available = win[1] - begin
            if remaining <= available:
                return (begin + remaining).astimezone(UTC)
            remaining -= available
        local = datetime.combine(local.date() + timedelta(days=1), time(0), zone)
    return start + delta


def target_time(start: datetime, delta: timedelta, policy: Policy) -> datetime:
    if policy.targets_in_working_hours:
        return add_working_time(start, delta, policy, zone_of(policy, None))
    return start + delta


def leads_of(policy: Policy) -> list[str]:
    """Who hears when a case misses its deadline twice: leads and managers, else the admins."""
    leads = [u for u, r in (policy.roles or {}).items() if r in ("lead", "manager")]
    return leads or list(policy.admins)


TOMORROW_WORDS = ("", "tomorrow", "tomorrow morning", "morning")  # what the command accepts (English)
_SNOOZE = re.compile(r"(\d+)\s*(m|min|mins|minutes?|h|hrs?|hours?|d|days?|w|weeks?)")
_SNOOZE_UNITS = {"m": 1, "h": 60, "d": 1440, "w": 10080}


def parse_span(text: str | None) -> timedelta:
    """`1h`, `30m`, `2d`, `1w` (also `for 2h`, `in 2 hours`): how long to wait."""
    raw = (text or "").strip().lower().removeprefix("for ").removeprefix("in ").strip()
    m = _SNOOZE.fullmatch(raw)
    if not m or int(m.group(1)) <= 0:
        raise BadInput(
            _("I can't read %(text)r as a length of time.") % {"text": text}, _("Try 30m, 1h, 2d or 1w.")
        )
    minutes = int(m.group(1)) * _SNOOZE_UNITS[m.group(2)[0]]
    if minutes > 60 * 24 * 30:
        raise BadInput(_("That is longer than 30 days."), _("Give at most 30d, then look again."))
    return timedelta(minutes=minutes)


def snooze_until(text: str | None, now: datetime, policy: Policy, zone: ZoneInfo) -> datetime:
    """`1h`, `2d` ... from now, or (default, `tomorrow`) the start of the owner's next working day."""
    raw = (text or "").strip().lower().removeprefix("for ").strip()
    if raw in TOMORROW_WORDS:
        local = now.astimezone(zone)
        tomorrow = datetime.combine(local.date() + timedelta(days=1), time(0), zone)
        return next_working_moment(tomorrow, policy, zone)
    try:
        return now + parse_span(raw)
    except BadInput as err:
        raise BadInput(
            _("I can't read %(text)r as a snooze.") % {"text": text},
            _("Try /recover snooze <case> for 1h, for 2d, or tomorrow."),
        ) from err
