"""The weekly digest as data (and a complete plain-text rendering of it).

A digest covers one ISO week, Monday 00:00 to Monday 00:00 in the team's digest time zone,
and goes out at the policy's weekday and time in the week after. It reads only that week's
rows through indexes (cases by opened_at, timeline events by kind, grants, flags and shout-outs
by team and time) plus the cases those rows name and the open cases, so its cost follows the
week, not the history. The database does the counting and ranking (GROUP BY, percentiles:
see digest_sql), so only figures travel back, not the week's rows. Each figure comes with the
week before beside it.

Definitions (so the numbers can be checked by hand):
- time to own: cases opened in the week and owned, owned_at - opened_at; owned within
  target = of the cases opened in the week, those owned within policy.own_within_minutes.
- time to resolve: each case resolved in the week, once (a case resolved, reopened and
  resolved again counts its last resolution in the week), that time - the case's opened_at;
  resolved within target = of those, the ones within policy.resolve_within_hours (counted
  in working hours when the team's targets are).
- still open: cases opened before the week's end that were neither closed nor cancelled at
  that moment (replayed from the timeline), so a past week reads the same whenever asked.
- slowest open: of those, the ones still being worked then (open or owned, not resolved and
  waiting for the follow-up), oldest first, their age at the week's end.
- percentiles: median as usual; p90 by nearest rank. Where two answers or events of a case
  share a timestamp, the later-recorded one (higher id) is the latest.
- compensation: grants given in the week; "approved" is above the giver's authority. The
  escalation premium is the average given per case with an approved grant minus the
  average per case with grants only within authority. Every figure is in the team's current
  currency; grants recorded in another (before the currency changed) are never added in, but
  totalled apart per currency (`comp_other_minor`).
- satisfaction: follow-ups recorded in the week, each case's latest answer once; win-back over
  those that say won or lost. Verdicts the customer gave (the feedback page) are counted apart.
- cancelled cases count nowhere.
"""

from __future__ import annotations

import asyncio
import math
import statistics
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, or_, text, type_coerce, union
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.models import Case, CaseStatus, Grant, ImprovementFlag, TimelineEvent
from teambot.core.db import Database
from teambot.core.errors import BadInput
from teambot.core.i18n import format_money, format_number, format_percent
from teambot.core.i18n import gettext as _
from teambot.core.improvement.digest_part import improvement_part
from teambot.core.improvement.render import digest_lines
from teambot.core.insights.digest_sql import (
    US,
    Ranked,
    dialect_of,
    hours,
    materialized,
    micros,
    minutes,
    ranked,
)
from teambot.core.insights.patterns import detect, pattern_text, trend_word
from teambot.core.money import from_minor
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import read_policy
from teambot.core.recognition.models import Shoutout
from teambot.core.scheduling.working_hours import target_time
from teambot.core.types import UTCDateTime

WEEK = timedelta(days=7)
NO_JIT = "SET LOCAL jit = off"  # SQL


# ----- weeks ------------------------------------------------------------------------------


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(text: str) -> date:
    """`2026-W47` → that week's Monday."""
    try:
        year, week = text.strip().upper().split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        raise BadInput(
            _("%(text)r is not an ISO week.") % {"text": text}, _("Write it like 2026-W47."), field="week"
        ) from None


def week_bounds(monday: date, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime.combine(monday, time(0), zone)
    end = datetime.combine(monday + WEEK, time(0), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def current_monday(now: datetime, tz: str) -> date:
    local = now.astimezone(ZoneInfo(tz)).date()
    return local - timedelta(days=local.weekday())


def send_time(policy: Policy, monday_after: date) -> datetime:
    """When the digest of the week before `monday_after` goes out."""
    hh, mm = (int(x) for x in policy.digest_time.split(":"))
    day = monday_after + timedelta(days=policy.digest_weekday)
    return datetime.combine(day, time(hh, mm), ZoneInfo(policy.digest_timezone)).astimezone(UTC)


# ----- the figures ------------------------------------------------------------------------


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)], 1)


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


@dataclass
class Figures:
    """One week's numbers."""

    opened: int = 0
    resolved: int = 0
    closed: int = 0
    own_median_min: float | None = None
    own_p90_min: float | None = None
    owned_within_target: int = 0
    own_share: float | None = None
    resolve_median_h: float | None = None
    resolve_p90_h: float | None = None
    resolved_within_target: int = 0
    resolve_share: float | None = None
    apologies: int = 0
    comp_total_minor: int = 0
    comp_within_minor: int = 0
    comp_approved_minor: int = 0
    comp_by_gesture: dict[str, int] = field(default_factory=dict)
    comp_other_minor: dict[str, int] = field(default_factory=dict)  # currency -> given, other currencies
    escalated_case_avg_minor: int | None = None
    within_case_avg_minor: int | None = None
    escalation_premium_minor: int | None = None
    escalations: int = 0
    approval_wait_median_min: float | None = None
    followups: int = 0
    satisfied: int = 0
    satisfaction_share: float | None = None
    avg_score: float | None = None
    won_back: int = 0
    won_back_known: int = 0
    winback_share: float | None = None
    shoutouts: int = 0
    # The 24-hour clock against the team's targets, and who gave the verdict.
    apology_median_min: float | None = None
    apologised_within_target: int = 0
    apology_share: float | None = None
    resolved_within_target: int = 0
    resolve_target_share: float | None = None
    customer_verdicts: int = 0
    customer_satisfied: int = 0
    staff_verdicts: int = 0
    feedback_median_h: float | None = None


