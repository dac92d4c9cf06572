"""Patterns posted once when they cross their threshold; shout-outs, the allowance, the leaderboard."""

from __future__ import annotations

from datetime import timedelta

from teambot.bootstrap import Container
from teambot.core.cases.queries import case_detail
from teambot.core.commands.context import Context
from teambot.core.commands.replies import ErrorReply, TextReply
from teambot.core.policy.settings import PolicyChange
from teambot.core.recognition.replies import LeaderboardReply
from tests.helpers import FakeClock, RecordingNotifier
from tests.scheduling.helpers import CH, T, deadlines, of_kind


async def test_a_category_crossing_its_threshold_is_posted_once(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    s, dl = container.service, deadlines(container)
    await s.change_policy(T, "alice", PolicyChange("digest", ["monday", "09:00", "UTC", "#managers"]))
    for i in range(2):
        await s.open_case(T, CH, "alice", f"Parcel late {i}", category="delivery")
        await dl.sweep()
    assert of_kind(notifier, "pattern") == []
    clock.advance(minutes=1)
    await s.open_case(T, CH, "alice", "Parcel late again", category="delivery")
    await dl.sweep()
    [(rcpt, notice)] = of_kind(notifier, "pattern")
    assert (rcpt.kind, rcpt.id) == ("channel", "managers")
    assert notice.text == "Pattern spotted: 3 cases about delivery this week, up from 0/week (#1, #2, #3)."
    clock.advance(hours=1)
    await s.open_case(T, CH, "alice", "Fourth late parcel", category="delivery")
    await dl.sweep()
    assert len(of_kind(notifier, "pattern")) == 1  # still above it: not news


async def test_a_rising_category_and_a_repeat_customer(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    s, dl = container.service, deadlines(container)
    start = clock.now()
    for weeks_ago in (4, 3, 2, 1):  # one billing case a week for four weeks
        clock.current = start - timedelta(weeks=weeks_ago)
        await s.open_case(T, CH, "alice", "Charged twice", category="billing")
    clock.current = start
    await dl.sweep()
    assert of_kind(notifier, "pattern") == []
    await s.open_case(T, CH, "alice", "Charged twice again", category="billing")
    await dl.sweep()
    assert of_kind(notifier, "pattern") == []  # 1 this week against 1/week
    await s.open_case(T, CH, "alice", "Refund never arrived", category="billing")
    await dl.sweep()
    # 2 this week against 1/week: not the threshold of 3, but 200% of the average.
    await s.open_case(T, CH, "alice", "Mrs Patel: cold room", customer=None)
    await s.open_case(T, CH, "alice", "Invoice in wrong name", customer="Mr Ito")
    await dl.sweep()
    [(rcpt, first)] = of_kind(notifier, "pattern")
    assert rcpt.id == CH  # no digest channel yet: the case's channel hears it
    assert first.text == "Pattern spotted: 2 cases about billing this week, up from 1/week (#5, #6)."
    clock.advance(days=3)
    await s.open_case(T, CH, "alice", "Wrong address on invoice", customer="mr  ito")
    await dl.sweep()
    await dl.sweep()
    repeat = [n for _, n in of_kind(notifier, "pattern") if n.data["pattern"]["kind"] == "customer"]
    assert [n.text for n in repeat] == ["Pattern spotted: Mr Ito has had 2 cases within 30 days (#8, #9)."]


async def test_shoutouts_are_posted_counted_and_kept_meaningful(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    s, cmd = container.service, container.commands
    await s.open_case(T, CH, "alice", "Cold soup", own=True)
    alice, bob = Context(T, "C9", "alice"), Context(T, CH, "bob")

    reply = await cmd.run_text("shoutout @bob 1 stayed late to fix it", alice)
    assert isinstance(reply, TextReply) and "Shout-out to <@bob> for case #1 posted" in reply.text
    [(rcpt, notice)] = of_kind(notifier, "shoutout")
    assert (rcpt.kind, rcpt.id) == ("channel", "C9")
    assert notice.text == "🎉 <@alice> gave <@bob> a shout-out for case #1: stayed late to fix it"
    detail = await case_detail(container.db, T, 1)
    assert [(e.kind, e.data["to"]) for e in detail.events if e.kind == "shoutout"] == [("shoutout", "bob")]

    mine = await cmd.run_text("shoutout @bob I am great", bob)
    assert isinstance(mine, ErrorReply) and "not yourself" in mine.text
    empty = await cmd.run_text("shoutout @carol", bob)
    assert isinstance(empty, ErrorReply) and "Say what <@carol> did well" in empty.text
    missing = await cmd.run_text("shoutout @carol 42 nice", bob)
    assert isinstance(missing, ErrorReply) and "no case #42" in missing.text

    for who in ("carol", "dan"):
        assert isinstance(await cmd.run_text(f"shoutout @{who} calm on the phone", alice), TextReply)
    over = await cmd.run_text("shoutout @erin quick refund", alice)  # the fourth today
    assert isinstance(over, ErrorReply) and "your 3 shout-outs for today" in over.text
    assert len(of_kind(notifier, "shoutout")) == 3
    clock.advance(days=1)
    assert isinstance(await cmd.run_text("shoutout @bob again brilliant", alice), TextReply)

    await s.apologise(T, 1, "alice", "in_person")
    await s.resolve(T, 1, "alice", "new soup", "kitchen")
    await s.answer_followup(T, 1, "alice", satisfied=True, score=5)
    board = await cmd.run_text("leaderboard", bob)
    assert isinstance(board, LeaderboardReply)
    assert [(r.user, r.shoutouts, r.recovered) for r in board.rows] == [
        ("bob", 2, 0),
        ("alice", 0, 1),
        ("carol", 1, 0),
        ("dan", 1, 0),
    ]
    assert board.text.splitlines()[1] == "1. <@bob>: 0 recovered, 2 shout-outs"
    assert "2. <@alice>: 1 recovered, 0 shout-outs, average score 5/5" in board.text
    clock.advance(days=31)
    empty_board = await cmd.run_text("leaderboard", bob)
    assert isinstance(empty_board, LeaderboardReply) and empty_board.rows == []
    assert "No recoveries or shout-outs in the last 30 days" in empty_board.text


async def test_root_causes_written_differently_count_as_one_pattern(
    container: Container, clock: FakeClock
) -> None:
    from teambot.core.insights.patterns import detect
    from teambot.core.policy.rules import read_policy

    s = container.service
    await s.policy(T, "admin")
    causes = ["Boiler not serviced", "boiler  not serviced.", "BOILER not serviced", "late courier"]
    for n, cause in enumerate(causes, 1):
        await s.open_case(T, CH, "a", f"cold room {n}", own=True)
        await s.apologise(T, n, "a", "phone")
        await s.resolve(T, n, "a", "fixed", cause)
        clock.advance(hours=1)
    async with container.db.session() as session:
        sched = await read_policy(session, T, clock.now())
        found = await detect(session, T, clock.now(), sched)
    (boiler,) = [p for p in found if p.kind == "root_cause"]
    assert (boiler.key, boiler.count, boiler.reason, boiler.cases) == (
        "boiler not serviced",
        3,
        "threshold",
        [1, 2, 3],
    )


async def test_root_causes_filed_under_one_cause_count_as_one_pattern(
    container: Container, clock: FakeClock
) -> None:
    """Differently worded root causes meet under the team's cause they are filed under (issue 24)."""
    from teambot.core.commands.context import Context
    from teambot.core.insights.patterns import detect
    from teambot.core.policy.rules import read_policy

    s = container.service
    await s.policy(T, "admin")
    ctx = Context(team_id=T, channel_id=CH, user_id="admin")
    await container.commands.run_text("policy cause add Heat lamp", ctx)
    causes = ["heat lamp on the pass was broken", "food waited under a dead heat lamp", "pass heat lamp not working"]
    for n, cause in enumerate(causes, 1):
        await s.open_case(T, CH, "a", f"cold plates {n}", own=True)
        await s.apologise(T, n, "a", "phone")
        await s.resolve(T, n, "a", "replated", cause)
        clock.advance(hours=1)
    await container.commands.run_text("cause 1,2,3 Heat lamp", ctx)  # any not filed by meaning, by a person
    async with container.db.session() as session:
        sched = await read_policy(session, T, clock.now())
        found = await detect(session, T, clock.now(), sched)
    (lamp,) = [p for p in found if p.kind == "root_cause"]
    assert (lamp.key, lamp.label, lamp.count, lamp.cases) == ("heat lamp", "Heat lamp", 3, [1, 2, 3])


async def test_a_burst_of_opens_waits_on_one_pattern_check(container: Container) -> None:
    from sqlalchemy import func
    from sqlmodel import select

    from teambot.core.scheduling.models import PENDING, DueItem

    s = container.service
    for n in range(5):
        await s.open_case(T, CH, "a", f"late delivery {n}", category="delivery")
    async with container.db.session() as session:
        pending = (
            await session.exec(
                select(func.count()).where(DueItem.kind == "pattern_check", DueItem.status == PENDING)
            )
        ).one()
    assert pending == 1
    await deadlines(container).sweep()
    sent = container.notifier.fallback.sent  # type: ignore[attr-defined]
    patterns = [n.text for _, n in sent if n.kind == "pattern"]
    assert len(patterns) == 1 and "5 cases about delivery this week" in patterns[0], patterns
