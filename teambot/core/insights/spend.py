"""`/recover spend [week|month|YYYY-MM|<from>..<to>]`: what compensation cost, on demand.

Per currency: the total, within authority vs approved above it, the escalation premium, and
the same split per gesture and per person. Grants on cancelled cases count nowhere.

The escalation premium is the part of approved compensation that lay above the giver's
authority: for each person and case with an approved grant in the period, what they gave
there in the period minus their limit per case (today's policy), at most what was approved.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_interval, format_skeleton
from sqlmodel import col, select

from teambot.core.cases.models import Case, CaseStatus, Grant
from teambot.core.db import Database
from teambot.core.errors import BadInput, NotAllowed
from teambot.core.i18n import babel_locale, format_money, ngettext
from teambot.core.i18n import gettext as _
from teambot.core.money import from_minor, to_minor
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import is_admin, limit_for, role_of

USAGE = "/recover spend [week|month|YYYY-MM|YYYY-MM-DD..YYYY-MM-DD]"
# The words of the command (one grammar, English in every language), not sentences.
WEEK_WORDS = ("week", "this week")
MONTH_WORDS = ("month", "this month")


def currency_of(grant: Any, policy: Policy) -> str:
    """The currency a grant was given in; rows from before grants carried one read as the team's."""
    return getattr(grant, "currency", None) or policy.currency


def may_see_spend(policy: Policy, user: str) -> bool:
    return is_admin(policy, user) or role_of(policy, user) in ("lead", "manager")


def require_spend_reader(policy: Policy, user: str) -> None:
    if not may_see_spend(policy, user):
        raise NotAllowed(
            _("Only leads, managers and admins can see what compensation cost."),
            _("Ask one of them, or an admin can make you a lead: /recover policy role @you lead."),
        )


@dataclass
class Period:
    label: str
    first: date  # inclusive, in the team's time zone
    last: date  # inclusive
    start: datetime  # UTC
    end: datetime  # UTC, exclusive


def _bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(
            _("%(text)r is not a date.") % {"text": text.strip()},
            _("Write dates like 2026-11-01. Usage: %(usage)s") % {"usage": USAGE},
        ) from None


def _dates(first: date, last: date) -> str:
    """`2 Nov 2026`, `1–15 Nov 2026`, `30 Nov – 6 Dec 2026`, in the current language (CLDR's interval)."""
    if first == last:
        return format_skeleton("yMMMd", first, locale=babel_locale())
    return format_interval(first, last, "yMMMd", locale=babel_locale())


def _month(first: date) -> str:
    """`November 2026`, `November 2026`, `novembre 2026`: a month and year as the reader names them."""
    return format_skeleton("yMMMM", first, locale=babel_locale())


def _usage() -> str:
    return _("Usage: %(usage)s") % {"usage": USAGE}


