"""Teams acks first (issue 12), over real HTTP into /api/messages on SQLite and PostgreSQL.

The activity is committed as an intake row before the 201, the turn runs after it from the row, a
redelivery adds nothing, and a row its process never ran (the state a crash leaves) is taken over by
another process on the same database and replied to exactly once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from teambot.bootstrap import build
from teambot.config import load_settings
from teambot.core.cases.queries import list_cases
from teambot.core.commands.context import Context
from teambot.core.intake.models import DONE, PENDING, IntakeItem
from teambot.core.intake.queue import APPLYING
from teambot.server import create_app
from teambot.teams.store import conversation_key
from tests.teams.cardtools import button, facts
from tests.teams.conftest import ALICE, BOT, CHANNEL, TENANT, Teams, teams_settings
from tests.teams.fakes import IdentityProvider


def _message(teams: Teams, text: str) -> dict[str, object]:
    return teams.activity(ALICE, CHANNEL, text=f"<at>Teambot</at> {text}",
                          entities=[{"type": "mention", "text": "<at>Teambot</at>", "mentioned": BOT}])  # fmt: skip


async def _raw_post(teams: Teams, body: dict[str, object]) -> int:
    """POST without waiting for the turn (the harness's post waits for it)."""
    assert teams.identity is not None
    headers = {"Authorization": "Bearer " + teams.identity.channel_token(teams.connector_url)}
    async with teams.session.post(f"{teams.url}/api/messages", json=body, headers=headers) as resp:
        await resp.read()
        return resp.status


async def _rows(teams: Teams) -> list[IntakeItem]:
    async with teams.container.db.session() as s:
        return list((await s.exec(select(IntakeItem).where(col(IntakeItem.kind) == "teams"))).all())


def _cards_for(teams: Teams, problem: str) -> list[object]:
    return [s for s in teams.connector.sends(CHANNEL) if s.card is not None and problem in s.text]


async def test_the_answer_comes_before_the_reply_and_the_reply_follows(teams: Teams) -> None:
    teams.connector.hold = asyncio.Event()  # the Bot Connector holds every send until set
    body = _message(teams, "recover Mrs Patel: no hot water in 412")
    assert await _raw_post(teams, body) == 201
    assert teams.connector.log == []  # answered; the reply does not exist yet
    rows = await _rows(teams)
    assert len(rows) == 1 and rows[0].payload["activity"]["id"] == body["id"]
    teams.connector.hold.set()
    await teams.settled()
    cards = _cards_for(teams, "no hot water in 412")
    assert len(cards) == 1 and facts(cards[0].card)["Customer"] == "Mrs Patel"  # type: ignore[attr-defined]
    assert [r.status for r in await _rows(teams)] == [DONE]
    # Teams delivers the same activity again: its row is there, nothing is added or sent.
    assert (await teams.post(body)).status == 201
    await teams.settled()
    assert len(await _rows(teams)) == 1
    assert len(_cards_for(teams, "no hot water in 412")) == 1
    assert len(await list_cases(teams.container.db, TENANT)) == 1


async def test_an_invoke_is_recorded_and_answered_inline(teams: Teams) -> None:
    assert await teams.say(ALICE, "recover Mr Lee: cold soup") == 201
    card = teams.connector.sends(CHANNEL)[-1]
    assert card.card is not None
    status, answer = await teams.execute(ALICE, card.activity_id, button(card.card, "claim"))
    assert status == 200 and facts(answer["value"])["Owner"].startswith("Alice Admin")
    rows = await _rows(teams)
    assert len(rows) == 2 and all(r.status == DONE for r in rows)
    invoke = [r for r in rows if r.payload["activity"]["type"] == "invoke"]
    assert len(invoke) == 1 and invoke[0].applied  # the claim marked its own row applied


@pytest.fixture
async def second_process(db_url: str, identity: IdentityProvider):  # type: ignore[no-untyped-def]
    """Another process on the same database, as `teambot worker` runs (platforms mounted, nothing served)."""
    c = await build(load_settings(database_url=db_url), migrate=False)
    c.settings = c.settings.model_copy(update=teams_settings(identity))
    create_app(c)
    yield c
    await c.close()


async def test_a_row_whose_process_died_is_taken_over_and_replied_to_once(
    teams: Teams, second_process, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    first = teams.container.intake
    first.pause()  # this process stops taking rows over: it is about to "die"
    monkeypatch.setattr(first, "run_soon", lambda item: None)  # recorded and acknowledged, never run
    body = _message(teams, "recover Mr Obi: broken kettle")
    assert await _raw_post(teams, body) == 201
    [row] = await _rows(teams)
    assert row.status == PENDING and row.lease_owner == first.worker_id
    assert _cards_for(teams, "broken kettle") == []
    # While the dead process's lease lasts nobody takes the row; then it runs out.
    assert await second_process.intake.poll_once() == 0
    async with teams.container.db.session() as s:
        past = datetime.now(UTC) - timedelta(seconds=1)
        await s.exec(update(IntakeItem).where(col(IntakeItem.id) == row.id).values(lease_until=past))  # type: ignore[call-overload]
        await s.commit()
    assert await second_process.intake.poll_once() == 1
    await second_process.intake.idle()
    assert await second_process.intake.poll_once() == 0  # a second look changes nothing
    await second_process.intake.idle()
    cards = _cards_for(teams, "broken kettle")
    assert len(cards) == 1 and cards[0].authorised  # type: ignore[attr-defined]
    assert second_process.intake.taken_over == 1
    [done] = await _rows(teams)
    assert done.status == DONE and done.applied and done.lease_owner is None
    cases = await list_cases(teams.container.db, TENANT)
    assert len(cases) == 1 and cases[0].source_ref == f"teams:{body['id']}"
    # A redelivery to the first process now adds nothing.
    await _raw_post(teams, body)
    assert len(await _rows(teams)) == 1 and len(_cards_for(teams, "broken kettle")) == 1


async def test_a_refused_token_writes_no_row(teams: Teams) -> None:
    async with teams.session.post(f"{teams.url}/api/messages", json=_message(teams, "recover list"),
                                  headers={"Authorization": "Bearer not-a-token"}) as resp:  # fmt: skip
        assert resp.status == 401
    assert await _rows(teams) == []


async def test_a_body_that_is_not_an_activity_is_refused(teams: Teams) -> None:
    assert teams.identity is not None
    headers = {"Authorization": "Bearer " + teams.identity.channel_token(teams.connector_url)}
    for data in ("[1, 2]", "{not json", '{"text": "no type"}'):
        async with teams.session.post(f"{teams.url}/api/messages", data=data,
                                      headers=headers | {"Content-Type": "application/json"}) as resp:  # fmt: skip
            assert resp.status == 400, data
    assert await _rows(teams) == []


async def test_a_row_applied_before_the_crash_gets_its_reply_and_no_second_case(
    teams: Teams, second_process, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    first = teams.container.intake
    first.pause()
    monkeypatch.setattr(first, "run_soon", lambda item: None)
    body = _message(teams, "recover Ms Kay: lost key card")
    assert await _raw_post(teams, body) == 201
    [row] = await _rows(teams)
    # The dead process got as far as committing the open (which marks the row applied), then died.
    ctx = Context(team_id=TENANT, channel_id=conversation_key(CHANNEL), user_id=ALICE.aad, platform="teams",
                  tz="UTC", source_ref=f"teams:{body['id']}")  # fmt: skip
    token = APPLYING.set(row.id)
    try:
        await teams.container.commands.run_text("Ms Kay: lost key card", ctx)
    finally:
        APPLYING.reset(token)
    async with teams.container.db.session() as s:
        past = datetime.now(UTC) - timedelta(seconds=1)
        await s.exec(update(IntakeItem).where(col(IntakeItem.id) == row.id).values(lease_until=past))  # type: ignore[call-overload]
        await s.commit()
    assert await second_process.intake.poll_once() == 1
    await second_process.intake.idle()
    cards = _cards_for(teams, "lost key card")
    assert len(cards) == 1
    assert len(await list_cases(teams.container.db, TENANT)) == 1
    [done] = await _rows(teams)
    assert done.status == DONE and done.applied


async def test_with_work_deferred_a_message_is_answered_201_and_a_worker_replies_once(teams: Teams) -> None:
    """TEAMBOT_WORK=worker: the web process records and answers; a worker runs the turn from the row."""
    intake = teams.container.intake
    intake.defer = True
    assert await _raw_post(teams, _message(teams, "recover Mrs Patel: no hot water in 412")) == 201
    await teams.settled()
    assert _cards_for(teams, "no hot water") == []  # no turn ran in the web process
    [row] = await _rows(teams)
    assert row.status == PENDING and row.lease_owner is None
    intake.run_as_worker(slots=4)
    await intake.poll_once()  # (or its own poll loop, which now runs deferred rows too)
    await teams.settled()
    await intake.poll_once()  # a second look changes nothing
    await teams.settled()
    assert len(_cards_for(teams, "no hot water")) == 1
    [row] = await _rows(teams)
    assert row.status == DONE