@dataclass
class Digest:
    team_id: str
    week: str
    start: str
    end: str
    timezone: str
    currency: str
    this: Figures
    last: Figures
    still_open: int = 0
    patterns: list[dict[str, Any]] = field(default_factory=list)
    flagged: list[dict[str, Any]] = field(default_factory=list)
    slowest: list[dict[str, Any]] = field(default_factory=list)
    recoverers: list[dict[str, Any]] = field(default_factory=list)
    shoutouts: list[dict[str, Any]] = field(default_factory=list)
    preview: bool = False
    resolve_target_h: int = 24
    categories: list[str] = field(default_factory=list)  # the team's, in order: the chart's colours
    previous_weeks: list[dict[str, Any]] = field(default_factory=list)  # [{"week", "opened"}] oldest first
    opened_per_day: dict[str, dict[str, int]] = field(default_factory=dict)  # local date -> category -> n
    resolve_hours: list[float] = field(default_factory=list)  # for the chart
    targets: dict[str, int] = field(default_factory=lambda: {"own_min": 15, "resolve_h": 24})
    # What to fix first (causes by cost, look-alikes) and the improvement actions: improvement.digest_part
    improvement: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return (
            self.this.opened == 0 and self.this.resolved == 0 and self.this.closed == 0 and not self.shoutouts
        )

    def as_data(self) -> dict[str, Any]:
        return {**asdict(self), "empty": self.empty, "text": digest_text(self)}


# Everything over the week's cases and events is counted and ranked by the database (GROUP BY,
# percentiles): only counts, sums and the few values a median or p90 needs travel back, so the
# digest's cost is the database's own scan of the week, not building rows in Python.
_CASE_COLS = (Case.id, Case.number, Case.category, Case.owner_id)
LIVE = col(Case.status) != CaseStatus.CANCELLED  # a cancelled case counts nowhere


async def _rows(
    s: AsyncSession, model: Any, at: Any, team_id: str, start: datetime, end: datetime, *cols: Any
) -> list[Any]:
    q = select(*cols) if cols else select(model)
    q = q.where(model.team_id == team_id, col(at) >= start, col(at) < end)
    return list((await s.exec(q)).all())


async def _cases(s: AsyncSession, ids: set[int]) -> dict[int, Any]:
    """Number, category, owner... of a few cases (those flagged or shouted about)."""
    if not ids:
        return {}
    rows = await s.exec(select(*_CASE_COLS).where(col(Case.id).in_(ids)))
    return {c.id: c for c in rows.all()}


def _live(case_id: Any, column: Any = Case.opened_at) -> Any:
    """`column` of the row's case if the case is live, else NULL: one primary-key probe per row.
    A join let PostgreSQL hash the whole cases table, a cost that grew with the history."""
    return select(column).where(col(Case.id) == case_id, LIVE).scalar_subquery()


def _events(team: str, start: datetime, end: datetime, *kinds: str) -> tuple[Any, ...]:
    """The week's events of these kinds (through the (team_id, kind, at) index)."""
    return (
        TimelineEvent.team_id == team, col(TimelineEvent.kind).in_(kinds),
        col(TimelineEvent.at) >= start, col(TimelineEvent.at) < end,
    )  # fmt: skip


def _opened(team: str, start: datetime, end: datetime) -> tuple[Any, ...]:
    return Case.team_id == team, col(Case.opened_at) >= start, col(Case.opened_at) < end, LIVE


def _last_resolved(team: str, start: datetime, end: datetime) -> Any:
    """Each case resolved in the week once, by its last resolution in the week."""
    return (
        select(TimelineEvent.case_id, type_coerce(func.max(TimelineEvent.at), UTCDateTime).label("at"))
        .where(
            TimelineEvent.team_id == team, TimelineEvent.kind == "resolved",
            col(TimelineEvent.at) >= start, col(TimelineEvent.at) < end,
        )
        .group_by(TimelineEvent.case_id)
        .subquery()
    )  # fmt: skip


