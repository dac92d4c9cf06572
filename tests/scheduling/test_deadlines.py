"""Every nudge fires once at its time, not after it is cancelled; leases, retries, restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlmodel import select

from teambot.bootstrap import Container
from teambot.core.cases.replies import CaseReply
from teambot.core.commands.context import Context
from teambot.core.commands.replies import ErrorReply
from teambot.core.leases import DUE
from teambot.core.ports import Recipient
from teambot.core.scheduling.models import CANCELLED, SENT, DueItem
from tests.helpers import FakeClock, RecordingNotifier
from tests.scheduling.helpers import (
    CH,
    FlakyNotifier,
    T,
    another_process,
    configure,
    deadlines,
    of_kind,
    scheduler,
)

USER = lambda u: Recipient("user", u, "shell")  # noqa: E731
CHANNEL = Recipient("channel", CH, "shell")


async def _items(c: Container, kind: str) -> list[DueItem]:
    async with c.db.session() as s:
        return list((await s.exec(select(DueItem).where(DueItem.kind == kind).order_by(DueItem.id))).all())


async def test_unowned_case_nudges_its_channel_once_then_escalates_once(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    await container.service.open_case(T, CH, "alice", "Soup was cold")
    dl = deadlines(container)
    clock.advance(minutes=14)
    await dl.sweep()
    assert of_kind(notifier, "nudge_unowned") == []
    clock.advance(minutes=1)
    await dl.sweep()
    await dl.sweep()
    nudges = of_kind(notifier, "nudge_unowned")
    assert len(nudges) == 1
    rcpt, notice = nudges[0]
    assert rcpt == CHANNEL and notice.data["number"] == 1 and "/recover claim 1" in notice.text
    assert "no owner for 15 min" in notice.text
    clock.advance(minutes=15)  # missed twice: the channel again, and the leads (the admin here), once
    await dl.sweep()
    assert len(of_kind(notifier, "nudge_unowned")) == 2
    escalated = of_kind(notifier, "nudge_escalated")
    assert [r for r, _ in escalated] == [USER("alice")]
    assert "missed its time to own twice" in escalated[0][1].text
    clock.advance(hours=2)
    await dl.sweep()
    assert len(of_kind(notifier, "nudge_unowned")) == 2 and len(of_kind(notifier, "nudge_escalated")) == 1


async def test_claiming_cancels_the_unowned_nudge(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    opened = await container.service.open_case(T, CH, "alice", "Soup was cold")
    clock.advance(minutes=5)
    await container.service.claim(T, 1, "bob")
    clock.advance(hours=1)
    await deadlines(container).sweep()
    assert of_kind(notifier, "nudge_unowned") == []
    [item] = await _items(container, "nudge_unowned")
    assert item.status == CANCELLED and item.case_id == opened.case.id


async def test_resolve_nudges_the_owner_before_and_at_the_deadline_in_working_hours(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    clock.current = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)  # Monday noon
    await container.service.open_case(T, CH, "alice", "Room not cleaned")
    clock.advance(minutes=5)
    await container.service.claim(T, 1, "bob")
    dl = deadlines(container)
    clock.current = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 18 h in: 6 a.m., before bob's day
    report = await dl.sweep()
    assert of_kind(notifier, "nudge_resolve") == [] and len(report.deferred) == 1
    clock.current = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # the start of his working day
    await dl.sweep()
    [(rcpt, early)] = of_kind(notifier, "nudge_resolve")
    assert rcpt == USER("bob") and "should be resolved by Tuesday 24 November, 12:00" in early.text
    assert "3 h left" in early.text
    clock.current = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # the deadline
    await dl.sweep()
    late = of_kind(notifier, "nudge_resolve")[1]
    assert late[0] == USER("bob") and "past its 24 h resolve target" in late[1].text
    assert of_kind(notifier, "nudge_escalated") == []
    clock.current = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # missed twice, but after hours
    await dl.sweep()
    assert len(of_kind(notifier, "nudge_resolve")) == 2
    clock.current = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    await dl.sweep()
    assert len(of_kind(notifier, "nudge_resolve")) == 3
    assert [r for r, _ in of_kind(notifier, "nudge_escalated")] == [CHANNEL, USER("alice")]
    clock.advance(days=3)
    await dl.sweep()
    assert len(of_kind(notifier, "nudge_resolve")) == 3 and len(of_kind(notifier, "nudge_escalated")) == 2


async def _resolved_case(c: Container, clock: FakeClock) -> None:
    s = c.service
    await s.open_case(T, CH, "alice", "Lost luggage", customer="Mr Jones")
    await s.claim(T, 1, "bob")
    await s.apologise(T, 1, "bob", "phone")
    clock.advance(hours=1)
    await s.resolve(T, 1, "bob", "Delivered by courier", "tag misprinted")  # Monday 10:00


async def test_followup_nudge_has_answers_snoozes_and_stops_when_answered(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    await _resolved_case(container, clock)
    dl = deadlines(container)
    clock.advance(hours=47, minutes=59)
    await dl.sweep()
    assert of_kind(notifier, "followup_due") == []
    clock.advance(minutes=1)  # Wednesday 10:00, 48 h after resolving
    await dl.sweep()
    [(rcpt, notice)] = of_kind(notifier, "followup_due")
    assert rcpt == USER("bob") and notice.data["number"] == 1
    assert notice.data["actions"] == ["satisfied", "not_yet", "snooze"]
    assert "follow up with Mr Jones on case #1" in notice.text

    bob = Context(T, CH, "bob")
    reply = await container.commands.run_text("snooze 1 for 2h", bob)
    assert isinstance(reply, CaseReply) and "snoozed until Wednesday 25 November, 12:00" in reply.message
    assert reply.detail is not None and reply.detail.case.followup_due_at == clock.now() + timedelta(hours=2)
    refused = await container.commands.run_text("snooze 1 for 2h", Context(T, CH, "carol"))
    assert isinstance(refused, ErrorReply) and "Only the owner" in refused.text
    bad = await container.commands.run_text("snooze 1 for ever", bob)
    assert isinstance(bad, ErrorReply) and "snooze" in bad.text and bad.echo == "snooze 1 for ever"
    clock.advance(hours=1, minutes=59)
    await dl.sweep()
    assert len(of_kind(notifier, "followup_due")) == 1
    clock.advance(minutes=1)
    await dl.sweep()
    assert len(of_kind(notifier, "followup_due")) == 2  # again, and not escalated: snoozing is an answer
    assert of_kind(notifier, "nudge_escalated") == []

    await container.service.answer_followup(T, 1, "bob", satisfied=True, score=5)
    clock.advance(days=3)
    await dl.sweep()
    assert len(of_kind(notifier, "followup_due")) == 2 and of_kind(notifier, "nudge_escalated") == []
    nothing = await container.commands.run_text("snooze 1", bob)
    assert isinstance(nothing, ErrorReply) and "no follow-up waiting" in nothing.text


async def test_followup_default_snooze_is_the_owners_next_morning(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    await _resolved_case(container, clock)
    await configure(container, T, "alice", timezones={"bob": "America/New_York"})
    clock.advance(hours=48)
    await deadlines(container).sweep()  # Wed 10:00 UTC is 05:00 in New York: held back
    assert of_kind(notifier, "followup_due") == []
    clock.current = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # 09:00 in New York
    await deadlines(container).sweep()
    assert len(of_kind(notifier, "followup_due")) == 1
    reply = await container.commands.run_text("snooze 1", Context(T, CH, "bob"))
    assert isinstance(reply, CaseReply)
    assert reply.detail is not None and reply.detail.case.followup_due_at == datetime(
        2026, 11, 26, 14, 0, tzinfo=UTC
    )  # Thursday 09:00 New York time


async def test_next_step_due_nudges_its_owner_and_done_cancels(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    s = container.service
    await s.open_case(T, CH, "alice", "Wrong size delivered", own=True)
    await s.add_step(T, 1, "alice", "Courier the right size", "carol", clock.now() + timedelta(hours=2))
    await s.add_step(T, 1, "alice", "Call the customer", "dan", clock.now() + timedelta(hours=3))
    clock.advance(hours=1)
    await s.complete_step(T, 1, 2, "dan")
    clock.advance(hours=1)
    dl = deadlines(container)
    await dl.sweep()
    [(rcpt, notice)] = of_kind(notifier, "step_due")
    assert rcpt == USER("carol") and notice.data["position"] == 1 and "/recover done 1.1" in notice.text
    clock.advance(hours=2)
    await dl.sweep()
    assert len(of_kind(notifier, "step_due")) == 1  # step 2 was done before it fell due


async def test_a_waiting_approval_reminds_the_approvers_until_answered(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    s = container.service
    await s.open_case(T, CH, "alice", "Double-booked table")
    await s.claim(T, 1, "bob")
    await s.apologise(T, 1, "bob", "in_person")
    await s.grant(T, 1, "bob", "Room upgrade")  # 80 > bob's 50: alice is asked
    assert len(of_kind(notifier, "approval_request")) == 1
    dl = deadlines(container)
    clock.advance(minutes=15)
    await dl.sweep()
    reminders = of_kind(notifier, "approval_request")
    assert len(reminders) == 2 and reminders[1][0] == USER("alice") and reminders[1][1].data["reminder"]
    assert "has waited 15 min" in reminders[1][1].text
    await s.decide(T, 1, "alice", True)
    clock.advance(hours=2)
    await dl.sweep()
    assert len(of_kind(notifier, "approval_request")) == 2


async def test_two_workers_never_send_the_same_nudge(
    container: Container, clock: FakeClock, notifier: RecordingNotifier, db_url: str
) -> None:
    for i in range(12):
        await container.service.open_case(T, CH, "alice", f"Problem number {i}")
    clock.advance(minutes=15)
    async with another_process(db_url, clock) as (other, other_notes):
        first, second = await asyncio.gather(deadlines(container).claim(5), deadlines(other).claim(50))
        assert not {i.id for i in first} & {i.id for i in second}  # claims are disjoint
        for item in first:
            await deadlines(container).process(item)
        for item in second:
            await deadlines(other).process(item)
        await asyncio.gather(deadlines(container).sweep(limit=2), deadlines(other).sweep(limit=2))
        sent = of_kind(notifier, "nudge_unowned") + of_kind(other_notes, "nudge_unowned")
    numbers = sorted(n.data["number"] for _, n in sent)
    assert numbers == list(range(1, 13))
    items = await _items(container, "nudge_unowned")
    firsts = [i for i in items if i.stage == 1]
    assert {i.status for i in firsts} == {SENT} and len(firsts) == 12
    assert len([i for i in items if i.stage == 2]) == 12  # each planned its second nudge once


async def test_a_restarted_worker_picks_up_what_fell_due(
    container: Container, clock: FakeClock, notifier: RecordingNotifier, db_url: str
) -> None:
    await container.service.open_case(T, CH, "alice", "Soup was cold")
    await container.close()  # the process that scheduled it is gone
    clock.advance(hours=1)
    async with another_process(db_url, clock) as (fresh, notes):
        await scheduler(fresh).tick()
        assert len(of_kind(notes, "nudge_unowned")) == 1
    assert notifier.sent == []


async def test_an_expired_lease_is_taken_over_and_the_stalled_worker_does_not_send(
    container: Container, clock: FakeClock, notifier: RecordingNotifier, db_url: str
) -> None:
    await container.service.open_case(T, CH, "alice", "Soup was cold")
    clock.advance(minutes=15)
    crashed = await deadlines(container).claim()  # claimed, then the process "dies" mid-send
    assert [i.kind for i in crashed if i.kind == "nudge_unowned"] == ["nudge_unowned"]
    async with another_process(db_url, clock) as (other, notes):
        await deadlines(other).sweep()
        assert of_kind(notes, "nudge_unowned") == []  # still leased
        clock.advance(minutes=5, seconds=1)
        await deadlines(other).sweep()
        assert len(of_kind(notes, "nudge_unowned")) == 1
        for item in crashed:  # the stalled worker wakes up: its lease is gone, so it sends nothing
            await deadlines(container).process(item)
    assert of_kind(notifier, "nudge_unowned") == []


async def test_a_failed_delivery_is_retried_with_backoff_and_partial_sends_are_not_repeated(
    container: Container, clock: FakeClock
) -> None:
    flaky = FlakyNotifier(failures=1)
    container.notifier.fallback = flaky
    await container.service.open_case(T, CH, "alice", "Soup was cold")
    dl = deadlines(container)
    clock.advance(minutes=15)
    report = await dl.sweep()
    assert flaky.sent == [] and report.deferred
    [item] = await _items(container, "nudge_unowned")
    assert item.last_error and "unreachable" in item.last_error
    assert item.due_at == clock.now() + DUE.backoff(1)
    await dl.sweep()
    assert flaky.sent == []
    clock.advance(minutes=1)
    await dl.sweep()
    assert len(of_kind(flaky, "nudge_unowned")) == 1
    flaky.failures, flaky.only = 1, "alice"  # stage 2: the channel gets it, the lead's DM fails
    clock.advance(minutes=15)
    await dl.sweep()
    assert len(of_kind(flaky, "nudge_unowned")) == 2 and of_kind(flaky, "nudge_escalated") == []
    clock.advance(minutes=1)
    await dl.sweep()
    assert len(of_kind(flaky, "nudge_unowned")) == 2  # not sent to the channel a second time
    assert [r for r, _ in of_kind(flaky, "nudge_escalated")] == [USER("alice")]


async def test_targets_can_count_working_hours(container: Container, clock: FakeClock) -> None:
    await configure(container, T, "alice", targets_in_working_hours=True)
    clock.current = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)  # Friday 17:00
    await container.service.open_case(T, CH, "alice", "Invoice wrong")
    due = [i for i in await _items(container, "nudge_resolve") if i.ref == "due"]
    # 24 working hours of 9 h days: Fri 1 h, Mon 9 h, Tue 9 h, Wed 5 h -> Wednesday 14:00.
    assert due[0].due_at == datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


async def test_the_apscheduler_job_runs_the_sweep(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    await container.service.open_case(T, CH, "alice", "Soup was cold")
    clock.advance(minutes=15)
    sc = scheduler(container)
    sc.start()
    try:
        assert sc.running
        await asyncio.wait_for(sc.ticked.wait(), timeout=30)
    finally:
        await sc.stop()
    assert len(of_kind(notifier, "nudge_unowned")) == 1 and not sc.running
