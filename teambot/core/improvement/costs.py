"""What each cause cost in a period, ranked: what to fix first. And the look-alike unfiled causes.

A cause's cases are the live cases filed under it and resolved in the period. Its cost shows
every figure (cases, compensation per currency, customers not satisfied or lost, repeat
customers, the trend against the 4 weeks before) and ranks by one number, *cost points*, so
the order can be checked by hand:

    points = cases + not satisfied + lost + repeat customers + compensation / average

where compensation is what was given on its cases in the team's currency and "average" is the
average given per compensated case of the period (all causes), so a case that cost the usual
compensation adds one point. Other currencies are shown, never converted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.models import Case, CaseStatus, Grant
from teambot.core.db import Database
from teambot.core.i18n import gettext as _
from teambot.core.improvement import meaning
from teambot.core.improvement.models import Cause
from teambot.core.improvement.vocabulary import CauseInfo
from teambot.core.insights.spend import Period
from teambot.core.policy.models import Policy

WEEK = timedelta(days=7)
LOOKBACK = 12 * WEEK  # unfiled causes grouped: the last 12 weeks
LIVE = col(Case.status) != CaseStatus.CANCELLED


@dataclass
class CauseCost:
    """One cause's cost over a period (a plain record for the renderers and the HTTP API)."""

    cause_id: int
    name: str
    cases: list[int] = field(default_factory=list)  # case numbers
    compensation: dict[str, int] = field(default_factory=dict)  # currency -> minor units
    not_satisfied: int = 0
    lost: int = 0
    repeat_customers: int = 0
    per_week: float = 0.0  # in the period
    per_week_before: float = 0.0  # in the 4 weeks before it
    points: float = 0.0

    @property
    def trend(self) -> str:
        if self.per_week > self.per_week_before:
            return "rising"
        return "falling" if self.per_week < self.per_week_before else "steady"


@dataclass
class LookAlike:
    """Unfiled root causes that read alike: a proposal to name them as one cause."""

    cases: list[int]
    words: list[str]
    name: str  # suggested, editable


@dataclass
class CauseReport:
    period: Period
    currency: str
    causes: list[CauseCost]
    groups: list[LookAlike]
    unfiled: list[int]  # unfiled cases of the period in no group


async def cause_costs(s: AsyncSession, policy: Policy, start: datetime, end: datetime) -> list[CauseCost]:
    """Every cause with cases resolved in [start, end), costliest first."""
    team = policy.team_id
    rows = (
        await s.exec(
            select(Case.id, Case.number, Case.cause_id, Cause.name, Case.customer_id, Case.opened_at,
                   Case.satisfied, Case.won_back)
            .join(Cause, col(Cause.id) == col(Case.cause_id))
            .where(Case.team_id == team, LIVE, col(Case.resolved_at) >= start, col(Case.resolved_at) < end)
            .order_by(col(Case.number))
        )
    ).all()  # fmt: skip
    out: dict[int, CauseCost] = {}
    case_cause: dict[int, int] = {}
    for cid, number, cause_id, name, _cust, _at, satisfied, won_back in rows:
        cost = out.setdefault(cause_id, CauseCost(cause_id, name))
        cost.cases.append(number)
        case_cause[cid] = cause_id
        cost.not_satisfied += satisfied is False
        cost.lost += won_back is False
    if not out:
        return []
    grants = await s.exec(
        select(Grant.case_id, Grant.currency, func.sum(Grant.amount_minor))
        .where(col(Grant.case_id).in_(list(case_cause)))
        .group_by(Grant.case_id, Grant.currency)
    )
    given_cases: dict[int, int] = {}
    for case_id, currency, total in grants.all():
        comp = out[case_cause[case_id]].compensation
        comp[currency] = comp.get(currency, 0) + int(total)
        if currency == policy.currency:
            given_cases[case_id] = given_cases.get(case_id, 0) + int(total)
    await _repeats(s, policy, rows, out)
    before = await s.exec(
        select(Case.cause_id, func.count())
        .where(Case.team_id == team, LIVE, col(Case.cause_id).in_(list(out)),
               col(Case.resolved_at) >= start - 4 * WEEK, col(Case.resolved_at) < start)
        .group_by(Case.cause_id)
    )  # fmt: skip
    weeks = max((end - start) / WEEK, 1.0)  # a week so far counts as a week, not 28 a week
    for cause_id, n in before.all():
        out[cause_id].per_week_before = round(int(n) / 4, 2)
    average = sum(given_cases.values()) / len(given_cases) if given_cases else 0
    for cost in out.values():
        cost.per_week = round(len(cost.cases) / weeks, 2)
        money = cost.compensation.get(policy.currency, 0) / average if average else 0
        cost.points = round(
            len(cost.cases) + cost.not_satisfied + cost.lost + cost.repeat_customers + money, 2
        )
    return sorted(out.values(), key=lambda c: (-c.points, -len(c.cases), c.name))


