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
from teambot.core.improvement.models import Cause
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import read_policy
from teambot.core.ports import Notice, Recipient
from teambot.core.scheduling.deadlines import Deadlines, Handler, Outcome, due_item, insert_new
from teambot.core.scheduling.models import PENDING, DueItem

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
        nums = ", ".join(f"#{n}" for n in self.cases)
        if self.kind == "customer":
            return f"{self.label} has had {self.count} cases within {int(self.baseline)} days ({nums})."
        what = "about" if self.kind == "category" else "with root cause"
        base = f"{self.baseline:g}".rstrip(".")
        return (
            f"{self.count} cases {what} {self.label} this week, up from {base}/week ({nums})."
            if (self.count > self.baseline)
            else f"{self.count} cases {what} {self.label} this week, as usual ({base}/week) ({nums})."
        )

    def as_data(self) -> dict[str, Any]:
        """Field by field, not `asdict`: that deep-copies a busy week's thousands of case numbers
        one int at a time."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return {**data, "cases": list(self.cases), "trend": self.trend, "text": self.text()}


LIVE = col(Case.status) != CaseStatus.CANCELLED  # a cancelled case is in no pattern


def cause_key(text: str | None) -> str:
    return re.sub(r"[\s.!]+$", "", " ".join((text or "").lower().split()))


def _rising(count: int, baseline: float, sched: Policy) -> bool:
    return count >= 2 and baseline > 0 and count * 100 >= sched.pattern_rise_percent * baseline


async def detect(s: AsyncSession, team_id: str, end: datetime, sched: Policy) -> list[Pattern]:
    """Patterns over the 7 days before `end`.

    Counting happens in SQL and only the columns needed travel back, so the cost follows the
    five weeks read through the team's indexes, not the size of the history.
    """
    start, base_start = end - WEEK, end - 5 * WEEK
    found: list[Pattern] = []

    def judge(kind: str, key: str, label: str, count: int, before: int, nums: list[int]) -> None:
        baseline = before / 4
        if count >= sched.pattern_min_cases:
            found.append(Pattern(kind, key, label, count, baseline, "threshold", sorted(nums)))
        elif _rising(count, baseline, sched):
            found.append(Pattern(kind, key, label, count, baseline, "rising", sorted(nums)))

    # Categories: counted in SQL, this week against the four before (by opening time).
    in_week = case((col(Case.opened_at) >= start, 1), else_=0)
    rows = await s.exec(
        select(Case.category, func.sum(in_week), func.count())
        .where(
            Case.team_id == team_id, LIVE,
            col(Case.opened_at) >= base_start,
            col(Case.opened_at) < end,
            col(Case.category).not_in(IGNORED_CATEGORIES),
        )
        .group_by(Case.category)
    )
    hits = [(category, int(now_n or 0), int(all_n)) for category, now_n, all_n in sorted(rows.all())]
    hits = [h for h in hits if h[1] and (h[1] >= sched.pattern_min_cases or _rising(h[1], (h[2] - h[1]) / 4, sched))]
    numbers: dict[str, list[int]] = {}
    if hits:  # every pattern's case numbers in one pass over the week, not one query each
        listed = await s.exec(
            select(Case.category, Case.number).where(
                Case.team_id == team_id, LIVE, col(Case.category).in_([h[0] for h in hits]),
                col(Case.opened_at) >= start, col(Case.opened_at) < end,
            )
        )  # fmt: skip
        for category, number in listed.all():
            numbers.setdefault(category, []).append(number)
    for category, now_n, all_n in hits:
        judge("category", category, category, now_n, all_n - now_n, numbers.get(category, []))

    # Root causes, by resolution time, grouped by the team's cause they are filed under (its name),
    # else by their lower-cased text; Python merges the few text groups that differ only in
    # spacing or trailing punctuation (cause_key).
    text = func.coalesce(func.lower(Cause.name), func.lower(func.trim(Case.root_cause)))
    label = func.min(func.coalesce(Cause.name, Case.root_cause))
    resolved_in = (Case.team_id == team_id, LIVE, col(Case.resolved_at) < end, col(Case.root_cause).is_not(None))
    in_week = case((col(Case.resolved_at) >= start, 1), else_=0)
    filed = (Cause, col(Cause.id) == col(Case.cause_id))
    groups = await s.exec(
        select(text, label, func.sum(in_week), func.count())
        .outerjoin(*filed)
        .where(*resolved_in, col(Case.resolved_at) >= base_start)
        .group_by(text)
    )
    merged: dict[str, list[Any]] = {}  # key -> [label, now, before, raw texts]
    for raw, label, now_n, all_n in sorted(groups.all(), key=lambda g: str(g[0])):
        key = cause_key(raw)
        if key:
            entry = merged.setdefault(key, [label, 0, 0, []])
            entry[1] += int(now_n or 0)
            entry[2] += int(all_n) - int(now_n or 0)
            entry[3].append(raw)
    causes = [
        (key, entry) for key, entry in sorted(merged.items())
        if entry[1] and (entry[1] >= sched.pattern_min_cases or _rising(entry[1], entry[2] / 4, sched))
    ]  # fmt: skip
    by_raw = {raw: key for key, entry in causes for raw in entry[3]}
    cause_nums: dict[str, list[int]] = {}
    if causes:
        listed = await s.exec(
            select(text, Case.number).outerjoin(*filed)
            .where(*resolved_in, col(Case.resolved_at) >= start, text.in_(list(by_raw)))
        )
        for raw, number in listed.all():
            cause_nums.setdefault(by_raw[raw], []).append(number)
    for key, (label, now_n, before_n, _raws) in causes:
        judge("root_cause", key, label, now_n, before_n, cause_nums.get(key, []))

    # Repeat customers: someone with a case this week and another within the window before it.
    window = timedelta(days=sched.repeat_customer_days)
    recent = select(Case.customer_id).where(
        Case.team_id == team_id, LIVE, col(Case.customer_id).is_not(None),
        col(Case.opened_at) >= start, col(Case.opened_at) < end,
    )  # fmt: skip
    repeaters = (
        await s.exec(
            select(Case.customer_id)
            .where(
                Case.team_id == team_id, LIVE,
                col(Case.customer_id).in_(recent.scalar_subquery()),
                col(Case.opened_at) >= start - window,
                col(Case.opened_at) < end,
            )
            .group_by(Case.customer_id)
            .having(func.count() >= 2)
        )
    ).all()
    if repeaters:
        history = (
            await s.exec(
                select(Case.customer_id, Case.opened_at, Case.number, Case.customer_name)
                .where(
                    Case.team_id == team_id, LIVE,
                    col(Case.customer_id).in_(list(repeaters)),
                    col(Case.opened_at) >= start - window,
                    col(Case.opened_at) < end,
                )
                .order_by(col(Case.customer_id), col(Case.opened_at))
            )
        ).all()
        by_customer: dict[int, list[Any]] = {}
        for row in history:
            by_customer.setdefault(row[0], []).append(row)
        for cid, theirs in sorted(by_customer.items()):
            pair = any(
                b[1] >= start and 0 < (b[1] - a[1]).total_seconds() <= window.total_seconds()
                for i, b in enumerate(theirs)
                for a in theirs[:i]
            )
            if pair:
                name = theirs[-1][3] or f"customer {cid}"
                nums = [r[2] for r in theirs]
                found.append(
                    Pattern(
                        "customer", str(cid), name, len(theirs), sched.repeat_customer_days, "repeat", nums
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
        for p in found:
            prefix = f"pattern:{item.team_id}:{p.kind}:{p.key}:"
            if p.kind == "customer":
                key = prefix + str(max(p.cases))  # each repeat case is news once
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
                key=key, team_id=item.team_id, kind="pattern", case_id=None, ref=p.kind, due_at=now,
                created_at=now, data={"pattern": p.as_data(), "channel": case.channel_id if case else None,
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
    p = item.data["pattern"]
    platform = policy.platform if policy.digest_channel else (item.data.get("platform") or policy.platform)
    text = f"Pattern spotted: {p['text']}"
    notice = Notice(kind="pattern", text=text, team_id=item.team_id, data={"pattern": p})
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
DUE_HANDLERS: dict[str, Handler] = {"pattern_check": _pattern_check, "pattern": _pattern_alert}