def _latest_answers(team: str, start: datetime, end: datetime) -> Any:
    """Each case's latest follow-up answer in the week (a superseded verdict counts once); its
    `opened_at` is NULL when the case was cancelled (callers keep `rn == 1` and a live case)."""
    e = TimelineEvent
    order = (col(e.at).desc(), col(e.id).desc())
    return (
        select(
            e.case_id, e.at, e.data, _live(e.case_id).label("opened_at"),
            _live(e.case_id, Case.owner_id).label("owner_id"),
            func.row_number().over(partition_by=e.case_id, order_by=order).label("rn"),
        )
        .where(*_events(team, start, end, "followup_answered"))
        .subquery()
    )  # fmt: skip


async def figures(
    s: AsyncSession, policy: Policy, start: datetime, end: datetime, *, chart: bool = False
) -> tuple[Figures, dict[str, Any]]:
    """The week's numbers, each counted or ranked by the database; and, for the digest's own
    week, who recovered whom and (`chart`) every time to resolve, for the histogram."""
    team, dialect = policy.team_id, await dialect_of(s)
    f = Figures()
    f.opened = int(
        (await s.exec(select(func.count()).select_from(Case).where(*_opened(team, start, end)))).one()
    )

    own = await ranked(
        s, dialect,
        select(micros(dialect, Case.owned_at, Case.opened_at)).where(
            *_opened(team, start, end), col(Case.owned_at).is_not(None), col(Case.owned_at) < end
        ),
        policy.own_within_minutes * 60 * US,
    )  # fmt: skip
    f.own_median_min, f.own_p90_min = own.median(minutes), own.p90_value(minutes)
    f.owned_within_target = own.within
    f.own_share = share(f.owned_within_target, f.opened)

    last = _last_resolved(team, start, end)
    target = timedelta(hours=policy.resolve_within_hours)
    limit = None if policy.targets_in_working_hours else target.total_seconds() * US
    took = micros(dialect, last.c.at, _live(last.c.case_id))
    resolve_us: list[int] = []
    if chart:  # the histogram needs every value: fetch them once and rank them here
        rows = await s.exec(select(last.c.at, took).order_by(last.c.at, last.c.case_id))
        resolve_us = [int(us) for _, us in rows.all() if us is not None]
        resolve = Ranked.of(resolve_us, limit)
    else:
        resolve = await ranked(s, dialect, select(took), limit)
    f.resolved = resolve.n
    f.resolve_median_h, f.resolve_p90_h = resolve.median(hours), resolve.p90_value(hours)
    f.resolved_within_target = resolve.within
    if policy.targets_in_working_hours:  # working time follows the team's calendar: Python counts it
        pairs = (await s.exec(select(_live(last.c.case_id), last.c.at))).all()
        f.resolved_within_target = sum(1 for o, at in pairs if o and at <= target_time(o, target, policy))
    f.resolve_share = share(f.resolved_within_target, f.resolved)

    first = func.coalesce(TimelineEvent.data["first"].as_boolean(), True)
    apologies = await ranked(
        s, dialect,
        select(micros(dialect, TimelineEvent.at, _live(TimelineEvent.case_id)))
        .where(*_events(team, start, end, "apologised"), first),
        policy.own_within_minutes * 60 * US,
    )  # fmt: skip
    f.apologies = apologies.n
    f.apology_median_min = apologies.median(minutes)
    f.apologised_within_target = apologies.within
    f.apology_share = share(f.apologised_within_target, apologies.n)

    f.escalations = int(
        (
            await s.exec(
                select(func.count()).select_from(TimelineEvent)
                .where(*_events(team, start, end, "approval_requested"), _live(TimelineEvent.case_id).is_not(None))
            )
        ).one()
    )  # fmt: skip
    wait = TimelineEvent.data["wait_minutes"].as_float()
    waits = await ranked(
        s, dialect,
        select(case((_live(TimelineEvent.case_id).is_not(None), wait))).where(
            *_events(team, start, end, "approved", "denied")
        ),
    )  # fmt: skip
    f.approval_wait_median_min = waits.median(float)

    await _compensation(s, policy, f, start, end)
    recovered = await _followups(s, dialect, f, team, start, end)
    f.shoutouts = await _shoutouts(s, team, start, end)
    return f, {"recovered": recovered, "resolve_hours": [round(hours(us), 2) for us in resolve_us]}


async def _shoutouts(s: AsyncSession, team: str, start: datetime, end: datetime) -> int:
    return int(
        (
            await s.exec(
                select(func.count()).select_from(Shoutout)
                .where(Shoutout.team_id == team, col(Shoutout.at) >= start, col(Shoutout.at) < end)
            )
        ).one()
    )  # fmt: skip


