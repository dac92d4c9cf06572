"""Universal Actions over HTTP: Action.Execute invokes, each viewer's own view, reaching anyone, the home."""

from __future__ import annotations

from typing import Any

from teambot.core.cases.models import ApprovalStatus, CaseStatus
from teambot.core.cases.queries import case_detail
from teambot.core.ports import Notice, Recipient
from teambot.teams.store import TeamsStore
from tests.teams.cardtools import actions, button, facts, inputs
from tests.teams.conftest import ALICE, BOB, CAROL, CHANNEL, TENANT, Teams, User

CARD = "application/vnd.microsoft.card.adaptive"
DAVE = User("dave", "Dave Bystander", tz="Asia/Tokyo")


def titles(card: dict[str, Any]) -> set[str]:
    return {a.get("title", "") for a in actions(card) if a.get("type") != "Action.Execute" or a.get("verb") != "refresh"
            or a.get("title") != "Refresh"}  # fmt: skip


def view(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["statusCode"] == 200 and answer["type"] == CARD, answer
    return answer["value"]


async def _open(teams: Teams) -> str:
    await teams.say(ALICE, "recover Mrs Patel: no hot water")
    return teams.connector.sends(CHANNEL)[-1].activity_id


async def test_execute_claims_and_answers_with_the_owners_view(teams: Teams) -> None:
    c = teams.connector
    card_id = await _open(teams)
    shared = c.sends(CHANNEL)[-1].card
    assert shared is not None and shared["refresh"]["action"]["verb"] == "refresh"
    assert "Action.Submit" not in str(shared)
    status, answer = await teams.execute(BOB, card_id, button(shared, "claim"))
    assert status == 200
    mine = view(answer)
    assert {"Record apology", "Grant compensation", "Hand over"} <= titles(mine)
    # The channel's card became the shared view (no owner's steps), refreshed for the people involved.
    shared = c.updates(card_id)[-1].card
    assert shared is not None and "Record apology" not in titles(shared)
    assert {"29:alice", "29:bob"} <= set(shared["refresh"]["userIds"])
    assert (await case_detail(teams.container.db, TENANT, 1)).case.owner_id == BOB.aad
