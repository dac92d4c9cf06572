"""The weekly digest as data (and a complete plain-text rendering of it).

A digest covers one ISO week, Monday 00:00 to Monday 00:00 in the team's digest time zone,
and goes out at the policy's weekday and time in the week after. It reads only that week's
rows through indexes (cases by opened_at, timeline events, grants, flags and shout-outs by
team and time) plus the cases those rows name and the open cases, so its cost follows the
week, not the history. Each figure comes with the week before beside it.

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
- percentiles: median as usual; p90 by nearest rank.
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

import math
import statistics
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.models import Case, CaseStatus, Grant, ImprovementFlag, TimelineEvent
from teambot.core.db import Database
from teambot.core.errors import BadInput
from teambot.core.insights.patterns import detect
from teambot.core.money import format_amount, from_minor
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import read_policy
from teambot.core.recognition.models import Shoutout
from teambot.core.scheduling.deadlines import target_time

WEEK = timedelta(days=7)


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
        raise BadInput(f"{text!r} is not an ISO week.", "Write it like 2026-W47.", field="week") from None


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

    @property
    def empty(self) -> bool:
        return (
            self.this.opened == 0 and self.this.resolved == 0 and self.this.closed == 0 and not self.shoutouts
        )

    def as_data(self) -> dict[str, Any]:
        return {**asdict(self), "empty": self.empty, "text": digest_text(self)}


# Only the columns the digest reads travel back, as plain rows: building ORM objects for a
# busy week's cases and events cost more than the queries themselves.
_CASE_COLS = (Case.id, Case.number, Case.opened_at, Case.owned_at, Case.category, Case.owner_id)
_EVENT_KINDS = ("resolved", "apologised", "approval_requested", "approved", "denied", "followup_answered")


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


async def figures(
    s: AsyncSession, policy: Policy, start: datetime, end: datetime
) -> tuple[Figures, dict[str, Any]]:
    """The week's numbers, and the rows the digest lists (events, cases) for reuse."""
    team = policy.team_id
    other: dict[str, int] = {}
    opened = [c for c in await _rows(s, Case, Case.opened_at, team, start, end, *_CASE_COLS, Case.status)
              if c.status != CaseStatus.CANCELLED]  # fmt: skip
    events = list(
        (
            await s.exec(
                select(
                    TimelineEvent.kind,
                    TimelineEvent.case_id,
                    TimelineEvent.at,
                    TimelineEvent.data,
                    *_CASE_COLS,
                )
                .join(Case, col(Case.id) == TimelineEvent.case_id)
                .where(
                    TimelineEvent.team_id == team,
                    col(TimelineEvent.at) >= start,
                    col(TimelineEvent.at) < end,
                    col(TimelineEvent.kind).in_(_EVENT_KINDS),
                    col(Case.status) != CaseStatus.CANCELLED,  # a cancelled case counts nowhere
                )
            )
        ).all()
    )
    grants = list(
        (
            await s.exec(
                select(
                    Grant.case_id, Grant.gesture, Grant.amount_minor, Grant.within_authority, Grant.currency
                )
                .join(Case, col(Case.id) == Grant.case_id)
                .where(
                    Grant.team_id == team, col(Grant.granted_at) >= start, col(Grant.granted_at) < end,
                    col(Case.status) != CaseStatus.CANCELLED,
                )
            )
        ).all()
    )  # fmt: skip
    for g in grants:
        if g.currency != policy.currency:
            other[g.currency] = other.get(g.currency, 0) + g.amount_minor
    grants = [g for g in grants if g.currency == policy.currency]
    shouts = await _rows(s, Shoutout, Shoutout.at, team, start, end)
    cases: dict[int, Any] = {e.id: e for e in events}
    for c in opened:
        cases[c.id] = c
    f = Figures(opened=len(opened), shoutouts=len(shouts), comp_other_minor=dict(sorted(other.items())))

    own = [(c.owned_at - c.opened_at).total_seconds() / 60 for c in opened if c.owned_at and c.owned_at < end]
    f.own_median_min, f.own_p90_min = median(own), p90(own)
    f.owned_within_target = sum(1 for m in own if m <= policy.own_within_minutes)
    f.own_share = share(f.owned_within_target, f.opened)

    last_resolved: dict[int, Any] = {}
    for e in sorted((e for e in events if e.kind == "resolved"), key=lambda e: e.at):
        last_resolved[e.case_id] = e  # a reopened case counts once, by its last resolution
    resolve = [(e.at - e.opened_at).total_seconds() / 3600 for e in last_resolved.values()]
    f.resolved = len(resolve)
    f.resolve_median_h, f.resolve_p90_h = median(resolve), p90(resolve)
    target = timedelta(hours=policy.resolve_within_hours)
    f.resolved_within_target = sum(
        1 for e in last_resolved.values() if e.at <= target_time(e.opened_at, target, policy)
    )
    f.resolve_share = share(f.resolved_within_target, f.resolved)
    f.apologies = sum(1 for e in events if e.kind == "apologised" and e.data.get("first", True))

    f.comp_total_minor = sum(g.amount_minor for g in grants)
    f.comp_within_minor = sum(g.amount_minor for g in grants if g.within_authority)
    f.comp_approved_minor = f.comp_total_minor - f.comp_within_minor
    for g in grants:
        f.comp_by_gesture[g.gesture] = f.comp_by_gesture.get(g.gesture, 0) + g.amount_minor
    per_case: dict[int, list[Any]] = {}
    for g in grants:
        per_case.setdefault(g.case_id, []).append(g)
    escalated = [
        sum(x.amount_minor for x in gs) for gs in per_case.values() if any(not x.within_authority for x in gs)
    ]
    within = [
        sum(x.amount_minor for x in gs) for gs in per_case.values() if all(x.within_authority for x in gs)
    ]
    f.escalated_case_avg_minor = round(sum(escalated) / len(escalated)) if escalated else None
    f.within_case_avg_minor = round(sum(within) / len(within)) if within else None
    if escalated and within:
        f.escalation_premium_minor = (f.escalated_case_avg_minor or 0) - (f.within_case_avg_minor or 0)

    f.escalations = sum(1 for e in events if e.kind == "approval_requested")
    waits = [
        float(e.data["wait_minutes"])
        for e in events
        if e.kind in ("approved", "denied") and "wait_minutes" in e.data
    ]
    f.approval_wait_median_min = median(waits)

    latest: dict[int, Any] = {}
    for e in sorted((e for e in events if e.kind == "followup_answered"), key=lambda e: e.at):
        latest[e.case_id] = e  # a verdict superseded by a later one in the week counts once
    answers = list(latest.values())
    f.followups = len(answers)
    f.satisfied = sum(1 for e in answers if e.data.get("satisfied"))
    f.closed = f.satisfied
    f.satisfaction_share = share(f.satisfied, f.followups)
    scores = [int(e.data["score"]) for e in answers if e.data.get("score") is not None]
    f.avg_score = round(sum(scores) / len(scores), 2) if scores else None
    known = [e for e in answers if e.data.get("won_back") is not None]
    f.won_back_known = len(known)
    f.won_back = sum(1 for e in known if e.data.get("won_back"))
    f.winback_share = share(f.won_back, f.won_back_known)
    _clock_figures(f, policy, events, resolve, answers)
    return f, {
        "events": events, "cases": cases, "shouts": shouts, "answers": answers, "opened": opened,
        "resolve_hours": resolve,
    }  # fmt: skip