async def _compensation(s: AsyncSession, policy: Policy, f: Figures, start: datetime, end: datetime) -> None:
    """Grants summed by currency, gesture and authority, and per case, in SQL."""
    in_week = (
        Grant.team_id == policy.team_id, col(Grant.granted_at) >= start, col(Grant.granted_at) < end,
        _live(Grant.case_id).is_not(None),
    )  # fmt: skip
    sums = await s.exec(
        select(Grant.currency, Grant.gesture, Grant.within_authority, func.sum(Grant.amount_minor))
        .where(*in_week)
        .group_by(Grant.currency, Grant.gesture, Grant.within_authority)
    )
    other: dict[str, int] = {}
    for currency, gesture, within, total in sums.all():
        total = int(total)
        if currency != policy.currency:  # another currency is never added in, but shown apart
            other[currency] = other.get(currency, 0) + total
            continue
        f.comp_total_minor += total
        f.comp_within_minor += total if within else 0
        f.comp_by_gesture[gesture] = f.comp_by_gesture.get(gesture, 0) + total
    f.comp_approved_minor = f.comp_total_minor - f.comp_within_minor
    f.comp_other_minor = dict(sorted(other.items()))
    f.comp_by_gesture = dict(sorted(f.comp_by_gesture.items()))
    per_case = (
        select(
            func.sum(Grant.amount_minor).label("given"),
            func.max(case((col(Grant.within_authority), 0), else_=1)).label("escalated"),
        )
        .where(*in_week, Grant.currency == policy.currency)
        .group_by(Grant.case_id)
        .subquery()
    )
    avg: dict[int, tuple[int, int]] = {}
    for escalated, n, given in (
        await s.exec(select(per_case.c.escalated, func.count(), func.sum(per_case.c.given)).group_by(per_case.c.escalated))
    ).all():  # fmt: skip
        avg[int(escalated)] = (int(n), int(given))
    if 1 in avg:
        f.escalated_case_avg_minor = round(avg[1][1] / avg[1][0])
    if 0 in avg:
        f.within_case_avg_minor = round(avg[0][1] / avg[0][0])
    if 1 in avg and 0 in avg:
        f.escalation_premium_minor = (f.escalated_case_avg_minor or 0) - (f.within_case_avg_minor or 0)


async def _followups(
    s: AsyncSession, dialect: str, f: Figures, team: str, start: datetime, end: datetime
) -> dict[str, int]:
    """Satisfaction, scores, win-back and who gave the verdict, over each case's latest answer;
    counted per owner in one pass, so the same rows also say who recovered how many."""
    a = _latest_answers(team, start, end)
    data = a.c.data
    # Each answer's fields read out of its JSON once (a materialised CTE), not once per use.
    fields = materialized(
        select(
            a.c.owner_id, a.c.at, a.c.opened_at,
            func.coalesce(data["satisfied"].as_boolean(), False).label("satisfied"),
            data["score"].as_integer().label("score"), data["won_back"].as_boolean().label("won_back"),
            (func.coalesce(data["source"].as_string(), "") == "customer").label("customer"),
        ).where(a.c.rn == 1, a.c.opened_at.is_not(None)).cte("answers"),
        dialect,
    )  # fmt: skip
    satisfied, score, won_back, customer = (
        fields.c.satisfied,
        fields.c.score,
        fields.c.won_back,
        fields.c.customer,
    )

    def count(cond: Any) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    rows = (
        await s.exec(
            select(
                fields.c.owner_id, func.count(), count(satisfied), count(score.is_not(None)),
                func.coalesce(func.sum(score), 0), count(won_back.is_not(None)), count(won_back), count(customer),
                count(and_(customer, satisfied)),
            ).group_by(fields.c.owner_id)
        )
    ).all()  # fmt: skip
    totals = [0] * 8
    recovered: dict[str, int] = {}
    for owner, *counts in rows:
        totals = [t + int(x or 0) for t, x in zip(totals, counts, strict=True)]
        if owner and counts[1]:
            recovered[owner] = int(counts[1])
    n, happy, scored, score_sum, known, won, by_customer, customer_happy = totals
    f.followups, f.satisfied, f.closed = n, happy, happy
    f.satisfaction_share = share(happy, n)
    f.avg_score = round(score_sum / scored, 2) if scored else None
    f.won_back_known, f.won_back = known, won
    f.winback_share = share(won, known)
    f.resolve_target_share = (
        f.resolve_share
    )  # against the team's own target (working hours if it counts them)
    f.customer_verdicts, f.customer_satisfied = by_customer, customer_happy
    f.staff_verdicts = n - by_customer
    if by_customer:
        feedback = await ranked(
            s, dialect, select(micros(dialect, fields.c.at, fields.c.opened_at)).where(customer)
        )
        f.feedback_median_h = feedback.median(hours)
    return recovered