async def _repeats(s: AsyncSession, policy: Policy, rows: list, out: dict[int, CauseCost]) -> None:  # type: ignore[type-arg]
    """A repeat customer: one who had another live case within the team's repeat window before."""
    window = timedelta(days=policy.repeat_customer_days)
    customers = {r[4] for r in rows if r[4] is not None}
    if not customers:
        return
    history = (
        await s.exec(
            select(Case.customer_id, Case.opened_at)
            .where(Case.team_id == policy.team_id, LIVE, col(Case.customer_id).in_(customers))
        )
    ).all()  # fmt: skip
    opened: dict[int, list[datetime]] = {}
    for cust, at in history:
        opened.setdefault(cust, []).append(at)
    seen: dict[int, set[int]] = {}
    for _cid, _n, cause_id, _name, cust, at, _s, _w in rows:
        if cust is not None and any(timedelta(0) < at - other <= window for other in opened.get(cust, [])):
            seen.setdefault(cause_id, set()).add(cust)
    for cause_id, custs in seen.items():
        out[cause_id].repeat_customers = len(custs)


async def look_alikes(s: AsyncSession, team_id: str, end: datetime) -> tuple[list[LookAlike], list[int]]:
    """Unfiled root causes of the last 12 weeks grouped by meaning, and the unfiled cases left over."""
    rows = (
        await s.exec(
            select(Case.number, Case.root_cause)
            .where(Case.team_id == team_id, LIVE, col(Case.cause_id).is_(None), col(Case.root_cause).is_not(None),
                   col(Case.resolved_at) >= end - LOOKBACK, col(Case.resolved_at) < end)
            .order_by(col(Case.number))
        )
    ).all()  # fmt: skip
    words = [w or "" for _, w in rows]
    groups = []
    grouped: set[int] = set()
    for g in meaning.group(words):
        texts = [words[i] for i in g]
        groups.append(LookAlike([rows[i][0] for i in g], texts, suggest_name(meaning.medoid(texts))))
        grouped |= set(g)
    return groups, [rows[i][0] for i in range(len(rows)) if i not in grouped]


def suggest_name(words: str) -> str:
    """A cause name from a phrasing: its first words, capitalised, at most 40 characters."""
    name = " ".join(words.split())
    if len(name) > 40:
        name = name[:40].rsplit(" ", 1)[0]
    return (name[:1].upper() + name[1:]).rstrip(".,;:") or _("Unnamed cause")


async def causes_with_cost(db: Database, team_id: str, start: datetime, end: datetime) -> list[CauseCost]:
    """A team's causes with what they cost over [start, end), costliest first (for the HTTP API)."""
    async with db.read() as s:
        policy = await s.get(Policy, team_id)
        return [] if policy is None else await cause_costs(s, policy, start, end)


async def list_causes(db: Database, team_id: str) -> list[CauseInfo]:
    """The team's causes by name."""
    async with db.read() as s:
        rows = (await s.exec(select(Cause).where(Cause.team_id == team_id).order_by(col(Cause.name)))).all()
    return [CauseInfo(c.id or 0, c.name) for c in rows]


async def report(db: Database, policy: Policy, period: Period) -> CauseReport:
    """`/recover causes`: the period's causes by cost, then the look-alike unfiled causes."""
    async with db.read() as s:
        costs = await cause_costs(s, policy, period.start, period.end)
        groups, unfiled = await look_alikes(s, policy.team_id, period.end)
    return CauseReport(period, policy.currency, costs, groups, unfiled)
