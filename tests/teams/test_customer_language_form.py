"""The Teams open card asks for the customer's language (optional); the case keeps it."""

from __future__ import annotations

from tests.teams.cardtools import button, inputs
from tests.teams.conftest import ALICE, CHANNEL, Teams


async def test_the_open_card_sets_the_customers_language(teams: Teams) -> None:
    c = teams.connector
    assert await teams.say(ALICE, "recover") == 201
    form = c.sends(CHANNEL)[-1]
    assert form.card is not None
    choices = {ch["value"]: ch["title"] for ch in inputs(form.card)["language"]["choices"]}
    assert choices["es"] == "Español" and choices["nl"] == "Nederlands" and len(choices) == 6
    data = button(form.card, "open") | {"customer": "Sr. García", "problem": "Sopa fría", "language": "es"}
    status, answer = await teams.execute(ALICE, form.activity_id, data)
    assert status == 200 and answer["statusCode"] == 200
    [case] = [x async for x in _cases(teams)]
    assert case.customer_language == "es"


async def _cases(teams: Teams):  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from teambot.core.cases.models import Case

    async with teams.container.db.session() as s:
        for case in (await s.exec(select(Case))).all():
            yield case


async def test_help_speaks_the_language_of_the_activity(teams: Teams) -> None:
    conv = ALICE.personal
    resp = await teams.post(teams.activity(ALICE, conv, text="recover help", locale="nl-NL"))
    assert resp.status == 201
    said = [sent.text for sent in teams.connector.sends(conv)]  # (the first 1:1 message also gets a welcome)
    assert any("klachten goedmaken" in t and "recover claim <case>" in t for t in said), said
