"""Issue 15, the digest in SQL: on a seeded week (random times to the microsecond, ties, values on
the targets, reopened, re-resolved and cancelled cases, superseded verdicts, a daylight-saving
change inside the week) SQLite and PostgreSQL give the figures a Python reference computes over
the same rows with the documented definitions (`digest.median`, nearest-rank `digest.p90`)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from teambot.core.cases.models import Case, CaseStatus, Grant, TimelineEvent
from teambot.core.db import Database
from teambot.core.insights.digest import Figures, compute, median, p90, share, week_bounds
from teambot.core.policy.rules import new_policy
from teambot.core.scheduling.working_hours import target_time

TZ = "America/New_York"
MONDAY = date(2026, 10, 26)  # 2026-W44: New York leaves daylight saving on Sunday 1 November
NOW = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
OWN_MIN, RESOLVE_H = 15, 24


def _seed(team: str, rng: random.Random, base: int, working: bool) -> tuple[Any, list[Case], list[TimelineEvent], list[Grant]]:
    """Cases opened over five weeks before the digest week's end, with the timeline their fate implies."""
    policy = new_policy(team, "alice", NOW - timedelta(days=120))
    policy.digest_timezone, policy.own_within_minutes, policy.resolve_within_hours = TZ, OWN_MIN, RESOLVE_H
    policy.targets_in_working_hours = working  # then Python counts "resolved within target" by the calendar
    end = week_bounds(MONDAY, TZ)[1]
    cases: list[Case] = []
    events: list[TimelineEvent] = []
    grants: list[Grant] = []

    def event(case: Case, kind: str, at: datetime, **data: Any) -> None:
        events.append(TimelineEvent(team_id=team, case_id=case.id, kind=kind, actor="bob", at=at, data=data))

    for n in range(1, 901):
        opened = end - timedelta(seconds=rng.uniform(0, 35 * 86400), microseconds=rng.randrange(10**6))
        if n % 50 == 0:
            opened = opened.replace(microsecond=0)  # ties of whole seconds
        c = Case(id=base + n, team_id=team, number=n, channel_id="C1", opened_by="alice", opened_at=opened,
                 problem=f"case {n}", category=rng.choice(["food", "room", "noise"]), updated_at=opened)  # fmt: skip
        cases.append(c)
        fate = rng.random()
        if fate < 0.08:
            c.status, c.cancelled_at = CaseStatus.CANCELLED, opened + timedelta(hours=1)
        if rng.random() < 0.85:  # owned, some exactly on the target, some past the week's end
            c.owner_id = rng.choice(["U1", "U2", "U3", ""])
            delay = timedelta(minutes=OWN_MIN) if n % 17 == 0 else timedelta(seconds=rng.expovariate(1 / 900))
            c.owned_at = opened + delay
            c.status = CaseStatus.OWNED if c.status != CaseStatus.CANCELLED else c.status
        if rng.random() < 0.4:
            first = rng.choice([True, False, None])
            data = {} if first is None else {"first": first}
            event(c, "apologised", opened + timedelta(seconds=rng.expovariate(1 / 1200)), **data)
        if rng.random() < 0.1:
            event(c, "approval_requested", opened + timedelta(minutes=5))
            event(c, rng.choice(["approved", "denied"]), opened + timedelta(minutes=30),
                  wait_minutes=round(rng.uniform(0, 90), 1))  # fmt: skip
        if rng.random() < 0.3:
            grants.append(Grant(team_id=team, case_id=base + n, granted_by="bob", gesture=rng.choice(["Tea", "Refund"]),
                                amount_minor=rng.randrange(100, 5000), currency=rng.choice(["EUR"] * 5 + ["USD"]),
                                within_authority=rng.random() < 0.8, granted_at=opened + timedelta(minutes=20)))  # fmt: skip
        if rng.random() < 0.7:  # resolved; sometimes reopened and resolved again
            resolved = opened + (timedelta(hours=RESOLVE_H) if n % 23 == 0 else timedelta(hours=rng.expovariate(1 / 20)))
            event(c, "resolved", resolved)
            c.resolved_at = resolved
            if c.status != CaseStatus.CANCELLED:
                c.status = CaseStatus.RESOLVED
            if rng.random() < 0.15:
                event(c, "reopened", resolved + timedelta(hours=2))
                c.reopened_count, c.status = 1, CaseStatus.OWNED if c.status != CaseStatus.CANCELLED else c.status
                if rng.random() < 0.6:
                    c.resolved_at = resolved + timedelta(hours=rng.uniform(3, 60))
                    event(c, "resolved", c.resolved_at)
                    c.status = CaseStatus.RESOLVED if c.status != CaseStatus.CANCELLED else c.status
            if c.status == CaseStatus.RESOLVED and rng.random() < 0.7:
                answered = c.resolved_at
                for _ in range(rng.choice([1, 1, 2])):  # a second verdict supersedes the first
                    answered += timedelta(hours=rng.uniform(1, 72))
                    happy = rng.random() < 0.7
                    data = {"satisfied": happy, "score": rng.choice([None, 1, 2, 3, 4, 5]),
                            "won_back": rng.choice([None, True, False]), "source": rng.choice(["staff", "customer"])}  # fmt: skip
                    event(c, "followup_answered", answered, **data)
                if happy:
                    c.status, c.closed_at = CaseStatus.CLOSED, answered
    return policy, cases, events, grants


