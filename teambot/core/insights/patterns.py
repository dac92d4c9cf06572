"""Recurring categories and causes, and repeat customers: trends, not anomalies.

Root causes count by the team's cause they are filed under (differently worded causes meet
there); unfiled ones by their text.

A category or root cause is a pattern when it has at least K cases in the last 7 days, or
is rising against the previous 4 weeks' average; a customer is one when they open a second
case within N days. K, the rise and N are per team (`Policy`). Reads only the last
five weeks of cases, through the (team_id, opened_at) index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.events import CaseChanged
from teambot.core.cases.models import Case, CaseStatus
from teambot.core.i18n import N_, format_number, ngettext, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.improvement.models import Cause
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import read_policy
from teambot.core.ports import Notice, Recipient
from teambot.core.scheduling.deadlines import Deadlines
from teambot.core.scheduling.models import PENDING, DueItem
from teambot.core.scheduling.queue import DueHandler, Outcome, insert_new
from teambot.core.scheduling.subscriber import due_item

WEEK = timedelta(days=7)
IGNORED_CATEGORIES = {"uncategorised", "other"}


@dataclass
class Pattern:
    kind: str  # "category" | "root_cause" | "customer"
    key: str
    label: str
    count: int  # cases in the 7 days
    baseline: float  # cases per week over the 4 weeks before
    reason: str  # "threshold" | "rising" | "repeat"
    cases: list[int] = field(default_factory=list)  # case numbers

    @property
    def trend(self) -> str:
        if self.kind == "customer":
            return "repeat"
        if self.count > self.baseline:
            return "rising"
        return "falling" if self.count < self.baseline else "steady"

    def text(self) -> str:
        """The pattern in a sentence, in the current language."""
        return pattern_text({"kind": self.kind, "label": self.label, "count": self.count,
                             "baseline": self.baseline, "cases": self.cases})  # fmt: skip

    def as_data(self) -> dict[str, Any]:
        """Field by field, not `asdict`: that deep-copies a busy week's thousands of case numbers
        one int at a time."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return {**data, "cases": list(self.cases), "trend": self.trend, "text": self.text()}


def pattern_text(pattern: dict[str, Any]) -> str:
    """A pattern (its data, as the digest and an alert keep it) in a sentence, in the current
    language: rendered when read, so the reader's language applies, not the detector's."""
    count, baseline = int(pattern["count"]), float(pattern["baseline"])
    values = {
        "count": count,
        "label": pattern["label"],
        "cases": ", ".join(f"#{n}" for n in pattern["cases"]),
    }
    if pattern["kind"] == "customer":
        days = int(baseline)
        within = ngettext("%(count)s day", "%(count)s days", days) % {"count": days}
        return ngettext(
            "%(label)s has had %(count)s case within %(within)s (%(cases)s).",
            "%(label)s has had %(count)s cases within %(within)s (%(cases)s).",
            count,
        ) % {**values, "within": within}
    values["base"] = format_number(baseline)
    rising = count > baseline
    if pattern["kind"] == "category":
        if rising:
            return (
                ngettext(
                    "%(count)s case about %(label)s this week, up from %(base)s/week (%(cases)s).",
                    "%(count)s cases about %(label)s this week, up from %(base)s/week (%(cases)s).",
                    count,
                )
                % values
            )
        return (
            ngettext(
                "%(count)s case about %(label)s this week, as usual (%(base)s/week) (%(cases)s).",
                "%(count)s cases about %(label)s this week, as usual (%(base)s/week) (%(cases)s).",
                count,
            )
            % values
        )
    if rising:
        return (
            ngettext(
                "%(count)s case with root cause %(label)s this week, up from %(base)s/week (%(cases)s).",
                "%(count)s cases with root cause %(label)s this week, up from %(base)s/week (%(cases)s).",
                count,
            )
            % values
        )
    return (
        ngettext(
            "%(count)s case with root cause %(label)s this week, as usual (%(base)s/week) (%(cases)s).",
            "%(count)s cases with root cause %(label)s this week, as usual (%(base)s/week) (%(cases)s).",
            count,
        )
        % values
    )


