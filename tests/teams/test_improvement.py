"""The improvement loop over Teams activities: the resolve's card says where the root cause was
filed, with a Change cause button that offers the team's causes; /recover causes and the actions
answer as cards."""

from __future__ import annotations

import json

from teambot.core.cases.queries import case_detail
from tests.teams.cardtools import button
from tests.teams.conftest import ALICE, CHANNEL, TENANT, Teams


def texts(teams: Teams) -> list[str]:
    return [json.dumps(s.card) if s.card else s.text for s in teams.connector.sends(CHANNEL)]


async def test_teams_files_ranks_and_follows_actions(teams: Teams) -> None:
    c = teams.connector
    for line in ("recover policy cause add Heat lamp", "recover policy cause add Housekeeping",
                 "recover Mr Lee: plates arrived cold", "recover claim 1", "recover apologise 1 in_person sorry"):  # fmt: skip
        assert await teams.say(ALICE, line) == 201
    assert await teams.say(ALICE, "recover resolve 1 replated | the heat lamp on the pass was dead") == 201
    filed = [s for s in c.sends(CHANNEL) + [u for s in c.sends(CHANNEL) for u in c.updates(s.activity_id)]
             if s.card and "filed under" in json.dumps(s.card)]  # fmt: skip
    assert filed, texts(teams)
    change = button(filed[-1].card, "run")
    assert change["command"] == "cause 1"
    assert await teams.press(ALICE, filed[-1].activity_id, change) == 201
    offer = c.sends(CHANNEL)[-1]
    assert offer.card is not None and "File under which cause?" in json.dumps(offer.card)
    housekeeping = next(a for a in offer.card["actions"] if a["title"] == "Housekeeping")
    assert await teams.press(ALICE, offer.activity_id, housekeeping["data"]) == 201
    assert (await case_detail(teams.container.db, TENANT, 1)).case.cause_by == "person"

    assert await teams.say(ALICE, "recover causes") == 201
    assert "Housekeeping" in json.dumps(c.sends(CHANNEL)[-1].card) and "#1" in json.dumps(c.sends(CHANNEL)[-1].card)
    assert await teams.say(ALICE, "recover action 1 Tidy the pass lamp rota due in 3 days") == 201
    assert await teams.say(ALICE, "recover actions") == 201
    assert "Tidy the pass lamp rota [Housekeeping]" in json.dumps(c.sends(CHANNEL)[-1].card)
    assert await teams.say(ALICE, "recover action done 1 rota fixed") == 201
    assert "marked action 1 (Tidy the pass lamp rota) done: rota fixed" in json.dumps(c.sends(CHANNEL)[-1].card)
    # The home card shows the causes to fix and the actions Alice owns.
    assert await teams.say(ALICE, "recover action 1 Check the pass lamp weekly") == 201
    assert await teams.say(ALICE, "recover home", ALICE.personal) == 201
    home = c.sends(ALICE.personal)[-1].text
    assert "Causes to fix first (this month, by cost)" in home and "Your improvement actions (1)" in home
    assert "2. Check the pass lamp weekly [Housekeeping]" in home


async def test_the_teams_resolve_form_offers_the_causes(teams: Teams) -> None:
    from tests.teams.cardtools import inputs
    from tests.teams.conftest import BOB
    from tests.teams.test_universal import view

    assert await teams.say(ALICE, "recover policy cause add Heat lamp") == 201  # Alice is the admin
    assert await teams.say(ALICE, "recover policy cause add Housekeeping") == 201
    assert await teams.say(ALICE, "recover Ms Ito: room not made up") == 201
    card_id = teams.connector.sends(CHANNEL)[-1].activity_id
    mine = view((await teams.execute(BOB, card_id, {"teambot": "claim", "number": 1}))[1])
    assert "cause" not in inputs(mine)  # no resolve before the apology: the causes are not read
    await teams.execute(BOB, card_id, button(mine, "apologise") | {"method": "phone"})
    mine = view((await teams.execute(BOB, card_id, {"teambot": "refresh", "number": 1}))[1])
    cause = inputs(mine)["cause"]
    assert [c["value"] for c in cause["choices"]] == ["Heat lamp", "Housekeeping"] and "isRequired" not in cause
    typed = {"summary": "Cleaned it", "root_cause": "the rota had a gap", "cause": "Housekeeping"}
    await teams.execute(BOB, card_id, button(mine, "resolve") | typed)
    detail = await case_detail(teams.container.db, TENANT, 1)
    assert detail.case.cause_by == "person" and any(e.kind == "cause_filed" for e in detail.events)