async def _per_day(
    s: AsyncSession, team: str, start: datetime, end: datetime, tz: str
) -> dict[str, dict[str, int]]:
    """Cases opened per local day and category: the days' UTC bounds come from Python (zoneinfo
    knows the daylight-saving shifts), the counting from a GROUP BY over them."""
    zone = ZoneInfo(tz)
    first = start.astimezone(zone).date()
    days = [first + timedelta(days=i) for i in range(8)]
    bounds = [datetime.combine(d, time(0), zone).astimezone(UTC) for d in days[1:]]
    bucket = case(*[(col(Case.opened_at) < b, i) for i, b in enumerate(bounds)], else_=len(bounds))
    rows = await s.exec(
        select(bucket, Case.category, func.count())
        .where(*_opened(team, start, end))
        .group_by(bucket, Case.category)
        .order_by(bucket, Case.category)
    )
    per_day: dict[str, dict[str, int]] = {}
    for i, category, n in rows.all():
        per_day.setdefault(days[int(i)].isoformat(), {})[category] = int(n)
    return per_day


_STATE_KINDS = ("resolved", "followup_answered", "reopened")


async def _open_at(s: AsyncSession, team_id: str, at: datetime) -> tuple[int, list[Any]]:
    """How many cases were open at `at`, and the five oldest of them still being worked then.

    Open means being worked ("open"/"owned") or resolved and waiting for the follow-up. Each
    case's state then is replayed in SQL from its last state event before `at` (one probe of
    the (case_id, at) index per case ever resolved), so a case closed since still counts for a
    past week, and one reopened since does not. The candidates (not closed, closed after `at`,
    or ever reopened) come through the (team_id, closed_at) and (team_id, reopened_count)
    indexes, not a scan of the history. One query: the count rides along as a window.
    """
    e = TimelineEvent
    unhappy = func.coalesce(e.data["satisfied"].as_boolean(), False) == False  # noqa: E712
    replayed = (
        select(
            case(
                (e.kind == "resolved", "waiting"),
                (or_(e.kind == "reopened", unhappy), "working"),
                else_="closed",
            )
        )
        .where(col(e.case_id) == Case.id, col(e.at) < at, col(e.kind).in_(_STATE_KINDS))
        .order_by(col(e.at).desc(), col(e.id).desc())
        .limit(1)
        .correlate(Case)
        .scalar_subquery()
    )
    state = case((col(Case.resolved_at).is_(None), "working"), else_=func.coalesce(replayed, "working"))
    arms = (col(Case.closed_at).is_(None), col(Case.closed_at) >= at, col(Case.reopened_count) > 0)
    dialect = await dialect_of(s)
    if dialect == "postgresql":  # a BitmapOr of the three index ranges
        candidates: tuple[Any, ...] = (Case.team_id == team_id, or_(*arms))
    else:  # SQLite would walk (team_id, opened_at) over the whole history for the OR: ids first
        candidates = (
            col(Case.id).in_(union(*(select(Case.id).where(Case.team_id == team_id, a) for a in arms))),
        )
    cases = materialized(
        select(
            Case.id,
            Case.number,
            Case.problem,
            Case.owner_id,
            Case.opened_at,
            Case.owned_at,
            state.label("state"),
        )
        .where(*candidates, col(Case.opened_at) < at, LIVE)
        .cte("candidates"),
        dialect,
    )
    c = cases.c
    rank = case((c.state == "working", 0), (c.state == "waiting", 1), else_=2)
    rows = (
        await s.exec(  # no WHERE on `state`: SQLite would push it down and replay every case twice
            select(c.number, c.problem, c.owner_id, c.opened_at, c.owned_at, c.state,
                   func.sum(case((c.state == "closed", 0), else_=1)).over().label("n"))
            .order_by(rank, c.opened_at, c.id)
            .limit(5)
        )
    ).all()  # fmt: skip
    return (int(rows[0].n) if rows else 0), [r for r in rows if r.state == "working"]