def _clock_figures(f: Figures, policy: Policy, events: list[Any], resolve: list[float], answers: list[Any]) -> None:
    """Time to first apology and to resolve against the targets; customer-given verdicts apart."""
    apologies = [
        (e.at - e.opened_at).total_seconds() / 60
        for e in events
        if e.kind == "apologised" and e.data.get("first", True)
    ]
    f.apology_median_min = median(apologies)
    f.apologised_within_target = sum(1 for m in apologies if m <= policy.own_within_minutes)
    f.apology_share = share(f.apologised_within_target, len(apologies))
    f.resolve_target_share = f.resolve_share  # against the team's own target (working hours if it counts them)
    by_customer = [e for e in answers if e.data.get("source") == "customer"]
    f.customer_verdicts = len(by_customer)
    f.customer_satisfied = sum(1 for e in by_customer if e.data.get("satisfied"))
    f.staff_verdicts = len(answers) - len(by_customer)
    f.feedback_median_h = median([(e.at - e.opened_at).total_seconds() / 3600 for e in by_customer])


_STATE_KINDS = ("resolved", "followup_answered", "reopened")


async def _open_at(s: AsyncSession, team_id: str, at: datetime) -> tuple[list[Any], list[Any]]:
    """The cases open at `at`: (being worked, with "open"/"owned"), and (resolved, waiting for the
    follow-up). A case's state then is replayed from its timeline before `at`, so a case closed
    since still counts for a past week, and one reopened since does not."""
    rows = (
        await s.exec(
            select(Case).where(
                Case.team_id == team_id, col(Case.opened_at) < at, col(Case.status) != CaseStatus.CANCELLED,
                or_(col(Case.closed_at).is_(None), col(Case.closed_at) >= at, col(Case.reopened_count) > 0),
            )
        )
    ).all()  # fmt: skip
    cases = list(rows)
    replay = [c.id for c in cases if c.resolved_at is not None]
    last: dict[int, Any] = {}
    if replay:
        events = await s.exec(
            select(TimelineEvent.case_id, TimelineEvent.kind, TimelineEvent.at, TimelineEvent.data)
            .where(
                col(TimelineEvent.case_id).in_(replay), col(TimelineEvent.at) < at,
                col(TimelineEvent.kind).in_(_STATE_KINDS),
            )
            .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
        )  # fmt: skip
        for e in events.all():
            last[e.case_id] = e
    working, waiting = [], []
    for c in cases:
        e = last.get(c.id or 0)
        if e is None or e.kind == "reopened" or (e.kind == "followup_answered" and not e.data.get("satisfied")):
            owned = c.owned_at is not None and c.owned_at < at
            working.append((c, "owned" if owned else "open"))
        elif e.kind == "resolved":
            waiting.append((c, "resolved"))
    return working, waiting