_TRENDS = {"rising": N_("rising"), "falling": N_("falling"), "steady": N_("steady"), "repeat": N_("repeat")}


def trend_word(trend: str) -> str:
    """`rising`, `falling`, `steady`, `repeat` in the current language (the data keeps the English key)."""
    return _(_TRENDS[trend]) if trend in _TRENDS else trend


LIVE = col(Case.status) != CaseStatus.CANCELLED  # a cancelled case is in no pattern


def cause_key(text: str | None) -> str:
    return re.sub(r"[\s.!]+$", "", " ".join((text or "").lower().split()))


def _rising(count: int, baseline: float, sched: Policy) -> bool:
    return count >= 2 and baseline > 0 and count * 100 >= sched.pattern_rise_percent * baseline


def _notable(count: int, before: int, sched: Policy) -> bool:
    """At least K cases this week, or rising against the four weeks before."""
    return bool(count) and (count >= sched.pattern_min_cases or _rising(count, before / 4, sched))


def _judged(
    kind: str, key: str, label: str, count: int, before: int, nums: list[int], sched: Policy
) -> Pattern | None:
    baseline = before / 4
    if count >= sched.pattern_min_cases:
        return Pattern(kind, key, label, count, baseline, "threshold", sorted(nums))
    if _rising(count, baseline, sched):
        return Pattern(kind, key, label, count, baseline, "rising", sorted(nums))
    return None


@dataclass(frozen=True)
class _Span:
    """The team and the weeks a detection reads: this week [start, end), the four before from `base_start`."""

    team_id: str
    start: datetime
    end: datetime
    base_start: datetime


async def detect(s: AsyncSession, team_id: str, end: datetime, sched: Policy) -> list[Pattern]:
    """Patterns over the 7 days before `end`: categories, then root causes, then repeat customers.

    Counting happens in SQL and only the columns needed travel back, so the cost follows the
    five weeks read through the team's indexes, not the size of the history.
    """
    span = _Span(team_id, end - WEEK, end, end - 5 * WEEK)
    return [
        *await _category_patterns(s, span, sched),
        *await _cause_patterns(s, span, sched),
        *await _customer_patterns(s, span, sched),
    ]


async def _category_patterns(s: AsyncSession, span: _Span, sched: Policy) -> list[Pattern]:
    """Categories: counted in SQL, this week against the four before (by opening time)."""
    in_week = case((col(Case.opened_at) >= span.start, 1), else_=0)
    rows = await s.exec(
        select(Case.category, func.sum(in_week), func.count())
        .where(
            Case.team_id == span.team_id, LIVE,
            col(Case.opened_at) >= span.base_start, col(Case.opened_at) < span.end,
            col(Case.category).not_in(IGNORED_CATEGORIES),
        )
        .group_by(Case.category)
    )  # fmt: skip
    hits = [(category, int(now_n or 0), int(all_n)) for category, now_n, all_n in sorted(rows.all())]
    hits = [hit for hit in hits if _notable(hit[1], hit[2] - hit[1], sched)]
    numbers: dict[str, list[int]] = {}
    if hits:  # every pattern's case numbers in one pass over the week, not one query each
        listed = await s.exec(
            select(Case.category, Case.number).where(
                Case.team_id == span.team_id, LIVE, col(Case.category).in_([hit[0] for hit in hits]),
                col(Case.opened_at) >= span.start, col(Case.opened_at) < span.end,
            )
        )  # fmt: skip
        for category, number in listed.all():
            numbers.setdefault(category, []).append(number)
    judged = (
        _judged("category", category, category, now_n, all_n - now_n, numbers.get(category, []), sched)
        for category, now_n, all_n in hits
    )
    return [pattern for pattern in judged if pattern is not None]


