"""Durable intake and card outbox, through the real server and a real database (both), plus the
small request faults of issue 12. A "crash" here is the state a SIGKILL leaves: a row recorded and
acknowledged under a dead process's lease (the subprocess kills are tests/stress/intake_crash.py)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from teambot.core.cases.models import Case, NextStep
from teambot.core.intake.holders import is_dead_local
from teambot.core.intake.models import DONE, IntakeItem
from teambot.core.intake.queue import Intake, card_key
from tests.slack.conftest import Slack, all_text


async def _takeover(slack: Slack) -> None:
    intake = slack.container.intake
    await intake.poll_once()
    await intake.idle()
    await slack.idle()


def _dead(slack: Slack) -> Intake:
    """A process that acknowledged requests and died: its leases are already over."""
    return Intake(slack.container.db, worker_id="dead-host:1:x", lease=timedelta(seconds=-1))


async def test_a_command_acknowledged_by_a_dead_process_is_run_once_by_another(slack: Slack) -> None:
    await slack.command("help")  # the workspace exists
    url = slack.fake.response_url("dead1")
    p = {"type": "command", "team": "T1", "user": "U1", "channel": "C1", "text": "Mr Lee: cold soup",
         "url": url, "trigger": "trig.dead1", "form": {}}  # fmt: skip
    assert await _dead(slack).record("slack:cmd:trig.dead1", "slack", "T1", p) is not None
    await _takeover(slack)
    await _takeover(slack)  # a second look changes nothing
    cases = [c for c in await slack.cases() if c.problem == "cold soup"]
    assert len(cases) == 1 and cases[0].source_ref == "slack:cmd:trig.dead1"
    assert (cases[0].card_ref or {}).get("ts")
    cards = [m for m in slack.fake.posts("C1", thread=False) if "cold soup" in all_text(m)]
    assert len(cards) == 1 and cards[0]["metadata"]["event_payload"] == {"team": "T1", "case": cases[0].number}
    async with slack.container.db.session() as s:
        row = (await s.exec(select(IntakeItem).where(IntakeItem.key == "slack:cmd:trig.dead1"))).one()
    assert row.status == DONE and row.applied and row.case_id == cases[0].id
    # Slack redelivers the same command: recorded already, nothing added.
    body = urlencode({"team_id": "T1", "user_id": "U1", "channel_id": "C1", "command": "/recover",
                      "text": "Mr Lee: cold soup", "trigger_id": "trig.dead1", "response_url": url})  # fmt: skip
    status, _ = await slack.post(body, "application/x-www-form-urlencoded", {"X-Slack-Retry-Num": "1"})
    assert status == 200 and len([c for c in await slack.cases() if c.problem == "cold soup"]) == 1


async def test_an_applied_click_is_not_repeated_after_a_crash(slack: Slack) -> None:
    await slack.command("Mrs Ode: lost luggage")
    case = (await slack.cases())[0]
    await slack.click("case:claim", str(case.number), user="U2")
    lines = len(slack.fake.posts("C1", thread=True))
    # The same click's row, left applied by a process that died before finishing it.
    p = {"type": "action", "team": "T1", "user": "U3", "channel": "C1", "url": None, "step": "claim",
         "raw": str(case.number), "clicked": None, "trigger": "t", "from_card": True}  # fmt: skip
    row = await _dead(slack).record("slack:act:trig.applied", "slack", "T1", p)
    assert row is not None
    async with slack.container.db.session() as s:
        await s.exec(update(IntakeItem).where(col(IntakeItem.id) == row.id).values(applied=True))  # type: ignore[call-overload]
        await s.commit()
    await _takeover(slack)
    assert (await slack.case(case.number)).owner_id == "U2"  # not run again as U3
    assert len(slack.fake.posts("C1", thread=True)) == lines
    assert not any("Something went wrong" in all_text(m) for m in slack.fake.posts() + slack.fake.of("chat.postEphemeral"))


async def test_a_card_posted_just_before_a_crash_is_found_not_posted_twice(slack: Slack) -> None:
    await slack.command("Mr Obi: broken kettle")
    case = (await slack.cases())[0]
    ref = dict(case.card_ref or {})
    assert ref.get("ts")
    # What a kill between chat.postMessage and recording its ts leaves: the intent, no ts.
    await slack.container.service.update_card_ref(
        "T1", case.number, lambda old: {k: v for k, v in {**old, "posting": "x"}.items() if k != "ts"}
    )
    async with slack.container.db.session() as s:
        await s.exec(update(IntakeItem).where(col(IntakeItem.key) == card_key("slack", case.id))  # type: ignore[call-overload]
                     .values(status="pending", lease_owner="dead", lease_until=None))  # fmt: skip
        await s.commit()
    await _takeover(slack)
    assert len(slack.fake.posts("C1", thread=False)) == 1
    assert (await slack.case(case.number)).card_ref["ts"] == ref["ts"]  # type: ignore[index]
    assert slack.fake.of("conversations.history")[0]["include_all_metadata"] in (True, "true", "1")


async def test_a_case_without_a_card_gets_one_from_the_outbox(slack: Slack) -> None:
    await slack.command("help")
    opened = await slack.container.service.open_case("T1", "C7", "U1", "Guest waited", platform="slack")
    async with slack.container.db.session() as s:  # past the grace the request's own process has
        await s.exec(update(IntakeItem).where(col(IntakeItem.key) == card_key("slack", opened.case.id))  # type: ignore[call-overload]
                     .values(lease_until=None))  # fmt: skip
        await s.commit()
    await _takeover(slack)
    assert len(slack.fake.posts("C7", thread=False)) == 1
    assert (await slack.case(opened.case.number)).card_ref["ts"]  # type: ignore[index]


# ----- small faults -------------------------------------------------------------------------------


async def test_a_400_digit_timestamp_is_401_without_a_traceback(slack: Slack, caplog: pytest.LogCaptureFixture) -> None:
    body = urlencode({"team_id": "T1", "user_id": "U1", "command": "/recover", "text": "x"})
    caplog.set_level(logging.ERROR)
    status, _ = await slack.post(body, "application/x-www-form-urlencoded",
                                 {"X-Slack-Request-Timestamp": "9" * 400, "X-Slack-Signature": "v0=00"}, signed=False)  # fmt: skip
    assert status == 401 and not caplog.records


async def test_show_for_a_case_the_team_does_not_have_says_so(slack: Slack) -> None:
    await slack.command("Mr A: noise")
    _, _, key = await slack.click("case:view", "999")
    said = " ".join(all_text(m) for m in slack.fake.to(key))
    assert "no case #999" in said.lower() and "went wrong" not in said


@pytest.mark.parametrize("missing", ["team_id", "user_id"])
async def test_a_signed_command_without_team_or_user_is_refused(slack: Slack, missing: str) -> None:
    form = {"team_id": "T1", "user_id": "U1", "channel_id": "C1", "command": "/recover",
            "text": "Mr B: cold room", "trigger_id": "trig.x", "response_url": slack.fake.response_url("x")}  # fmt: skip
    form.pop(missing)
    status, _ = await slack.post(urlencode(form), "application/x-www-form-urlencoded")
    assert status == 400 and await slack.cases() == [] and await slack.cases("") == []


async def test_signed_payloads_of_the_wrong_shape_are_400(slack: Slack, caplog: pytest.LogCaptureFixture) -> None:
    who = {"team": {"id": "T1"}, "user": {"id": "U1"}, "api_app_id": "A1", "trigger_id": "t"}
    caplog.set_level(logging.ERROR)
    for payload in (
        {"type": "block_actions", **who, "actions": {"action_id": "case:claim", "value": "1"}},
        {"type": "block_actions", **who, "actions": "case:claim"},
        {"type": "view_submission", **who, "view": "open"},
        {"type": "view_submission", **who, "view": ["open"]},
    ):
        status, _ = await slack.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
        assert status == 400, payload
    assert not caplog.records
    async with slack.container.db.session() as s:
        assert (await s.exec(select(Case))).all() == []


async def test_a_row_run_twice_at_once_changes_the_case_once(slack: Slack) -> None:
    """A takeover while the first holder is still running (its lease lapsed under load): the core
    transaction that would apply the row a second time is refused and rolled back."""
    from teambot.core.cases.models import NextStep
    from teambot.core.commands.context import Context
    from teambot.core.commands.replies import ErrorReply
    from teambot.core.intake.queue import APPLYING

    await slack.command("Mrs Kay: late breakfast")
    row = await _dead(slack).record("slack:view:trig.twice", "slack", "T1", {"type": "view"})
    assert row is not None
    ctx = Context("T1", "C1", "U1", platform="slack")
    token = APPLYING.set(row.id)
    try:
        first = await slack.container.commands.run_text("step 1 call her back", ctx)
        second = await slack.container.commands.run_text("step 1 call her back", ctx)
    finally:
        APPLYING.reset(token)
    assert not isinstance(first, ErrorReply)
    assert isinstance(second, ErrorReply) and "done already" in second.text
    async with slack.container.db.session() as s:
        assert len((await s.exec(select(NextStep))).all()) == 1


async def test_a_did_you_mean_button_is_recorded_before_its_ack_and_taken_over(slack: Slack) -> None:
    await slack.command("Soup arrived cold", user="U1")
    await slack.click("run:0", "claim 1", user="U2")  # the button under "Did you mean `/recover claim 1`?"
    assert (await slack.case(1)).owner_id == "U2"
    async with slack.container.db.session() as s:
        rows = list((await s.exec(select(IntakeItem).where(col(IntakeItem.key).startswith("slack:run:")))).all())
    assert len(rows) == 1 and rows[0].status == DONE and rows[0].applied
    # The same button's row, acknowledged by a process that died before running it.
    p = {"type": "run", "team": "T1", "user": "U3", "channel": "C1", "url": None, "text": "step 1 Call her back"}
    assert await _dead(slack).record("slack:run:trig.dead-run", "slack", "T1", p) is not None
    await _takeover(slack)
    await _takeover(slack)
    async with slack.container.db.session() as s:
        steps = list((await s.exec(select(NextStep).where(col(NextStep.text) == "Call her back"))).all())
    assert len(steps) == 1  # run once by the process that took it over, not again on a second look


async def test_records_arriving_together_share_commits_and_each_is_durable(slack: Slack) -> None:
    """Group commit: 60 requests recorded at once take far fewer INSERTs than 60, every one is a
    committed row held by this process, and a redelivery within the same burst gets None."""
    import asyncio

    from sqlalchemy import event

    intake = Intake(slack.container.db, worker_id="burst-host:1:x")
    inserts: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().replace('"', "").startswith("INSERT INTO INTAKE"):
            inserts.append(statement)

    engine = slack.container.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        keys = [f"slack:cmd:trig.burst{i}" for i in range(60)] + ["slack:cmd:trig.burst7"]
        got = await asyncio.gather(*(intake.record(k, "slack", "T1", {"i": k}) for k in keys))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert got[-1] is None and all(item is not None for item in got[:60])
    assert len({item.id for item in got[:60] if item}) == 60
    assert 1 <= len(inserts) < 10
    async with slack.container.db.session() as s:
        rows = (await s.exec(select(IntakeItem).where(col(IntakeItem.key).like("slack:cmd:trig.burst%")))).all()
    assert len(rows) == 60 and {r.lease_owner for r in rows} == {"burst-host:1:x"}


async def test_a_command_cut_by_a_database_fault_runs_again_instead_of_failing(
    slack: Slack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection cut under the work behind an ack (a failover, a killed backend): the request is
    not reported failed and finished; its row is handed back and run again. The fault is injected
    at the service (a real one cannot be timed to land inside one command)."""
    from sqlalchemy.exc import OperationalError

    await slack.command("help")
    service = slack.container.service
    real = service.open_case
    faults = [OperationalError("INSERT INTO cases", {}, ConnectionResetError("server closed the connection"))]

    async def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        if faults:
            raise faults.pop()
        return await real(*args, **kwargs)

    monkeypatch.setattr(service, "open_case", flaky)
    await slack.command("Mr Obi: cold soup")
    assert not faults and not [c for c in await slack.cases() if c.problem == "cold soup"]
    told = [b for _, b in slack.fake.responses] + slack.fake.of("chat.postEphemeral")
    assert "Something went wrong" not in " ".join(all_text(m) for m in told)
    async with slack.container.db.session() as s:
        await s.exec(update(IntakeItem).where(col(IntakeItem.status) == "pending").values(lease_until=None))  # type: ignore[call-overload]
        await s.commit()
    await _takeover(slack)
    cases = [c for c in await slack.cases() if c.problem == "cold soup"]
    assert len(cases) == 1 and (cases[0].card_ref or {}).get("ts")