async def compute(
    db: Database, team_id: str, monday: date, now: datetime, *, preview: bool = False
) -> Digest:
    """The digest of the ISO week starting `monday` (in the team's digest time zone)."""
    async with db.read() as s:
        policy = await s.get(Policy, team_id)
        if policy is None:
            raise BadInput(
                f"Team {team_id!r} has no cases or policy yet.", "Check the team id (teambot export --csv)."
            )
        tz = policy.digest_timezone
        start, end = week_bounds(monday, tz)
        until = min(end, max(now + timedelta(microseconds=1), start)) if preview else end  # now included
        this, rows = await figures(s, policy, start, until)
        last, _ = await figures(s, policy, start - WEEK, end - WEEK)
        cases: dict[int, Any] = rows["cases"]
        sched = await read_policy(s, team_id, now)
        patterns = [p.as_data() for p in await detect(s, team_id, until, sched)]
        flags = await _rows(s, ImprovementFlag, ImprovementFlag.flagged_at, team_id, start, end)
        flag_cases = await _cases(s, {fl.case_id for fl in flags} - set(cases))
        cases.update(flag_cases)
        flagged = [
            {
                "number": cases[fl.case_id].number,
                "note": fl.note,
                "by": fl.flagged_by,
                "category": cases[fl.case_id].category,
            }
            for fl in flags
            if fl.case_id in cases
        ]
        working, waiting = await _open_at(s, team_id, until)
        still_open = len(working) + len(waiting)
        slowest = [
            {
                "number": c.number, "problem": c.problem, "owner": c.owner_id, "status": state,
                "age_hours": round((until - c.opened_at).total_seconds() / 3600, 1),
            }
            for c, state in sorted(working, key=lambda cs: cs[0].opened_at)[:5]
        ]  # fmt: skip
        previous = []
        for back in range(4, 0, -1):
            p_start, p_end = week_bounds(monday - back * WEEK, tz)
            n = (
                await s.exec(
                    select(func.count()).select_from(Case).where(
                        Case.team_id == team_id, col(Case.opened_at) >= p_start, col(Case.opened_at) < p_end,
                        col(Case.status) != CaseStatus.CANCELLED,
                    )
                )
            ).one()  # fmt: skip
            previous.append({"week": week_label(monday - back * WEEK), "opened": int(n)})
        zone = ZoneInfo(tz)
        per_day: dict[str, dict[str, int]] = {}
        for c in rows["opened"]:
            day = per_day.setdefault(c.opened_at.astimezone(zone).date().isoformat(), {})
            day[c.category] = day.get(c.category, 0) + 1
        tally: dict[str, dict[str, Any]] = {}
        for sh in rows["shouts"]:
            tally.setdefault(sh.recipient, {"user": sh.recipient, "shoutouts": 0, "recovered": 0})[
                "shoutouts"
            ] += 1
        for e in rows["answers"]:
            c = cases.get(e.case_id or 0)
            if e.data.get("satisfied") and c is not None and c.owner_id:
                tally.setdefault(c.owner_id, {"user": c.owner_id, "shoutouts": 0, "recovered": 0})[
                    "recovered"
                ] += 1
        recoverers = sorted(tally.values(), key=lambda r: (-(r["shoutouts"] + r["recovered"]), r["user"]))[:3]
        shout_list = [
            {"from": sh.giver, "to": sh.recipient, "message": sh.message,
             "number": cases[sh.case_id].number if sh.case_id in cases else None}
            for sh in rows["shouts"]
        ]  # fmt: skip
        if any(sh.case_id and sh.case_id not in cases for sh in rows["shouts"]):
            more = await _cases(s, {sh.case_id for sh in rows["shouts"] if sh.case_id} - set(cases))
            for item, sh in zip(shout_list, rows["shouts"], strict=True):
                if sh.case_id in more:
                    item["number"] = more[sh.case_id].number
        return Digest(
            team_id=team_id, week=week_label(monday), start=start.isoformat(), end=end.isoformat(), timezone=tz,
            currency=policy.currency, this=this, last=last, still_open=int(still_open), patterns=patterns,
            flagged=flagged, slowest=slowest, recoverers=recoverers, shoutouts=shout_list, preview=preview,
            resolve_target_h=policy.resolve_within_hours, categories=list(policy.categories),
            previous_weeks=previous, opened_per_day=per_day, resolve_hours=[round(h, 2) for h in rows["resolve_hours"]],
            targets={"own_min": policy.own_within_minutes, "resolve_h": policy.resolve_within_hours},
        )  # fmt: skip


