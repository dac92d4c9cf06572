"""Teams, over HTTP (issue 13): the grant form's amount is an Input.Number, the next step's due time
an Input.Date + Input.Time read in the person's zone, and typed commands still read free text
exactly (4,50 is 4.50 in a euro team; £5 is refused, never recorded as euros)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from teambot.core.cases.queries import case_detail
from teambot.core.money import from_minor
from tests.teams.cardtools import actions, button, facts, inputs
from tests.teams.conftest import ALICE, BOB, CAROL, CHANNEL, TENANT, Teams, User
from tests.teams.test_universal import view

TOKYO_BOB = User("bob", "Bob Owner", tz="Asia/Tokyo")


async def test_native_inputs_and_typed_amounts_in_a_euro_team(teams: Teams) -> None:
    c = teams.connector
    await teams.say(ALICE, "recover policy currency EUR")
    assert "Currency is now EUR" in c.sends(CHANNEL)[-1].text
    await teams.say(ALICE, "recover Mrs Patel: soup was cold")
    card_id = c.sends(CHANNEL)[-1].activity_id
    card = c.sends(CHANNEL)[-1].card
    assert card is not None
    async def act(data: dict[str, Any]) -> dict[str, Any]:
        """Bob presses a button (Action.Execute): Teams shows him the card the bot answers with."""
        status, answer = await teams.execute(TOKYO_BOB, card_id, data)
        assert status == 200
        return view(answer)

    card = await act(button(card, "claim"))
    card = await act(button(card, "apologise") | {"method": "phone"})
    amount = inputs(card)["amount"]
    assert amount["type"] == "Input.Number" and amount["min"] == 0.01 and amount["placeholder"] == "25 or 25.50"
    assert {inputs(card)["due_date"]["type"], inputs(card)["due_time"]["type"]} == {"Input.Date", "Input.Time"}

    # Teams sends the number as a JSON number: 25.5 is €25.50, never €2,550.00.
    card = await act(button(card, "grant") | {"gesture": "Gift card", "amount": 25.5})
    assert facts(card)["Compensation"].startswith("€25.50 given")
    # Some clients send the number as text.
    card = await act(button(card, "grant") | {"gesture": "Tea", "amount": "4.5"})
    # Typed commands still read free text exactly, in the team's currency only.
    await teams.say(TOKYO_BOB, "recover grant 1 Coffee 4,50")
    await teams.say(TOKYO_BOB, "recover grant 1 Tea £5")
    assert "£5 is in GBP but this team records EUR" in c.sends(CHANNEL)[-1].text
    detail = await case_detail(teams.container.db, TENANT, 1)
    assert [(g.gesture, str(from_minor(g.amount_minor, g.currency)), g.currency) for g in detail.grants] == [
        ("Gift card", "25.50", "EUR"), ("Tea", "4.50", "EUR"), ("Coffee", "4.50", "EUR"),
    ]  # fmt: skip

    # The due date and time are picked in Bob's own zone (Tokyo) and combined there.
    shared = c.updates(card_id)[-1].card
    assert shared is not None
    card = await act(shared["refresh"]["action"]["data"])
    tomorrow = (datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo")) + timedelta(days=1)).date()
    data = button(card, "step") | {"text": "Call her", "due_date": tomorrow.isoformat(), "due_time": "09:30"}
    await teams.press(TOKYO_BOB, card_id, data)
    detail = await case_detail(teams.container.db, TENANT, 1)
    due = detail.steps[0].due_at
    assert due is not None
    assert due.astimezone(ZoneInfo("Asia/Tokyo")).replace(tzinfo=None) == datetime.combine(
        tomorrow, datetime.strptime("09:30", "%H:%M").time()
    )
    # A date alone is 17:00 that day; a card posted before the change still sends free text.
    await teams.press(TOKYO_BOB, card_id, button(card, "step") | {"text": "Flowers", "due_date": tomorrow.isoformat()})
    await teams.press(TOKYO_BOB, card_id, button(card, "step") | {"text": "Card", "due": "next friday"})
    detail = await case_detail(teams.container.db, TENANT, 1)
    assert detail.steps[1].due_at.astimezone(ZoneInfo("Asia/Tokyo")).hour == 17  # type: ignore[union-attr]
    assert detail.steps[2].due_at is not None
    assert BOB.aad == TOKYO_BOB.aad


async def test_the_owners_grant_form_says_how_much_authority_is_left(teams: Teams) -> None:
    """Issues 13 and 16: the grant form in the owner's own view (Action.Execute refresh) says what is left."""
    c = teams.connector
    await teams.say(ALICE, "recover policy currency EUR")
    await teams.say(ALICE, "recover policy limit member 50")
    await teams.say(ALICE, "recover Mrs Patel: soup was cold")
    card_id = c.sends(CHANNEL)[-1].activity_id
    await teams.say(BOB, "recover claim 1")
    await teams.say(BOB, "recover grant 1 Coffee 20")
    refresh = (c.updates(card_id)[-1].card or {})["refresh"]["action"]["data"]

    status, answer = await teams.execute(BOB, card_id, refresh, trigger="automatic")
    assert status == 200
    owner = view(answer)
    note = "You can give up to €30.00 more on this case; above that an approver is asked."
    grant_form = next(a for a in actions(owner) if a.get("type") == "Action.ShowCard" and a["title"] == "Grant compensation")
    assert note in str(grant_form["card"]["body"])
    # Only the owner's own view says it: the shared card and a bystander's view do not.
    assert note not in str(c.updates(card_id)[-1].card)
    bystander = view((await teams.execute(CAROL, card_id, refresh, trigger="automatic"))[1])
    assert "more on this case" not in str(bystander)

    # Once it is used up, the form says so.
    await teams.say(BOB, "recover grant 1 Dinner 30")
    owner = view((await teams.execute(BOB, card_id, refresh, trigger="automatic"))[1])
    assert "You have no authority left on this case; an approver is asked for any amount." in str(owner)