async def compute(
    db: Database, team_id: str, monday: date, now: datetime, *, preview: bool = False
) -> Digest:
    """The digest of the ISO week starting `monday` (in the team's digest time zone).

    Its four independent parts (this week, last week, patterns, the rest) read in four sessions at
    once, so on a 2-core box the database works on two of them at a time (PostgreSQL's backends,
    SQLite's threads) instead of one after another."""
    async with _reading(db) as s:
        policy = await s.get(Policy, team_id)
    if policy is None:
        raise BadInput(
            _("Team %(team)r has no cases or policy yet.") % {"team": team_id},
            _("Check the team id (teambot export --csv)."),
        )
    tz = policy.digest_timezone
    start, end = week_bounds(monday, tz)
    until = min(end, max(now + timedelta(microseconds=1), start)) if preview else end  # now included

    async def this_week() -> tuple[Figures, dict[str, Any]]:
        async with _reading(db) as s:
            return await figures(s, policy, start, until, chart=True)

    async def last_week() -> Figures:
        async with _reading(db) as s:
            return (await figures(s, policy, start - WEEK, end - WEEK))[0]

    async def recurring() -> list[dict[str, Any]]:
        async with _reading(db) as s:
            sched = await read_policy(s, team_id, now)
            return [p.as_data() for p in await detect(s, team_id, until, sched)]

    (this, mine), last, patterns, rest, improvement = await asyncio.gather(
        this_week(),
        last_week(),
        recurring(),
        _the_rest(db, team_id, monday, start, end, until, tz),
        improvement_part(db, policy, start, until),
    )
    flags, shouts, cases, still_open, oldest, previous, per_day = rest
    flagged = [
        {"number": cases[fl.case_id].number, "note": fl.note, "by": fl.flagged_by,
         "category": cases[fl.case_id].category}
        for fl in flags
        if fl.case_id in cases
    ]  # fmt: skip
    slowest = [
        {
            "number": c.number, "problem": c.problem, "owner": c.owner_id,
            "status": "owned" if c.owned_at is not None and c.owned_at < until else "open",
            "age_hours": round((until - c.opened_at).total_seconds() / 3600, 1),
        }
        for c in oldest
    ]  # fmt: skip
    tally: dict[str, dict[str, Any]] = {}
    for sh in shouts:
        tally.setdefault(sh.recipient, {"user": sh.recipient, "shoutouts": 0, "recovered": 0})[
            "shoutouts"
        ] += 1
    for owner, n in mine["recovered"].items():
        tally.setdefault(owner, {"user": owner, "shoutouts": 0, "recovered": 0})["recovered"] += n
    recoverers = sorted(tally.values(), key=lambda r: (-(r["shoutouts"] + r["recovered"]), r["user"]))[:3]
    shout_list = [
        {"from": sh.giver, "to": sh.recipient, "message": sh.message,
         "number": cases[sh.case_id].number if sh.case_id in cases else None}
        for sh in shouts
    ]  # fmt: skip
    return Digest(
        team_id=team_id, week=week_label(monday), start=start.isoformat(), end=end.isoformat(), timezone=tz,
        currency=policy.currency, this=this, last=last, still_open=still_open, patterns=patterns,
        flagged=flagged, slowest=slowest, recoverers=recoverers, shoutouts=shout_list, preview=preview,
        resolve_target_h=policy.resolve_within_hours, categories=list(policy.categories),
        previous_weeks=previous, opened_per_day=per_day, resolve_hours=mine["resolve_hours"],
        targets={"own_min": policy.own_within_minutes, "resolve_h": policy.resolve_within_hours},
        improvement=improvement,
    )  # fmt: skip


@asynccontextmanager
async def _reading(db: Database) -> AsyncIterator[AsyncSession]:
    async with db.read() as s:
        if await dialect_of(s) == "postgresql":
            # The replay and ranking queries are estimated dear (a probe per case) but run in
            # milliseconds; PostgreSQL's JIT spent more compiling them (0.66 s) than running them.
            await s.exec(text(NO_JIT))
        yield s


async def _the_rest(db: Database, team_id: str, monday: date, start: datetime, end: datetime, until: datetime,
                    tz: str) -> tuple[Any, ...]:  # fmt: skip
    """Flags, shout-outs, what was open at the week's end, the four weeks before, opened per day."""
    async with _reading(db) as s:
        flags = await _rows(s, ImprovementFlag, ImprovementFlag.flagged_at, team_id, start, end)
        shouts = await _rows(s, Shoutout, Shoutout.at, team_id, start, until)
        cases = await _cases(s, {fl.case_id for fl in flags} | {sh.case_id for sh in shouts if sh.case_id})
        still_open, oldest = await _open_at(s, team_id, until)
        previous = []
        for back in range(4, 0, -1):
            p_start, p_end = week_bounds(monday - back * WEEK, tz)
            n = (
                await s.exec(select(func.count()).select_from(Case).where(*_opened(team_id, p_start, p_end)))
            ).one()
            previous.append({"week": week_label(monday - back * WEEK), "opened": int(n)})
        per_day = await _per_day(s, team_id, start, until, tz)
    return flags, shouts, cases, still_open, oldest, previous, per_day


# ----- text -------------------------------------------------------------------------------
# Rendered in the current language: the digest's delivery enters the team's (policy.language),
# a `/recover digest` reply the person's. Durations, numbers, money and shares read the reader's way.


def _num(value: float | None) -> str:
    return "–" if value is None else format_number(value)