def _reference(policy: Any, cases: list[Case], events: list[TimelineEvent], grants: list[Grant],
               start: datetime, end: datetime) -> Figures:  # fmt: skip
    """The week's figures by the docstring's definitions, in plain Python over every row."""
    live = {c.id: c for c in cases if c.status != CaseStatus.CANCELLED}
    week = sorted((e for e in events if start <= e.at < end and e.case_id in live), key=lambda e: (e.at, e.id or 0))
    f = Figures()
    opened = [c for c in live.values() if start <= c.opened_at < end]
    f.opened = len(opened)
    own = [(c.owned_at - c.opened_at).total_seconds() / 60 for c in opened if c.owned_at and c.owned_at < end]
    f.own_median_min, f.own_p90_min = median(own), p90(own)
    f.owned_within_target = sum(1 for m in own if m <= OWN_MIN)
    f.own_share = share(f.owned_within_target, f.opened)
    last = {e.case_id: e for e in week if e.kind == "resolved"}
    resolve = [(e.at - live[e.case_id].opened_at).total_seconds() / 3600 for e in last.values()]
    f.resolved, f.resolve_median_h, f.resolve_p90_h = len(resolve), median(resolve), p90(resolve)
    f.resolved_within_target = sum(
        1 for e in last.values()
        if e.at <= target_time(live[e.case_id].opened_at, timedelta(hours=RESOLVE_H), policy)
    )  # fmt: skip
    f.resolve_share = f.resolve_target_share = share(f.resolved_within_target, f.resolved)
    sorry = [(e.at - live[e.case_id].opened_at).total_seconds() / 60
             for e in week if e.kind == "apologised" and e.data.get("first", True)]  # fmt: skip
    f.apologies, f.apology_median_min = len(sorry), median(sorry)
    f.apologised_within_target = sum(1 for m in sorry if m <= OWN_MIN)
    f.apology_share = share(f.apologised_within_target, len(sorry))
    f.escalations = sum(1 for e in week if e.kind == "approval_requested")
    f.approval_wait_median_min = median([float(e.data["wait_minutes"]) for e in week if e.kind in ("approved", "denied")])
    given = [g for g in grants if start <= g.granted_at < end and g.case_id in live]
    for g in given:
        if g.currency != policy.currency:
            f.comp_other_minor[g.currency] = f.comp_other_minor.get(g.currency, 0) + g.amount_minor
            continue
        f.comp_total_minor += g.amount_minor
        f.comp_within_minor += g.amount_minor if g.within_authority else 0
        f.comp_by_gesture[g.gesture] = f.comp_by_gesture.get(g.gesture, 0) + g.amount_minor
    f.comp_approved_minor = f.comp_total_minor - f.comp_within_minor
    per_case: dict[int, list[Grant]] = {}
    for g in given:
        if g.currency == policy.currency:
            per_case.setdefault(g.case_id, []).append(g)
    up = [sum(g.amount_minor for g in gs) for gs in per_case.values() if not all(g.within_authority for g in gs)]
    within = [sum(g.amount_minor for g in gs) for gs in per_case.values() if all(g.within_authority for g in gs)]
    f.escalated_case_avg_minor = round(sum(up) / len(up)) if up else None
    f.within_case_avg_minor = round(sum(within) / len(within)) if within else None
    if up and within:
        f.escalation_premium_minor = (f.escalated_case_avg_minor or 0) - (f.within_case_avg_minor or 0)
    answers = list({e.case_id: e for e in week if e.kind == "followup_answered"}.values())
    f.followups = len(answers)
    f.satisfied = f.closed = sum(1 for e in answers if e.data.get("satisfied"))
    f.satisfaction_share = share(f.satisfied, f.followups)
    scores = [int(e.data["score"]) for e in answers if e.data.get("score") is not None]
    f.avg_score = round(sum(scores) / len(scores), 2) if scores else None
    known = [e for e in answers if e.data.get("won_back") is not None]
    f.won_back_known, f.won_back = len(known), sum(1 for e in known if e.data["won_back"])
    f.winback_share = share(f.won_back, f.won_back_known)
    by_customer = [e for e in answers if e.data.get("source") == "customer"]
    f.customer_verdicts = len(by_customer)
    f.customer_satisfied = sum(1 for e in by_customer if e.data.get("satisfied"))
    f.staff_verdicts = len(answers) - len(by_customer)
    f.feedback_median_h = median([(e.at - live[e.case_id].opened_at).total_seconds() / 3600 for e in by_customer])
    return f


