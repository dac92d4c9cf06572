"""The sweep at scale (issue 15): claimed batches read their cases in one go and settle by group
commit, yet each item is still marked sent only after delivery, and only while it is ours."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select

from teambot.bootstrap import Container
from teambot.core.cases.models import Case
from teambot.core.ports import Notice, Recipient
from teambot.core.scheduling import deadlines as dl_module
from teambot.core.scheduling.models import CANCELLED, PENDING, SENT, DueItem
from tests.helpers import FakeClock, RecordingNotifier
from tests.perf.test_statement_counts import counting, engines_of
from tests.scheduling.helpers import CH, T, deadlines, of_kind

CASES = 40


async def _unowned(c: Container) -> list[DueItem]:
    async with c.db.session() as s:
        rows = await s.exec(select(DueItem).where(DueItem.kind == "nudge_unowned").order_by(col(DueItem.id)))
        return list(rows.all())


async def _open(c: Container, clock: FakeClock, n: int = CASES) -> None:
    for i in range(n):
        await c.service.open_case(T, CH, "alice", f"Problem number {i}")
    clock.advance(minutes=15)


async def test_a_sweep_costs_a_few_statements_per_batch_not_per_item(
    container: Container, clock: FakeClock, notifier: RecordingNotifier
) -> None:
    await _open(container, clock)
    with counting(engines_of(container)) as counted:
        report = await deadlines(container).sweep()
    assert len(of_kind(notifier, "nudge_unowned")) == CASES
    items = await _unowned(container)
    assert [i.status for i in items if i.stage == 1] == [SENT] * CASES
    assert set(report.sent) >= {i.id for i in items if i.stage == 1}  # (and a pattern check)
    assert len([i for i in items if i.stage == 2 and i.status == PENDING]) == CASES  # the second nudges
    assert all(i.data["delivered"] == [f"channel:shell:{CH}"] for i in items if i.stage == 1)
    # Was 8 or more per item: a session to load the case, one to settle and add the next nudge.
    # Now (SQLite) ~37 in all, 7 of them the pattern check that opening 40 cases scheduled.
    assert len(counted) < CASES, counted.breakdown()


class CancelsAnother(RecordingNotifier):
    """While case 1's nudge is delivered, case 2 is claimed elsewhere: its nudge is cancelled."""

    def __init__(self, container: Container) -> None:
        super().__init__()
        self.container = container

    async def notify(self, recipient: Recipient, notice: Notice) -> None:
        await super().notify(recipient, notice)
        if notice.kind == "nudge_unowned" and notice.data["number"] == 1:
            await self.container.service.claim(T, 2, "bob")


async def test_an_item_lost_while_its_batch_is_out_is_not_marked_sent_and_the_others_are(
    container: Container, clock: FakeClock
) -> None:
    notifier = CancelsAnother(container)
    container.notifier.fallback = notifier
    await _open(container, clock, 6)
    dl = deadlines(container)
    dl.concurrency = 1  # case 1 goes out before case 2 is handled
    report = await dl.sweep()
    async with container.db.session() as s:
        two = (await s.exec(select(Case.id).where(Case.team_id == T, Case.number == 2))).one()
    firsts = [i for i in await _unowned(container) if i.stage == 1]
    [lost] = [i for i in firsts if i.case_id == two]
    assert lost.status == CANCELLED and lost.id not in report.sent
    assert {i.status for i in firsts if i is not lost} == {SENT}
    assert set(report.sent) >= {i.id for i in firsts if i is not lost}
    seconds = [i for i in await _unowned(container) if i.stage == 2]
    assert len(seconds) == 5 and two not in {i.case_id for i in seconds}  # none for the claimed case


async def test_when_the_group_commit_fails_each_item_is_settled_on_its_own(
    container: Container, clock: FakeClock, notifier: RecordingNotifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _open(container, clock, 5)
    failed: list[int] = []

    async def broken(self: dl_module.Deadlines, batch: list[Any]) -> list[bool]:
        failed.append(len(batch))
        raise OperationalError("UPDATE due_items ...", {}, Exception("deadlock detected"))

    monkeypatch.setattr(dl_module.Deadlines, "_settle_many", broken)
    report = await deadlines(container).sweep()
    assert sum(failed) >= 5  # (and the pattern check the openings scheduled)
    assert set(report.sent) >= {i.id for i in await _unowned(container) if i.stage == 1}
    items = await _unowned(container)
    assert [i.status for i in items if i.stage == 1] == [SENT] * 5
    assert len([i for i in items if i.stage == 2]) == 5


async def test_a_settle_error_fails_the_sweep_and_leaves_the_items_leased_for_a_retry(
    container: Container, clock: FakeClock, notifier: RecordingNotifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _open(container, clock, 3)

    async def broken(self: dl_module.Deadlines, batch: list[Any]) -> list[bool]:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(dl_module.Deadlines, "_settle_many", broken)
    with pytest.raises(RuntimeError):
        await deadlines(container).sweep()
    monkeypatch.undo()
    items = [i for i in await _unowned(container) if i.stage == 1]
    assert {i.status for i in items} == {PENDING} and all(i.lease_owner for i in items)
    clock.advance(minutes=6)  # after the lease, a sweep sends them again: at least once, never lost
    await deadlines(container).sweep()
    assert {i.status for i in await _unowned(container) if i.stage == 1} == {SENT}