def span(minutes: float | None) -> str:
    """A duration as people read it: `45 min`, `3 h 20 min`, `2 d 4 h`; never `1380 min`."""
    if minutes is None:
        return "–"
    total = round(minutes)
    if total < 1:
        return _("under 1 min")
    if total < 60:
        return _("%(minutes)s min") % {"minutes": total}
    if total < 24 * 60:
        hours_part, minutes_part = divmod(total, 60)
        if minutes_part:
            return _("%(hours)s h %(minutes)s min") % {"hours": hours_part, "minutes": minutes_part}
        return _("%(hours)s h") % {"hours": hours_part}
    days, rest = divmod(total, 24 * 60)
    hours_part = round(rest / 60)
    if hours_part == 24:
        days, hours_part = days + 1, 0
    if hours_part:
        return _("%(days)s d %(hours)s h") % {"days": days, "hours": hours_part}
    return _("%(days)s d") % {"days": days}


def _hours(value: float | None) -> str:
    return span(None if value is None else value * 60)


def _pct(value: float | None) -> str:
    return "–" if value is None else format_percent(value)


def _money(minor: int | None, currency: str) -> str:
    return "–" if minor is None else format_money(from_minor(minor, currency), currency)


def digest_text(digest: Digest) -> str:
    """A complete plain-text digest: what a notice falls back to and what the shell prints.
    One function per section, each a whole sentence to translate."""
    if digest.empty:
        return "\n".join([_head(digest), *_empty_week(digest)])
    lines = [
        _head(digest),
        *digest_lines(digest.improvement),  # the improvement part opens: what to fix first, the actions
        _cases_line(digest), _own_line(digest), _resolve_line(digest), _apology_line(digest),
        *_compensation_lines(digest), _escalation_line(digest), _satisfaction_line(digest), _verdicts_line(digest),
        *_pattern_lines(digest), *_flagged_lines(digest), *_slowest_lines(digest), *_recoverer_lines(digest),
        *_shoutout_lines(digest),
    ]  # fmt: skip
    return "\n".join(lines)


def _head(digest: Digest) -> str:
    if digest.preview:
        return _("*Recovery digest %(week)s* (so far)") % {"week": digest.week}
    return _("*Recovery digest %(week)s*") % {"week": digest.week}


def _empty_week(digest: Digest) -> list[str]:
    lines = [
        _("No cases this week (last week: %(opened)s opened). Still open: %(open)s.")
        % {"opened": digest.last.opened, "open": digest.still_open}
    ]
    lines += digest_lines(digest.improvement)
    if digest.patterns:
        lines.append(
            _("Patterns: %(patterns)s")
            % {"patterns": "; ".join(pattern_text(pat) for pat in digest.patterns)}
        )
    return lines


def _cases_line(digest: Digest) -> str:
    this, last = digest.this, digest.last
    return _(
        "Cases: %(opened)s opened (last week %(last_opened)s), %(resolved)s resolved (%(last_resolved)s), "
        "%(closed)s closed (%(last_closed)s); %(open)s still open."
    ) % {
        "opened": this.opened, "last_opened": last.opened, "resolved": this.resolved,
        "last_resolved": last.resolved, "closed": this.closed, "last_closed": last.closed, "open": digest.still_open,
    }  # fmt: skip


def _own_line(digest: Digest) -> str:
    this, last = digest.this, digest.last
    return _(
        "Time to own: median %(median)s, p90 %(p90)s (last week %(last_median)s / %(last_p90)s); "
        "owned within target %(share)s (%(last_share)s)."
    ) % {
        "median": span(this.own_median_min), "p90": span(this.own_p90_min),
        "last_median": span(last.own_median_min), "last_p90": span(last.own_p90_min),
        "share": _pct(this.own_share), "last_share": _pct(last.own_share),
    }  # fmt: skip


def _resolve_line(digest: Digest) -> str:
    this, last = digest.this, digest.last
    return _(
        "Time to resolve: median %(median)s, p90 %(p90)s (last week %(last_median)s / %(last_p90)s); "
        "resolved within the %(target)s h target %(share)s (%(last_share)s)."
    ) % {
        "median": _hours(this.resolve_median_h), "p90": _hours(this.resolve_p90_h),
        "last_median": _hours(last.resolve_median_h), "last_p90": _hours(last.resolve_p90_h),
        "target": digest.resolve_target_h, "share": _pct(this.resolve_share), "last_share": _pct(last.resolve_share),
    }  # fmt: skip


def _apology_line(digest: Digest) -> str:
    this, last = digest.this, digest.last
    return _(
        "Apologies recorded: %(count)s (%(last_count)s); time to first apology: median %(median)s, "
        "within the %(target)s min target %(share)s (%(last_share)s)."
    ) % {
        "count": this.apologies, "last_count": last.apologies, "median": span(this.apology_median_min),
        "target": digest.targets["own_min"], "share": _pct(this.apology_share), "last_share": _pct(last.apology_share),
    }  # fmt: skip