async def _cause_patterns(s: AsyncSession, span: _Span, sched: Policy) -> list[Pattern]:
    """Root causes, by resolution time, grouped by the team's cause they are filed under (its name),
    else by their lower-cased text; Python merges the few text groups that differ only in
    spacing or trailing punctuation (cause_key)."""
    text = func.coalesce(func.lower(Cause.name), func.lower(func.trim(Case.root_cause)))
    label = func.min(func.coalesce(Cause.name, Case.root_cause))
    resolved_in = (
        Case.team_id == span.team_id,
        LIVE,
        col(Case.resolved_at) < span.end,
        col(Case.root_cause).is_not(None),
    )
    in_week = case((col(Case.resolved_at) >= span.start, 1), else_=0)
    filed = (Cause, col(Cause.id) == col(Case.cause_id))
    groups = await s.exec(
        select(text, label, func.sum(in_week), func.count())
        .outerjoin(*filed)
        .where(*resolved_in, col(Case.resolved_at) >= span.base_start)
        .group_by(text)
    )
    merged: dict[str, list[Any]] = {}  # key -> [label, now, before, raw texts]
    for raw, name, now_n, all_n in sorted(groups.all(), key=lambda group: str(group[0])):
        key = cause_key(raw)
        if key:
            entry = merged.setdefault(key, [name, 0, 0, []])
            entry[1] += int(now_n or 0)
            entry[2] += int(all_n) - int(now_n or 0)
            entry[3].append(raw)
    causes = [(key, entry) for key, entry in sorted(merged.items()) if _notable(entry[1], entry[2], sched)]
    by_raw = {raw: key for key, entry in causes for raw in entry[3]}
    cause_nums: dict[str, list[int]] = {}
    if causes:
        listed = await s.exec(
            select(text, Case.number).outerjoin(*filed)
            .where(*resolved_in, col(Case.resolved_at) >= span.start, text.in_(list(by_raw)))
        )  # fmt: skip
        for raw, number in listed.all():
            cause_nums.setdefault(by_raw[raw], []).append(number)
    judged = (
        _judged("root_cause", key, name, now_n, before_n, cause_nums.get(key, []), sched)
        for key, (name, now_n, before_n, _raws) in causes
    )
    return [pattern for pattern in judged if pattern is not None]


async def _customer_patterns(s: AsyncSession, span: _Span, sched: Policy) -> list[Pattern]:
    """Repeat customers: someone with a case this week and another within the window before it."""
    window = timedelta(days=sched.repeat_customer_days)
    recent = select(Case.customer_id).where(
        Case.team_id == span.team_id, LIVE, col(Case.customer_id).is_not(None),
        col(Case.opened_at) >= span.start, col(Case.opened_at) < span.end,
    )  # fmt: skip
    in_window = (
        Case.team_id == span.team_id, LIVE,
        col(Case.opened_at) >= span.start - window, col(Case.opened_at) < span.end,
    )  # fmt: skip
    repeaters = (
        await s.exec(
            select(Case.customer_id)
            .where(*in_window, col(Case.customer_id).in_(recent.scalar_subquery()))
            .group_by(Case.customer_id)
            .having(func.count() >= 2)
        )
    ).all()
    if not repeaters:
        return []
    history = (
        await s.exec(
            select(Case.customer_id, Case.opened_at, Case.number, Case.customer_name)
            .where(*in_window, col(Case.customer_id).in_(list(repeaters)))
            .order_by(col(Case.customer_id), col(Case.opened_at))
        )
    ).all()
    by_customer: dict[int, list[Any]] = {}
    for row in history:
        by_customer.setdefault(row[0], []).append(row)
    found = []
    for customer_id, theirs in sorted(by_customer.items()):
        pair = any(
            later[1] >= span.start and 0 < (later[1] - earlier[1]).total_seconds() <= window.total_seconds()
            for i, later in enumerate(theirs)
            for earlier in theirs[:i]
        )
        if pair:
            name = theirs[-1][3] or _("customer %(id)s") % {"id": customer_id}
            numbers = [row[2] for row in theirs]
            found.append(
                Pattern(
                    "customer",
                    str(customer_id),
                    name,
                    len(theirs),
                    sched.repeat_customer_days,
                    "repeat",
                    numbers,
                )
            )
    return found


