"""The weekly digest: figures checked against a hand-computed week, the empty week, exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from teambot.bootstrap import Container
from teambot.core.commands.context import Context
from teambot.core.errors import BadInput
from teambot.core.insights.digest import compute, p90, parse_week, send_time, week_bounds
from teambot.core.insights.replies import DigestReply
from teambot.core.policy.settings import PolicyChange
from tests.helpers import FakeClock, RecordingNotifier
from tests.scheduling.helpers import CH, T, another_process, configure, of_kind, scheduler

W48 = date(2026, 11, 23)


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=UTC)


async def _seed_two_weeks(c: Container, clock: FakeClock) -> None:
    """The fixture week (W48) and the week before (W47); the comments carry the hand figures."""
    s = c.service
    clock.current = at(16, 0)
    await configure(c, T, "alice", pattern_min_cases=2)
    # W47: one case, owned in 20 min, resolved in 2 h, customer satisfied (4/5).
    clock.current = at(17, 10)
    await s.open_case(T, CH, "alice", "Booked the wrong night")  # case 1
    clock.current = at(17, 10, 20)
    await s.claim(T, 1, "bob")
    await s.apologise(T, 1, "bob", "phone")
    clock.current = at(17, 12)
    await s.resolve(T, 1, "bob", "rebooked", "overbooking")
    clock.current = at(17, 13)
    await s.answer_followup(T, 1, "bob", satisfied=True, score=4)

    # W48.
    clock.current = at(23, 9)
    await s.open_case(T, CH, "alice", "Parcel two days late")  # case 2
    clock.current = at(23, 9, 10)  # owned in 10 min
    await s.claim(T, 2, "bob")
    await s.apologise(T, 2, "bob", "email")
    await s.grant(T, 2, "bob", "Waived fee")  # 25.00 within authority
    clock.current = at(23, 13)  # resolved in 4 h
    await s.resolve(T, 2, "bob", "refunded shipping", "Late courier")

    clock.current = at(23, 10)
    await s.open_case(T, CH, "alice", "Second parcel late too")  # case 3
    clock.current = at(23, 10, 30)  # owned in 30 min (misses the 15 min target)
    await s.claim(T, 3, "carol")
    await s.apologise(T, 3, "carol", "phone")
    await s.grant(T, 3, "carol", "Free round of drinks")  # 30.00 within carol's 50
    clock.current = at(23, 11)
    await s.grant(T, 3, "carol", "Room upgrade")  # 80.00 would make 110 > 50: alice is asked
    clock.current = at(23, 11, 20)
    await s.decide(T, 1, "alice", True)  # approved after a 20 min wait
    clock.current = at(24, 16)  # resolved 30 h after opening
    await s.resolve(T, 3, "carol", "sent a replacement", "late courier.")

    clock.current = at(24, 9)
    await s.open_case(T, CH, "alice", "Kitchen forgot the order")  # case 4
    clock.current = at(24, 9, 5)  # owned in 5 min
    await s.claim(T, 4, "bob")
    await s.flag(T, 4, "dan", "kitchen pass too slow")

    clock.current = at(25, 9)
    await s.open_case(T, CH, "alice", "Nobody answered the phone")  # case 5, never owned

    clock.current = at(25, 10)
    await s.answer_followup(T, 2, "bob", satisfied=True, score=5, won_back=True)
    clock.current = at(26, 10)
    await s.answer_followup(T, 3, "carol", satisfied=False, score=2)
    clock.current = at(26, 11)
    await c.commands.run_text("shoutout @bob 2 turned a late parcel into a fan", Context(T, CH, "alice"))


async def test_the_digest_figures_match_the_hand_computed_week(
    container: Container, clock: FakeClock
) -> None:
    await _seed_two_weeks(container, clock)
    clock.current = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    d = await compute(container.db, T, W48, clock.now())
    t, w = d.this, d.last
    assert d.week == "2026-W48" and not d.empty and d.currency == "USD"
    assert (t.opened, t.resolved, t.closed, d.still_open) == (4, 2, 1, 3)
    assert (t.own_median_min, t.own_p90_min, t.owned_within_target, t.own_share) == (10, 30, 2, 0.5)
    assert (t.resolve_median_h, t.resolve_p90_h, t.resolved_within_target, t.resolve_share) == (17, 30, 1, 0.5)
    assert t.apologies == 2
    assert (t.comp_total_minor, t.comp_within_minor, t.comp_approved_minor) == (13500, 5500, 8000)
    assert t.comp_by_gesture == {"Waived fee": 2500, "Free round of drinks": 3000, "Room upgrade": 8000}
    assert (t.escalated_case_avg_minor, t.within_case_avg_minor, t.escalation_premium_minor) == (
        11000,
        2500,
        8500,
    )
    assert (t.escalations, t.approval_wait_median_min) == (1, 20)
    assert (t.followups, t.satisfied, t.satisfaction_share, t.avg_score) == (2, 1, 0.5, 3.5)
    assert (t.won_back, t.won_back_known, t.winback_share) == (1, 1, 1.0)
    assert t.shoutouts == 1
    # Last week beside it.
    assert (w.opened, w.resolved, w.closed, w.own_median_min, w.own_share) == (1, 1, 1, 20, 0.0)
    assert (w.resolve_median_h, w.resolve_share, w.apologies, w.comp_total_minor) == (2, 1.0, 1, 0)
    assert (w.satisfaction_share, w.avg_score, w.winback_share) == (1.0, 4.0, None)
    # The lists.
    assert [p["text"] for p in d.patterns] == [
        "2 cases with root cause Late courier this week, up from 0/week (#2, #3)."
    ]
    assert d.patterns[0]["trend"] == "rising"
    assert d.flagged == [
        {"number": 4, "note": "kitchen pass too slow", "by": "dan", "category": "uncategorised"}
    ]
    assert [c["number"] for c in d.slowest] == [3, 4, 5]
    assert d.slowest[2] == {
        "number": 5, "problem": "Nobody answered the phone", "owner": None, "status": "open", "age_hours": 111.0
    }  # fmt: skip
    assert d.recoverers == [{"user": "bob", "shoutouts": 1, "recovered": 1}]
    assert d.shoutouts == [
        {"from": "alice", "to": "bob", "message": "turned a late parcel into a fan", "number": 2}
    ]
    text = d.as_data()["text"]
    for line in (
        "Recovery digest 2026-W48",
        "Cases: 4 opened (last week 1), 2 resolved (1), 1 closed (1); 3 still open.",
        "Time to own: median 10 min, p90 30 min (last week 20 min / 20 min); owned within target 50% (0%).",
        "resolved within the 24 h target 50% (100%)",
        "Compensation: $135.00 ($0.00); within authority $55.00, approved above it $80.00.",
        "escalated cases cost $85.00 more on average",
        "Satisfaction: 1/2 satisfied 50% (100%), average score 3.5; won back 100% (–).",
        "#4 (uncategorised): kitchen pass too slow (<@dan>)",
        "Recovery addicts: <@bob> (1 recovered, 1 shout-outs)",
        "<@alice> → <@bob> (#2): turned a late parcel into a fan",
    ):
        assert line in text, line


async def test_an_empty_week_still_gets_a_short_digest(container: Container, clock: FakeClock) -> None:
    await container.service.policy(T, "alice")
    d = await compute(container.db, T, date(2026, 11, 30), datetime(2026, 12, 7, 9, tzinfo=UTC))
    assert d.empty and d.this.opened == 0
    assert (
        d.as_data()["text"]
        == "*Recovery digest 2026-W49*\nNo cases this week (last week: 0 opened). Still open: 0."
    )


async def test_the_digest_goes_out_once_per_team_and_week_across_workers_and_restarts(
    container: Container, clock: FakeClock, notifier: RecordingNotifier, db_url: str
) -> None:
    await _seed_two_weeks(container, clock)
    await container.service.change_policy(
        T, "alice", PolicyChange("digest", ["monday", "09:00", "UTC", "#digests"])
    )
    clock.current = datetime(2026, 11, 30, 8, 59, tzinfo=UTC)
    await scheduler(container).tick()  # planned, not yet due
    assert of_kind(notifier, "digest") == []
    await container.close()  # restart across the hour
    clock.current = datetime(2026, 11, 30, 9, 1, tzinfo=UTC)
    async with another_process(db_url, clock) as (a, notes_a), another_process(db_url, clock) as (b, notes_b):
        await asyncio.gather(scheduler(a).tick(), scheduler(b).tick())
        await asyncio.gather(scheduler(a).tick(), scheduler(b).tick())
        sent = of_kind(notes_a, "digest") + of_kind(notes_b, "digest")
    assert len(sent) == 1
    rcpt, notice = sent[0]
    assert (rcpt.kind, rcpt.id) == ("channel", "digests")
    assert notice.data["week"] == "2026-W48" and notice.data["this"]["opened"] == 4
    assert notice.text == notice.data["text"] and notice.text.startswith("*Recovery digest 2026-W48*")


async def test_digest_command_previews_this_week(container: Container, clock: FakeClock) -> None:
    await container.service.open_case(T, CH, "alice", "Cold soup")
    reply = await container.commands.run_text("digest", Context(T, CH, "alice"))
    assert isinstance(reply, DigestReply) and reply.digest.preview
    assert reply.text.startswith("*Recovery digest 2026-W48* (so far)")
    assert "Cases: 1 opened (last week 0)" in reply.text
    last = await container.commands.run_text("digest last", Context(T, CH, "alice"))
    assert isinstance(last, DigestReply) and last.digest.week == "2026-W47" and last.digest.empty


def test_weeks_and_percentiles() -> None:
    assert parse_week("2026-w47") == date(2026, 11, 16)
    try:
        parse_week("last tuesday")
    except BadInput as err:
        assert "2026-W47" in str(err)
    else:
        raise AssertionError("a bad week must be refused")
    start, end = week_bounds(date(2026, 11, 16), "Europe/Paris")
    assert start == datetime(2026, 11, 15, 23, 0, tzinfo=UTC) and end == datetime(
        2026, 11, 22, 23, 0, tzinfo=UTC
    )
    assert p90([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) == 9 and p90([7]) == 7 and p90([]) is None


async def test_send_time_follows_the_policy(container: Container) -> None:
    policy = await container.service.policy(T, "alice")
    policy.digest_weekday, policy.digest_time, policy.digest_timezone = 4, "16:30", "America/New_York"
    assert send_time(policy, date(2026, 11, 30)) == datetime(2026, 12, 4, 21, 30, tzinfo=UTC)
