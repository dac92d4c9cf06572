"""Recurring categories and root causes, and repeat customers: trends, not anomalies.

A category or root cause is a pattern when it has at least K cases in the last 7 days, or
is rising against the previous 4 weeks' average; a customer is one when they open a second
case within N days. K, the rise and N are per team (`TeamSchedule`). Reads only the last
five weeks of cases, through the (team_id, opened_at) index.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.deadlines import Deadlines, Outcome, insert_new, load_schedule
from teambot.core.models import Case, Policy
from teambot.core.models_scheduling import DueItem, TeamSchedule
from teambot.core.ports import Notice, Recipient

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
        return {**asdict(self), "trend": self.trend, "text": self.text()}


def cause_key(text: str | None) -> str:
    return re.sub(r"[\s.!]+$", "", " ".join((text or "").lower().split()))


def _rising(count: int, baseline: float, sched: TeamSchedule) -> bool:
    return count >= 2 and baseline > 0 and count * 100 >= sched.pattern_rise_percent * baseline


async def detect(s: AsyncSession, team_id: str, end: datetime, sched: TeamSchedule) -> list[Pattern]:
    """Patterns over the 7 days before `end`."""
    start, base_start = end - WEEK, end - 5 * WEEK
    rows = list(
        (
            await s.exec(
                select(Case).where(
                    Case.team_id == team_id, col(Case.opened_at) >= base_start, col(Case.opened_at) < end
                )
            )
        ).all()
    )
    found: list[Pattern] = []

    def tally(kind: str, key_of: Any, at_of: Any) -> None:
        now_cases: dict[str, list[Case]] = {}
        before: dict[str, int] = {}
        for c in rows:
            key, at = key_of(c), at_of(c)
            if not key or at is None or at >= end:
                continue
            if at >= start:
                now_cases.setdefault(key, []).append(c)
            elif at >= base_start:
                before[key] = before.get(key, 0) + 1
        for key, cases in sorted(now_cases.items()):
            count, baseline = len(cases), before.get(key, 0) / 4
            reason = (
                "threshold"
                if count >= sched.pattern_min_cases
                else "rising"
                if _rising(count, baseline, sched)
                else ""
            )
            if reason:
                label = cases[0].category if kind == "category" else (cases[0].root_cause or key)
                nums = sorted(c.number for c in cases)
                found.append(Pattern(kind, key, label, count, baseline, reason, nums))

    tally(
        "category",
        lambda c: c.category if c.category not in IGNORED_CATEGORIES else None,
        lambda c: c.opened_at,
    )
    tally("root_cause", lambda c: cause_key(c.root_cause), lambda c: c.resolved_at)

    # Repeat customers: a case in the 7 days with an earlier one within the window.
    window = timedelta(days=sched.repeat_customer_days)
    recent = [c for c in rows if c.customer_id and c.opened_at >= start]
    if recent:
        ids = {c.customer_id for c in recent}
        history = list(
            (
                await s.exec(
                    select(Case).where(
                        Case.team_id == team_id,
                        col(Case.customer_id).in_(ids),
                        col(Case.opened_at) >= start - window,
                        col(Case.opened_at) < end,
                    )
                )
            ).all()
        )
        for cid in sorted(ids):  # type: ignore[type-var]
            theirs = sorted((c for c in history if c.customer_id == cid), key=lambda c: c.opened_at)
            latest = [c for c in theirs if c.opened_at >= start]
            pair = any(
                0 < (b.opened_at - a.opened_at).total_seconds() <= window.total_seconds()
                for i, b in enumerate(theirs)
                for a in theirs[:i]
                if b in latest
            )
            if pair:
                nums = [c.number for c in theirs]
                name = theirs[-1].customer_name or f"customer {cid}"
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
        sched = await load_schedule(s, item.team_id, now)
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


def install(dl: Deadlines) -> None:
    dl.register("pattern_check", _pattern_check)
    dl.register("pattern", _pattern_alert)