# ----- a dead process on this host: its rows are taken at once, not after the lease -----------------

ROOT = Path(__file__).resolve().parents[2]
_HOLD = """
import asyncio, sys
from teambot.core.db import Database
from teambot.core.intake.queue import Intake

async def main() -> None:
    intake = Intake(Database(sys.argv[1]))
    p = {"type": "command", "team": "T1", "user": "U1", "channel": "C1", "text": "Mr Kim: cold coffee",
         "url": sys.argv[2], "trigger": "trig.killed", "form": {}}
    assert await intake.record("slack:cmd:trig.killed", "slack", "T1", p) is not None
    print(intake.worker_id, flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


async def _held_by_a_killed_process(slack: Slack) -> str:
    """A real process records (and holds) an acknowledged /recover, then gets SIGKILL."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _HOLD, slack.container.settings.database_url, slack.fake.response_url("killed"),
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    holder = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    return holder


async def _opened_within(slack: Slack, problem: str, seconds: float) -> list[Case]:
    """The cases with that problem once one exists, or none after `seconds` of the intake's own poll."""
    give_up = time.monotonic() + seconds
    while True:
        await slack.idle()
        cases = [c for c in await slack.cases() if c.problem == problem]
        if cases or time.monotonic() > give_up:
            return cases
        await asyncio.sleep(0.1)