def _week(at: datetime) -> str:
    year, week, _ = at.isocalendar()
    return f"{year}-W{week:02d}"


async def _pattern_check(dl: Deadlines, item: DueItem) -> Outcome:
    """After a case opens or resolves: find patterns; each new one becomes a due alert."""
    now = dl.clock.now()
    async with dl.db.session() as s:
        sched = await read_policy(s, item.team_id, now)
        found = await detect(s, item.team_id, now + timedelta(microseconds=1), sched)  # now included
        case = await s.get(Case, item.case_id) if item.case_id else None
        created = []
        for pattern in found:
            prefix = f"pattern:{item.team_id}:{pattern.kind}:{pattern.key}:"
            if pattern.kind == "customer":
                key = prefix + str(max(pattern.cases))  # each repeat case is news once
            else:
                recent = (
                    await s.exec(
                        select(DueItem.id).where(
                            col(DueItem.key).startswith(prefix), col(DueItem.created_at) > now - WEEK
                        )
                    )
                ).first()
                if recent is not None:
                    continue  # posted within the week: crossing once is news, staying up is not
                key = prefix + _week(now)
            alert = DueItem(
                key=key, team_id=item.team_id, kind="pattern", case_id=None, ref=pattern.kind, due_at=now,
                created_at=now, data={"pattern": pattern.as_data(), "channel": case.channel_id if case else None,
                                      "platform": case.platform if case else None},
            )  # fmt: skip
            if await insert_new(s, alert):
                created.append(key)
        await s.commit()
    return Outcome(result={"patterns": created})


async def _pattern_alert(dl: Deadlines, item: DueItem) -> Outcome:
    async with dl.db.session() as s:
        policy = await s.get(Policy, item.team_id)
    assert policy is not None
    channel = policy.digest_channel or item.data.get("channel")
    if not channel:
        return Outcome(cancel=True, result={"why": "no digest channel"})
    pattern = item.data["pattern"]
    platform = policy.platform if policy.digest_channel else (item.data.get("platform") or policy.platform)
    with use_locale(policy.language):  # the channel reads the team's language
        text = _("Pattern spotted: %(pattern)s") % {"pattern": pattern_text(pattern)}
        pattern = {**pattern, "text": pattern_text(pattern)}
    notice = Notice(kind="pattern", text=text, team_id=item.team_id, data={"pattern": pattern})
    return Outcome(messages=[(Recipient("channel", channel, platform), notice)])


async def on_case_changed(event: CaseChanged) -> None:
    """Opening or resolving a case may start or end a pattern: check the team soon."""
    if event.kind not in ("opened", "resolved"):
        return
    s, case, now = event.session, event.case, event.at
    base = f"patterns:{case.id}:{event.kind}"
    """One pending pattern check per team covers every change before it runs: a burst of a
    thousand opens costs one check, not a thousand scans each holding SQLite's write lock."""
    with s.no_autoflush:
        pending = (
            await s.exec(
                select(DueItem.id)
                .where(
                    DueItem.team_id == case.team_id,
                    DueItem.kind == "pattern_check",
                    DueItem.status == PENDING,
                    col(DueItem.lease_owner).is_(None),  # one already running may have read too early
                )
                .limit(1)
            )
        ).first()
    if pending is None:
        s.add(due_item(case, "pattern_check", base, now, now))


# The due-item kinds this module sends; bootstrap registers them on Deadlines.
DUE_HANDLERS: dict[str, DueHandler] = {"pattern_check": _pattern_check, "pattern": _pattern_alert}