# ----- text -------------------------------------------------------------------------------


def _num(value: float | None, unit: str = "") -> str:
    return "–" if value is None else f"{value:g}{unit}"


def span(minutes: float | None) -> str:
    """A duration as people read it: `45 min`, `3 h 20 min`, `2 d 4 h`; never `1380 min`."""
    if minutes is None:
        return "–"
    total = round(minutes)
    if total < 1:
        return "under 1 min"
    if total < 60:
        return f"{total} min"
    if total < 24 * 60:
        h, m = divmod(total, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d, rest = divmod(total, 24 * 60)
    h = round(rest / 60)
    if h == 24:
        d, h = d + 1, 0
    return f"{d} d {h} h" if h else f"{d} d"


def _hours(value: float | None) -> str:
    return span(None if value is None else value * 60)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{round(value * 100)}%"


def digest_text(d: Digest) -> str:
    """A complete plain-text digest: what a notice falls back to and what the shell prints."""
    t, w, cur = d.this, d.last, d.currency

    def money(minor: int | None) -> str:
        return "–" if minor is None else format_amount(from_minor(minor, cur), cur)

    head = f"*Recovery digest {d.week}*" + (" (so far)" if d.preview else "")
    if d.empty:
        lines = [head, f"No cases this week (last week: {w.opened} opened). Still open: {d.still_open}."]
        if d.patterns:
            lines.append("Patterns: " + "; ".join(p["text"] for p in d.patterns))
        return "\n".join(lines)
    lines = [
        head,
        f"Cases: {t.opened} opened (last week {w.opened}), {t.resolved} resolved ({w.resolved}), "
        f"{t.closed} closed ({w.closed}); {d.still_open} still open.",
        f"Time to own: median {span(t.own_median_min)}, p90 {span(t.own_p90_min)} "
        f"(last week {span(w.own_median_min)} / {span(w.own_p90_min)}); "
        f"owned within target {_pct(t.own_share)} ({_pct(w.own_share)}).",
        f"Time to resolve: median {_hours(t.resolve_median_h)}, p90 {_hours(t.resolve_p90_h)} "
        f"(last week {_hours(w.resolve_median_h)} / {_hours(w.resolve_p90_h)}); "
        f"resolved within the {d.resolve_target_h} h target {_pct(t.resolve_share)} ({_pct(w.resolve_share)}).",
        f"Apologies recorded: {t.apologies} ({w.apologies}); time to first apology: median "
        f"{span(t.apology_median_min)}, within the {d.targets['own_min']} min target "
        f"{_pct(t.apology_share)} ({_pct(w.apology_share)}).",
        f"Compensation: {money(t.comp_total_minor)} ({money(w.comp_total_minor)}); within authority "
        f"{money(t.comp_within_minor)}, approved above it {money(t.comp_approved_minor)}."
        + (
            " Also given in an earlier currency, not added in: "
            + ", ".join(format_amount(from_minor(m, c), c) for c, m in t.comp_other_minor.items())
            + "."
            if t.comp_other_minor
            else ""
        ),
    ]
    if t.comp_by_gesture:
        lines.append(
            "  by gesture: " + ", ".join(f"{g} {money(v)}" for g, v in sorted(t.comp_by_gesture.items()))
        )
    lines.append(
        f"Escalations: {t.escalations} ({w.escalations}); median wait for an approver "
        f"{span(t.approval_wait_median_min)}"
        + (
            f"; escalated cases cost {money(t.escalation_premium_minor)} more on average."
            if t.escalation_premium_minor is not None
            else "."
        )
    )
    lines.append(
        f"Satisfaction: {t.satisfied}/{t.followups} satisfied {_pct(t.satisfaction_share)} "
        f"({_pct(w.satisfaction_share)}), average score {_num(t.avg_score)}; won back "
        f"{_pct(t.winback_share)} ({_pct(w.winback_share)})."
    )
    lines.append(
        f"Verdicts given by customers themselves (feedback link): {t.customer_verdicts}, "
        f"{t.customer_satisfied} satisfied; recorded by staff: {t.staff_verdicts}. Time to customer "
        f"feedback: median {_num(t.feedback_median_h, ' h')} from opening."
    )
    if d.patterns:
        lines.append("Patterns:")
        lines += [f"  • {p['text']} [{p['trend']}]" for p in d.patterns]
    if d.flagged:
        lines.append("Flagged for improvement:")
        lines += [f"  • #{f['number']} ({f['category']}): {f['note']} (<@{f['by']}>)" for f in d.flagged]
    if d.slowest:
        lines.append("Slowest open cases:")
        lines += [
            f"  • #{c['number']} open {_hours(c['age_hours'])}, "
            + (f"<@{c['owner']}>" if c["owner"] else "unowned")
            + f": {c['problem'][:80]}"
            for c in d.slowest
        ]
    if d.recoverers:
        lines.append(
            "Recovery addicts: "
            + ", ".join(
                f"<@{r['user']}> ({r['recovered']} recovered, {r['shoutouts']} shout-outs)"
                for r in d.recoverers
            )
        )
    if d.shoutouts:
        lines.append(f"Shout-outs ({t.shoutouts}, last week {w.shoutouts}):")
        lines += [
            f"  • <@{s['from']}> → <@{s['to']}>"
            + (f" (#{s['number']})" if s["number"] else "")
            + f": {s['message']}"
            for s in d.shoutouts
        ]
    return "\n".join(lines)