async def test_a_row_held_by_a_killed_process_on_this_host_is_taken_at_once(slack: Slack) -> None:
    await slack.command("help")  # the workspace exists
    holder = await _held_by_a_killed_process(slack)
    async with slack.container.db.session() as s:
        row = (await s.exec(select(IntakeItem).where(IntakeItem.key == "slack:cmd:trig.killed"))).one()
    assert row.lease_owner == holder and row.lease_until is not None  # held for the whole lease
    cases = await _opened_within(slack, "cold coffee", 5.0)  # by this process's running intake poll
    assert len(cases) == 1 and (cases[0].card_ref or {}).get("ts")


async def test_a_holder_with_this_pid_but_not_made_here_is_dead(slack: Slack) -> None:
    """A restarted container reuses pids (often 1): a holder naming our pid with a token we never made."""
    await slack.command("help")
    p = {"type": "command", "team": "T1", "user": "U1", "channel": "C1", "text": "Ms Roy: noisy room",
         "url": slack.fake.response_url("reused"), "trigger": "trig.reused", "form": {}}  # fmt: skip
    ghost = f"{socket.gethostname()}:{os.getpid()}:0ld70ken"
    row = await _dead(slack).record("slack:cmd:trig.reused", "slack", "T1", p)
    assert row is not None
    async with slack.container.db.session() as s:
        await s.exec(update(IntakeItem).where(col(IntakeItem.id) == row.id)  # type: ignore[call-overload]
                     .values(lease_owner=ghost, lease_until=slack.container.intake.now() + timedelta(minutes=5)))  # fmt: skip
        await s.commit()
    assert is_dead_local(ghost) and not is_dead_local(slack.container.intake.worker_id)
    assert len(await _opened_within(slack, "noisy room", 5.0)) == 1


async def test_a_row_held_by_another_host_waits_for_its_lease(slack: Slack) -> None:
    await slack.command("help")
    p = {"type": "command", "team": "T1", "user": "U1", "channel": "C1", "text": "Mr Ode: late taxi",
         "url": slack.fake.response_url("other"), "trigger": "trig.other", "form": {}}  # fmt: skip
    other = Intake(slack.container.db, worker_id="some-other-host:1:abcd1234")
    assert await other.record("slack:cmd:trig.other", "slack", "T1", p) is not None
    assert await _opened_within(slack, "late taxi", 2.5) == []  # the poll looked again meanwhile
