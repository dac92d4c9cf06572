"""Causes as a team vocabulary (who may shape it, rename, merge, remove), actions (permissions, the
one reminder at the due time, snooze), the CSV's cause column and forget-customer, on both databases."""

from __future__ import annotations

import csv
import io

from sqlmodel import select

from teambot.bootstrap import Container
from teambot.core.cases.models import Case, TimelineEvent
from teambot.core.commands.context import Context
from teambot.core.commands.replies import ChoiceReply, ErrorReply, Reply
from teambot.core.improvement import actions as act
from teambot.core.improvement.models import ImprovementAction
from teambot.core.insights.export import export_csv
from tests.helpers import FakeClock, RecordingNotifier

T, CH = "T24", "C1"  # a team of its own: nothing another test leaves behind for T1 can be in it


async def run(c: Container, text: str, user: str = "boss") -> Reply:
    return await c.commands.run_text(text, Context(team_id=T, channel_id=CH, user_id=user))


def ok(reply: Reply) -> str:
    assert not isinstance(reply, ErrorReply), reply.text
    return getattr(reply, "text", "") or getattr(reply, "message", "")


def refused(reply: Reply) -> str:
    assert isinstance(reply, ErrorReply), reply
    return reply.text


async def resolved(c: Container, problem: str, cause: str, owner: str = "ana") -> int:
    reply = await run(c, problem, owner)
    n = reply.detail.case.number  # type: ignore[attr-defined]
    ok(await run(c, f"claim {n}", owner))
    ok(await run(c, f"apologise {n} phone sorry", owner))
    ok(await run(c, f"resolve {n} fixed | {cause}", owner))
    return n


async def test_the_vocabulary(container: Container) -> None:
    c = container
    ok(await run(c, "policy"))  # boss is the admin
    assert "admins and managers" in refused(await run(c, "policy cause add Heat lamp", "ana"))
    ok(await run(c, "policy role @ana manager"))
    assert "Heat lamp is a cause now" in ok(await run(c, "policy cause add heat lamp", "ana"))
    assert "already a cause" in refused(await run(c, "policy cause add Heat-lamp"))
    ok(await run(c, "policy cause add Pass lamp"))
    n = await resolved(c, "Mr Lee: cold plates", "the heat lamp on the pass was dead")
    assert "Did you mean Heat lamp?" in refused(await run(c, f"cause {n} Heat lmap"))
    assert "There is no case #99" in refused(await run(c, "cause 99 Heat lamp"))
    ok(await run(c, f"cause {n} Pass lamp"))
    assert "merged into Heat lamp: 1 case moved" in ok(await run(c, "policy cause merge Pass lamp into Heat lamp"))
    assert "is called Pass heat lamp now" in ok(await run(c, "policy cause rename Heat lamp to Pass heat lamp"))
    which = await run(c, f"cause {n}")
    assert isinstance(which, ChoiceReply) and f"#{n}: “the heat lamp on the pass was dead”, filed under *Pass heat lamp*" in which.text
    assert "1 case is unfiled" in ok(await run(c, "policy cause remove Pass heat lamp"))
    async with c.db.read() as s:
        case = (await s.exec(select(Case).where(Case.number == n))).one()
        kinds = [e.kind for e in (await s.exec(select(TimelineEvent).where(TimelineEvent.case_id == case.id))).all()]
    assert case.cause_id is None and case.root_cause == "the heat lamp on the pass was dead"
    assert kinds.count("cause_filed") == 2  # by meaning at resolve, then by a person
    assert "Say which cause and what it becomes" in refused(await run(c, "policy cause rename Heat lamp"))
    assert "not something causes do" in refused(await run(c, "policy cause frobnicate x"))