def _still_open(cases: list[Case], events: list[TimelineEvent], at: datetime) -> tuple[int, list[int]]:
    """Replayed from each case's last state event before `at`; the oldest five being worked."""
    working, waiting = [], 0
    for c in sorted(cases, key=lambda c: (c.opened_at, c.id or 0)):
        if c.status == CaseStatus.CANCELLED or c.opened_at >= at:
            continue
        states = [e for e in events if e.case_id == c.id and e.at < at
                  and e.kind in ("resolved", "followup_answered", "reopened")]  # fmt: skip
        e = max(states, key=lambda e: (e.at, e.id or 0)) if states and c.resolved_at else None
        if e is None or e.kind == "reopened" or (e.kind == "followup_answered" and not e.data.get("satisfied")):
            working.append(c.number)
        elif e.kind == "resolved":
            waiting += 1
    return len(working) + waiting, working[:5]


async def _digest_on(url: str, team: str, seed: int, working: bool) -> tuple[Any, Any]:
    db = Database(url)
    try:
        async with db.read() as s:  # ids after any earlier run's cases in this database
            base = (await s.exec(select(func.max(Case.id)))).one() or 0
        policy, cases, events, grants = _seed(team, random.Random(seed), int(base), working)
        async with db.session() as s:
            s.add(policy)
            await s.commit()
            s.add_all(cases)
            await s.commit()
            s.add_all([*events, *grants])
            await s.commit()
        async with db.read() as s:  # the rows as stored (ids given, times as the database keeps them)
            stored = (
                list((await s.exec(select(Case).where(Case.team_id == team))).all()),
                list((await s.exec(select(TimelineEvent).where(TimelineEvent.team_id == team))).all()),
                list((await s.exec(select(Grant).where(col(Grant.team_id) == team))).all()),
            )
        return await compute(db, team, MONDAY, NOW), (policy, *stored)
    finally:
        await db.dispose()


@pytest.mark.parametrize(("seed", "working"), [(15, False), (47, True)])
async def test_sqlite_and_postgresql_rank_the_week_as_python_does(
    migrated_urls: dict[str, str], seed: int, working: bool
) -> None:
    if "postgres" not in migrated_urls:
        pytest.skip(f"PostgreSQL unreachable: {migrated_urls.get('postgres_skip')}")
    team = f"TQ{uuid.uuid4().hex[:8]}"  # a team of its own: other tests' rows stay out
    digests = {}
    for kind in ("sqlite", "postgres"):
        digests[kind], rows = await _digest_on(migrated_urls[kind], team, seed, working)
    policy, cases, events, grants = rows
    start, end = week_bounds(MONDAY, TZ)
    this, last = _reference(policy, cases, events, grants, start, end), _reference(
        policy, cases, events, grants, start - timedelta(days=7), end - timedelta(days=7)
    )
    assert this.opened > 100 and this.resolved > 50 and this.followups > 10 and this.apologies > 10
    assert this.own_median_min is not None and this.approval_wait_median_min is not None
    count, oldest = _still_open(cases, events, end)
    zone = ZoneInfo(TZ)
    per_day: dict[str, dict[str, int]] = {}
    for c in cases:
        if c.status != CaseStatus.CANCELLED and start <= c.opened_at < end:
            day = per_day.setdefault(c.opened_at.astimezone(zone).date().isoformat(), {})
            day[c.category] = day.get(c.category, 0) + 1
    assert len(per_day) == 7
    for kind, d in digests.items():
        assert d.this == this, kind
        assert d.last == last, kind
        assert (d.still_open, [x["number"] for x in d.slowest]) == (count, oldest), kind
        assert d.opened_per_day == per_day, kind
        assert len(d.resolve_hours) == this.resolved, kind
    assert digests["sqlite"].as_data() == digests["postgres"].as_data()