def parse_period(text: str | None, now: datetime, tz: str) -> Period:
    """`week` (this ISO week so far), `month` (this month so far), `2026-11`, `2026-11-01..2026-11-15`."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    word = (text or "month").strip().lower()
    if word in WEEK_WORDS:
        first, last = today - timedelta(days=today.weekday()), today
        label = _("this week (%(dates)s)") % {"dates": _dates(first, last)}
    elif word in MONTH_WORDS:
        first, last = today.replace(day=1), today
        label = _("%(month)s so far (%(dates)s)") % {"month": _month(first), "dates": _dates(first, last)}
    elif re.fullmatch(r"\d{4}-\d{2}", word):
        year, month = int(word[:4]), int(word[5:])
        if not 1 <= month <= 12:
            raise BadInput(_("%(text)r is not a month.") % {"text": text}, _usage())
        first = date(year, month, 1)
        last = date(year, month, calendar.monthrange(year, month)[1])
        label = _month(first)
    elif ".." in word:
        a, b = word.split("..", 1)
        first, last = _day(a), _day(b)
        if last < first:
            raise BadInput(_("The period ends before it starts."), _usage())
        label = _dates(first, last)
    elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
        first = last = _day(word)
        label = _dates(first, last)
    else:
        raise BadInput(_("%(text)r is not a period I know.") % {"text": text}, _usage())
    start, end = _bounds(first, last, zone)
    return Period(label, first, last, start, end)


@dataclass
class Split:
    total_minor: int = 0
    within_minor: int = 0
    approved_minor: int = 0
    grants: int = 0

    def add(self, minor: int, within: bool) -> None:
        self.total_minor += minor
        self.grants += 1
        if within:
            self.within_minor += minor
        else:
            self.approved_minor += minor


@dataclass
class CurrencySpend:
    currency: str
    all: Split = field(default_factory=Split)
    premium_minor: int = 0
    by_gesture: dict[str, Split] = field(default_factory=dict)
    by_person: dict[str, Split] = field(default_factory=dict)
    premium_by_person: dict[str, int] = field(default_factory=dict)


@dataclass
class Spend:
    team_id: str
    period: Period
    currencies: dict[str, CurrencySpend] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.currencies


async def compute_spend(db: Database, policy: Policy, period: Period) -> Spend:
    async with db.session() as s:
        rows = (
            await s.exec(
                select(Grant)
                .join(Case, col(Case.id) == Grant.case_id)
                .where(
                    Grant.team_id == policy.team_id, col(Grant.granted_at) >= period.start,
                    col(Grant.granted_at) < period.end, col(Case.status) != CaseStatus.CANCELLED,
                )
                .order_by(col(Grant.granted_at))
            )
        ).all()  # fmt: skip
    out = Spend(policy.team_id, period)
    per_case: dict[tuple[str, int, str], list[Any]] = {}
    for g in rows:
        cur = currency_of(g, policy)
        spend = out.currencies.setdefault(cur, CurrencySpend(cur))
        spend.all.add(g.amount_minor, g.within_authority)
        spend.by_gesture.setdefault(g.gesture, Split()).add(g.amount_minor, g.within_authority)
        spend.by_person.setdefault(g.granted_by, Split()).add(g.amount_minor, g.within_authority)
        per_case.setdefault((cur, g.case_id, g.granted_by), []).append(g)
    for (cur, _case, person), grants in per_case.items():
        approved = sum(g.amount_minor for g in grants if not g.within_authority)
        if not approved:
            continue
        limit = limit_for(policy, person)
        given = sum(g.amount_minor for g in grants)
        above = approved if limit is None else max(0, given - to_minor(limit, cur))
        premium = min(approved, above)
        spend = out.currencies[cur]
        spend.premium_minor += premium
        spend.premium_by_person[person] = spend.premium_by_person.get(person, 0) + premium
    return out


def spend_text(spend: Spend) -> str:
    """The period's compensation per currency, gesture and person, in the current language."""
    lines = [_("*Compensation, %(period)s*") % {"period": spend.period.label}]
    if spend.empty:
        lines.append(_("No compensation was given in this period."))
        return "\n".join(lines)
    for currency in sorted(spend.currencies):
        lines += _currency_lines(spend.currencies[currency])
    return "\n".join(lines)


def _currency_lines(per: CurrencySpend) -> list[str]:
    def money(minor: int) -> str:
        return format_money(from_minor(minor, per.currency), per.currency)

    def split(part: Split) -> str:
        return ngettext(
            "%(total)s in %(count)s grant (within authority %(within)s, approved %(approved)s)",
            "%(total)s in %(count)s grants (within authority %(within)s, approved %(approved)s)",
            part.grants,
        ) % {
            "total": money(part.total_minor), "count": part.grants,
            "within": money(part.within_minor), "approved": money(part.approved_minor),
        }  # fmt: skip

    lines = [
        _("%(currency)s: %(split)s; escalation premium %(premium)s.")
        % {"currency": per.currency, "split": split(per.all), "premium": money(per.premium_minor)},
        "  " + _("by gesture:"),
    ]
    for name, part in sorted(per.by_gesture.items(), key=lambda kv: (-kv[1].total_minor, kv[0])):
        lines.append(f"    • {name}: {split(part)}")
    lines.append("  " + _("by person:"))
    for person, part in sorted(per.by_person.items(), key=lambda kv: (-kv[1].total_minor, kv[0])):
        premium = per.premium_by_person.get(person, 0)
        if premium:
            said = _("%(split)s; premium %(premium)s") % {"split": split(part), "premium": money(premium)}
        else:
            said = split(part)
        lines.append(f"    • <@{person}>: {said}")
    return lines