async def test_actions_remind_once_at_their_due_time(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    c = container
    ok(await run(c, "policy"))
    ok(await run(c, "policy cause add Heat lamp"))
    n = await resolved(c, "Mr Lee: cold plates", "heat lamp broken")
    made = ok(await run(c, f"action {n} Replace the heat lamp @ana due in 2 days"))
    assert "Improvement action 1 for <@ana>" in made and "cause *Heat lamp*" in made
    assert "There is no action 7" in refused(await run(c, "action done 7"))
    assert "Only its owner" in refused(await run(c, "action done 1", "zed"))
    assert "Say why the action is dropped" in refused(await run(c, "action drop 1"))
    await c.deadlines.sweep()
    assert [x for _, x in notifier.sent if x.kind == "action_due"] == []
    clock.advance(days=2, hours=1)  # Wednesday 10:00, in working hours
    await c.deadlines.sweep()
    await c.deadlines.sweep()
    due = [(r, x) for r, x in notifier.sent if x.kind == "action_due"]
    assert len(due) == 1 and due[0][0].id == "ana" and "improvement action 1 is due: Replace the heat lamp" in due[0][1].text
    assert "*overdue*" in ok(await run(c, "actions mine", "ana"))
    assert "nothing to snooze" in refused(await run(c, "action snooze 1 for 1d", "ana"))  # the one reminder went
    # A second action, snoozed before its reminder: it comes a day later, once.
    ok(await run(c, f"action {n} Keep a spare lamp due in 1 day", "ana"))
    ok(await run(c, "action snooze 2 for 2d", "ana"))
    clock.advance(days=1, hours=1)
    await c.deadlines.sweep()
    assert len([x for _, x in notifier.sent if x.kind == "action_due"]) == 1
    clock.advance(days=2)  # Saturday: the reminder waits for Ana's working day
    await c.deadlines.sweep()
    assert len([x for _, x in notifier.sent if x.kind == "action_due"]) == 1
    clock.advance(days=2)  # Monday
    await c.deadlines.sweep()
    assert len([x for _, x in notifier.sent if x.kind == "action_due"]) == 2
    dropped = await act.close_action(c.service, T, 2, "ana", done=False, note="a spare is kept already")
    assert dropped.status == "dropped" and dropped.outcome == "a spare is kept already"
    assert [a.number for a in await act.list_actions(c.db, T)] == [1]
    assert (await act.get_action(c.db, T, 2)).closed_by == "ana"


async def test_csv_and_forgetting_a_customer(container: Container) -> None:
    c = container
    ok(await run(c, "policy"))
    ok(await run(c, "policy cause add Heat lamp"))
    n = await resolved(c, "Mrs Patel: cold plates", "Patel's plates sat under a dead heat lamp")
    ok(await run(c, f"cause {n} Heat lamp"))
    ok(await run(c, f"action {n} Tell Mrs Patel when the heat lamp is replaced"))
    out = io.StringIO()
    await export_csv(c.db, out, T)
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["cause"] == "Heat lamp" and "dead heat lamp" in row["root_cause"]
    ok(await run(c, "forget-customer Mrs Patel"))
    async with c.db.read() as s:
        case = (await s.exec(select(Case).where(Case.number == n))).one()
        action = (await s.exec(select(ImprovementAction))).one()
        events = (await s.exec(select(TimelineEvent).where(TimelineEvent.case_id == case.id))).all()
    assert "Patel" not in (case.root_cause or "") and "dead heat lamp" in (case.root_cause or "")
    assert "Patel" not in action.text and "heat lamp is replaced" in action.text
    assert not any("Patel" in str(e.data) for e in events)
    assert case.cause_id is not None  # the figures stay


async def test_actions_are_published_on_case_events_for_an_outbox(container: Container) -> None:
    """A webhook outbox subscribes to CaseEvents: it sees action_created and action_done, with the ids."""
    from teambot.core.cases.events import CaseChanged
    from teambot.core.improvement.costs import causes_with_cost, list_causes

    seen: list[tuple[str, dict]] = []

    async def outbox(event: CaseChanged) -> None:
        if event.kind.startswith("action_"):
            seen.append((event.kind, event.data))

    container.events.subscribe(outbox)
    c = container
    ok(await run(c, "policy"))
    ok(await run(c, "policy cause add Heat lamp"))
    n = await resolved(c, "Mr Lee: cold plates", "heat lamp broken")
    made = await act.create_action(c.service, T, n, "boss", "Replace the lamp", owner="ana")
    await act.close_action(c.service, T, made.number, "ana", done=True, note="fitted")
    assert [k for k, _ in seen] == ["action_created", "action_done"]
    assert seen[0][1]["action"] == 1 and seen[0][1]["owner"] == "ana" and seen[1][1]["outcome"] == "fitted"
    assert [x.name for x in await list_causes(c.db, T)] == ["Heat lamp"]
    now = c.clock.now()
    [cost] = await causes_with_cost(c.db, T, now.replace(hour=0), now.replace(hour=23))
    assert (cost.name, cost.cases) == ("Heat lamp", [n])


async def test_a_flag_offers_to_become_an_action(container: Container) -> None:
    c = container
    ok(await run(c, "policy"))
    ok(await run(c, "policy cause add Heat lamp"))
    n = await resolved(c, "Mr Lee: cold plates", "heat lamp broken")
    flagged = await run(c, f"flag {n} Check the pass lamps every morning", "ana")
    label, command = flagged.choices[0]  # type: ignore[attr-defined]
    assert (label, command) == ("Make it an action", f"action {n} Check the pass lamps every morning")
    made = ok(await run(c, command, "ana"))
    assert "Improvement action 1 for <@ana>: Check the pass lamps every morning" in made and "cause *Heat lamp*" in made
