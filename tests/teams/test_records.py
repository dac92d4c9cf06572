"""Issue 14 over Teams activities: the typo button runs the command; the card's category and cancel forms."""

from __future__ import annotations

from teambot.core.cases.models import CaseStatus
from teambot.core.cases.queries import case_detail
from tests.teams.cardtools import button
from tests.teams.conftest import ALICE, BOB, CHANNEL, TENANT, Teams
from tests.teams.test_universal import view


async def test_teams_typo_button_and_card_menus(teams: Teams) -> None:
    c = teams.connector
    assert await teams.say(ALICE, "recover Soup arrived cold") == 201
    card_id = c.sends(CHANNEL)[-1].activity_id
    assert await teams.say(BOB, "recover clam 1") == 201
    typo = c.sends(CHANNEL)[-1]
    assert typo.card is not None and "Did you mean" in typo.text
    assert await teams.press(BOB, typo.activity_id, button(typo.card, "run")) == 201
    detail = await case_detail(teams.container.db, TENANT, 1)
    assert detail.case.owner_id == BOB.aad
    shared = c.updates(card_id)[-1].card
    assert shared is not None
    # The owner's own view (Universal Actions) holds the case's menu: another category, or cancel.
    card = view((await teams.execute(BOB, card_id, shared["refresh"]["action"]["data"], trigger="automatic"))[1])
    card = view((await teams.execute(BOB, card_id, button(card, "category") | {"category": "delivery"}))[1])
    assert (await teams.execute(BOB, card_id, button(card, "cancel") | {"why": "mistake"}))[0] == 200
    detail = await case_detail(teams.container.db, TENANT, 1)
    assert (detail.case.category, detail.case.status) == ("delivery", CaseStatus.CANCELLED)