def _compensation_lines(digest: Digest) -> list[str]:
    this, cur = digest.this, digest.currency
    line = _(
        "Compensation: %(total)s (%(last_total)s); within authority %(within)s, approved above it %(approved)s."
    ) % {
        "total": _money(this.comp_total_minor, cur), "last_total": _money(digest.last.comp_total_minor, cur),
        "within": _money(this.comp_within_minor, cur), "approved": _money(this.comp_approved_minor, cur),
    }  # fmt: skip
    if this.comp_other_minor:
        other = ", ".join(_money(minor, code) for code, minor in this.comp_other_minor.items())
        line += " " + _("Also given in an earlier currency, not added in: %(amounts)s.") % {"amounts": other}
    lines = [line]
    if this.comp_by_gesture:
        gestures = ", ".join(
            f"{name} {_money(minor, cur)}" for name, minor in sorted(this.comp_by_gesture.items())
        )
        lines.append("  " + _("by gesture: %(gestures)s") % {"gestures": gestures})
    return lines


def _escalation_line(digest: Digest) -> str:
    this = digest.this
    values = {
        "count": this.escalations, "last_count": digest.last.escalations,
        "wait": span(this.approval_wait_median_min),
    }  # fmt: skip
    if this.escalation_premium_minor is None:
        return _("Escalations: %(count)s (%(last_count)s); median wait for an approver %(wait)s.") % values
    return _(
        "Escalations: %(count)s (%(last_count)s); median wait for an approver %(wait)s; "
        "escalated cases cost %(premium)s more on average."
    ) % {**values, "premium": _money(this.escalation_premium_minor, digest.currency)}


def _satisfaction_line(digest: Digest) -> str:
    this, last = digest.this, digest.last
    return _(
        "Satisfaction: %(satisfied)s/%(followups)s satisfied %(share)s (%(last_share)s), average score "
        "%(score)s; won back %(winback)s (%(last_winback)s)."
    ) % {
        "satisfied": this.satisfied, "followups": this.followups, "share": _pct(this.satisfaction_share),
        "last_share": _pct(last.satisfaction_share), "score": _num(this.avg_score),
        "winback": _pct(this.winback_share), "last_winback": _pct(last.winback_share),
    }  # fmt: skip


def _verdicts_line(digest: Digest) -> str:
    this = digest.this
    return _(
        "Verdicts given by customers themselves (feedback link): %(customer)s, %(satisfied)s satisfied; "
        "recorded by staff: %(staff)s. Time to customer feedback: median %(median)s from opening."
    ) % {
        "customer": this.customer_verdicts, "satisfied": this.customer_satisfied, "staff": this.staff_verdicts,
        "median": "–" if this.feedback_median_h is None else _("%(hours)s h") % {"hours": _num(this.feedback_median_h)},
    }  # fmt: skip


def _pattern_lines(digest: Digest) -> list[str]:
    if not digest.patterns:
        return []
    return [
        _("Patterns:"),
        *(f"  • {pattern_text(pat)} [{trend_word(pat['trend'])}]" for pat in digest.patterns),
    ]


def _flagged_lines(digest: Digest) -> list[str]:
    if not digest.flagged:
        return []
    return [
        _("Flagged for improvement:"),
        *(
            f"  • #{flag['number']} ({flag['category']}): {flag['note']} (<@{flag['by']}>)"
            for flag in digest.flagged
        ),
        "  " + _("Make one an action: /recover action <case> <what will change> [@owner] [due <when>]."),
    ]


def _slowest_lines(digest: Digest) -> list[str]:
    if not digest.slowest:
        return []
    lines = [_("Slowest open cases:")]
    for slow in digest.slowest:
        values = {"number": slow["number"], "age": _hours(slow["age_hours"]), "problem": slow["problem"][:80]}
        if slow["owner"]:
            line = _("#%(number)s open %(age)s, %(owner)s: %(problem)s") % {
                **values,
                "owner": f"<@{slow['owner']}>",
            }
        else:
            line = _("#%(number)s open %(age)s, unowned: %(problem)s") % values
        lines.append(f"  • {line}")
    return lines


def _recoverer_lines(digest: Digest) -> list[str]:
    if not digest.recoverers:
        return []
    people = ", ".join(
        _("%(person)s (%(recovered)s recovered, %(shoutouts)s shout-outs)")
        % {"person": f"<@{row['user']}>", "recovered": row["recovered"], "shoutouts": row["shoutouts"]}
        for row in digest.recoverers
    )
    return [_("Recovery addicts: %(people)s") % {"people": people}]


def _shoutout_lines(digest: Digest) -> list[str]:
    if not digest.shoutouts:
        return []
    lines = [_("Shout-outs (%(count)s, last week %(last_count)s):") % {
        "count": digest.this.shoutouts, "last_count": digest.last.shoutouts}]  # fmt: skip
    for shout in digest.shoutouts:
        about = f" (#{shout['number']})" if shout["number"] else ""
        lines.append(f"  • <@{shout['from']}> → <@{shout['to']}>{about}: {shout['message']}")
    return lines
