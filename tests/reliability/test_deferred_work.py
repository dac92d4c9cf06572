"""TEAMBOT_WORK=worker: web processes record and ack, `teambot worker` processes run the work.

Through the real server and a real database (both). Here one process plays both parts in turn (the
web's intake defers, then becomes a worker); the real processes, killed mid-burst, are
`python -m tests.stress.intake_crash --defer` (tests/reliability/test_stress_smoke.py)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from teambot.core.intake.models import DONE, PENDING, IntakeItem
from teambot.core.intake.queue import DEFER_GRACE, Intake
from tests.slack.conftest import Slack, all_text


async def _rows(slack: Slack, kind: str = "slack") -> list[IntakeItem]:
    async with slack.container.db.session() as s:
        return list((await s.exec(select(IntakeItem).where(IntakeItem.kind == kind))).all())


async def _run_as_worker(slack: Slack) -> None:
    """This process becomes a worker: a claim now (its own poll loop may claim first: either runs it)."""
    intake = slack.container.intake
    intake.run_as_worker(slots=8)
    await intake.poll_once()
    await intake.idle()
    await slack.idle()


async def test_a_deferred_command_is_acked_recorded_and_run_by_a_worker_once(slack: Slack) -> None:
    await slack.command("help")  # the workspace exists
    slack.container.intake.defer = True
    status, _, _ = await slack.command("Mr Lee: cold soup")
    await slack.idle()
    assert status == 200
    assert not [c for c in await slack.cases() if c.problem == "cold soup"]  # nothing ran in the web process
    [row] = [r for r in await _rows(slack) if r.payload.get("text") == "Mr Lee: cold soup"]
    assert row.status == PENDING and row.lease_owner is None  # committed before the ack, held by nobody
    # The web process leaves a fresh row to the workers.
    assert await slack.container.intake.poll_once() == 0

    await _run_as_worker(slack)
    await _run_as_worker(slack)  # a second look changes nothing
    [case] = [c for c in await slack.cases() if c.problem == "cold soup"]
    assert (case.card_ref or {}).get("ts")
    cards = [m for m in slack.fake.posts("C1", thread=False) if "cold soup" in all_text(m)]
    assert len(cards) == 1
    [row] = [r for r in await _rows(slack) if r.payload.get("text") == "Mr Lee: cold soup"]
    assert row.status == DONE and row.applied and row.case_id == case.id


async def test_a_claim_click_is_deferred_too(slack: Slack) -> None:
    await slack.command("Mrs Ode: lost luggage")
    await slack.idle()
    case = (await slack.cases())[0]
    slack.container.intake.defer = True
    await slack.click("case:claim", str(case.number), user="U2")
    await slack.idle()
    assert (await slack.case(case.number)).owner_id is None
    await _run_as_worker(slack)
    assert (await slack.case(case.number)).owner_id == "U2"
    assert slack.card_updates(case.card_ref["ts"])  # the card shows the new owner


async def test_forms_still_open_in_the_web_process_while_their_trigger_lives(slack: Slack) -> None:
    slack.container.intake.defer = True
    status, _, _ = await slack.command("")  # /recover alone: the form
    await slack.idle()
    assert status == 200
    assert slack.fake.last_view("open")  # views.open was called before any worker looked
    [row] = await _rows(slack)
    assert row.status == DONE


async def test_a_deferred_row_no_worker_takes_is_run_by_the_web_process_after_a_grace(
    slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    """No worker running (forgotten in the Procfile, all crashed): late, never lost."""
    await slack.command("help")
    intake = slack.container.intake
    intake.defer = True
    await slack.command("Ms Kay: no towels")
    await slack.idle()
    assert await intake.poll_once() == 0
    with caplog.at_level(logging.WARNING):
        async with slack.container.db.session() as s:  # the row has waited longer than the grace
            waited = intake.now() - DEFER_GRACE - timedelta(seconds=1)
            await s.exec(update(IntakeItem).where(col(IntakeItem.lease_owner).is_(None))  # type: ignore[call-overload]
                         .values(created_at=waited))  # fmt: skip
            await s.commit()
        await intake.poll_once()  # or the web process's own poll loop, a second later
        for _ in range(100):
            if [c for c in await slack.cases() if c.problem == "no towels"]:
                break
            await asyncio.sleep(0.05)
        await intake.idle()
        await slack.idle()
    assert "waited 10 s for a worker" in caplog.text and "teambot worker" in caplog.text
    assert [c for c in await slack.cases() if c.problem == "no towels"]


async def test_a_worker_is_woken_by_notify_not_by_its_poll(slack: Slack, db_url: str) -> None:
    """On PostgreSQL a deferred record wakes a waiting worker at once (its poll here: 60 s)."""
    if not db_url.startswith("postgres"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; on SQLite the worker polls")
    slack.container.intake.defer = True  # the harness's own web process leaves deferred rows to workers
    db = slack.container.intake.db
    ran = asyncio.Event()

    async def probe(item: IntakeItem) -> None:
        ran.set()

    worker = Intake(db, worker_id="worker-host:1:w", poll_seconds=60)
    worker.run_as_worker(slots=4)
    worker.register("probe", probe)
    web = Intake(db, worker_id="web-host:1:x", defer=True)
    worker.start()
    try:
        await asyncio.sleep(0.5)  # its first round: LISTEN, an empty claim, then it waits
        item = await web.record("probe:1", "probe", "T1", {})
        assert item is not None and not web.runs_here(item)
        async with asyncio.timeout(10):
            await ran.wait()
    finally:
        await worker.stop(grace=1)
    async with slack.container.db.session() as s:
        row = (await s.exec(select(IntakeItem).where(IntakeItem.key == "probe:1"))).one()
    assert row.status == DONE and row.lease_owner is None

