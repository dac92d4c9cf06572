"""A whole case on Teams, over HTTP: activities in at /api/messages, cards out to the Bot Connector."""

from __future__ import annotations

from teambot.core.cases.models import CaseStatus
from teambot.core.cases.queries import case_detail, list_cases
from tests.teams.cardtools import button, facts, inputs
from tests.teams.conftest import ALICE, BOB, CHANNEL, TENANT, Teams


async def test_open_to_close_through_card_submits(teams: Teams) -> None:
    c = teams.connector
    assert await teams.say(ALICE, "recover") == 201
    form = c.sends(CHANNEL)[-1]
    assert form.authorised, "the bot's reply must carry a token from the (local) identity provider"
    assert form.card is not None and "problem" in inputs(form.card)
    assert "food and drink" in [ch["value"] for ch in inputs(form.card)["category"]["choices"]]

    data = button(form.card, "open") | {
        "customer": "Mrs Patel",
        "problem": "No hot water in room 412",
        "wants": "a room move",
        "category": "booking",
        "severity": "high",
    }
    status, answer = await teams.execute(ALICE, form.activity_id, data)
    assert status == 200 and answer["statusCode"] == 200
    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    card = c.updates(form.activity_id)[-1].card
    assert card is not None and card["refresh"]["action"]["verb"] == "refresh"
    assert facts(card)["Customer"] == "Mrs Patel" and facts(card)["Status"].startswith("Open")
    assert facts(answer["value"])["Customer"] == "Mrs Patel"
    # Pressing the same submit again (a double click, a redelivery) does not open a second case.
    assert (await teams.execute(ALICE, form.activity_id, data))[0] == 200
    assert len(await list_cases(teams.container.db, TENANT)) == 1

    card_id = form.activity_id
    steps = [
        (BOB, "claim", {}),
        (BOB, "apologise", {"method": "phone", "words": "I am so sorry about the water"}),
        (BOB, "grant", {"gesture": "Waived fee", "amount": ""}),
        (BOB, "step", {"text": "Check the boiler in 412", "due_date": "2030-11-24", "due_time": "17:00"}),
        (BOB, "resolve", {"summary": "Moved to 514 with a hot shower", "root_cause": "boiler fault"}),
        (BOB, "followup", {"satisfied": "yes", "score": "5", "won_back": "won"}),
    ]
    for user, action, values in steps:
        before = len(c.updates(card_id))
        status, answer = await teams.execute(user, card_id, button(card, action) | values)
        assert status == 200 and "✗" not in str(answer["value"]), (action, answer)
        assert len(c.updates(card_id)) == before + 1, f"{action}: the case card was not updated in place"
        card = answer["value"]  # Bob's own view: the owner's next steps
    shown = facts(card)
    assert shown["Status"] == "Closed"
    assert shown["Owner"].startswith("Bob Owner")
    assert "Waived fee" in shown["Compensation"]
    assert shown["Follow-up"] == "satisfied, 5/5, won back"
    assert button(card, "reopen")
    detail = await case_detail(teams.container.db, TENANT, 1)
    assert detail.case.status == CaseStatus.CLOSED
    assert detail.case.channel_id == CHANNEL and detail.case.platform == "teams"
    assert detail.case.opened_by == ALICE.aad and detail.case.owner_id == BOB.aad
    assert detail.case.card_ref == {"teams": {"conversation": CHANNEL, "activity_id": card_id}}
    assert detail.steps[0].due_at is not None
    assert all(s.authorised for s in c.log)


async def test_typed_commands_and_mentions(teams: Teams) -> None:
    c = teams.connector
    await teams.say(ALICE, "recover Mr Jones: soup was cold wants: a hot soup #food-and-drink !low")
    first = c.sends(CHANNEL)[-1]
    assert first.card is not None and facts(first.card)["Category"] == "food and drink · severity low"
    # Case card mentions Alice with a real Teams mention entity.
    entities = first.card["msteams"]["entities"]
    assert entities == [
        {
            "type": "mention",
            "text": "<at>Alice Admin</at>",
            "mentioned": {"id": ALICE.aad, "name": "Alice Admin"},
        }
    ]
    await teams.say(BOB, "recover claim 1")
    # Typed in the channel: a fresh card in reply, and the case's card updated in place.
    assert "<at>Bob Owner</at> owns case #1 now" in c.sends(CHANNEL)[-1].text
    assert "<at>Bob Owner</at> owns case #1 now" in c.updates(first.activity_id)[-1].text
    await teams.say(BOB, "recover list")
    assert "#1" in c.sends(CHANNEL)[-1].text and "soup was cold" in c.sends(CHANNEL)[-1].text
    await teams.say(BOB, "recover help")
    help_text = c.sends(CHANNEL)[-1].text
    assert "recover claim" in help_text and "/recover" not in help_text


async def test_refusals_are_shown_on_the_form_with_what_was_typed(teams: Teams) -> None:
    c = teams.connector
    await teams.say(ALICE, "recover Soup was cold")
    card = c.sends(CHANNEL)[-1]
    assert card.card is not None
    await teams.press(BOB, card.activity_id, button(card.card, "claim"))
    fresh = c.updates(card.activity_id)[-1].card
    assert fresh is not None
    # Resolving before any apology (from an older card): refused, the form comes back with the text kept.
    typed = {"summary": "New soup served quickly", "root_cause": "kitchen pass too slow"}
    await teams.press(BOB, card.activity_id, {"teambot": "resolve", "number": 1} | typed)
    refusal = c.sends(CHANNEL)[-1]
    assert refusal.card is not None
    assert "No apology is recorded on case #1" in refusal.text
    fields = inputs(refusal.card)
    assert (
        fields["summary"]["value"] == typed["summary"]
        and fields["root_cause"]["value"] == typed["root_cause"]
    )
    # Fixing it on that same form: the form card itself shows the next refusal in place.
    await teams.press(BOB, refusal.activity_id, button(refusal.card, "resolve") | typed | {"root_cause": ""})
    again = c.updates(refusal.activity_id)[-1]
    assert again.card is not None and "root cause is missing" in again.text
    # A bad amount on the grant form.
    # Cards sent before Universal Actions (Action.Submit, a message with `value`) still work.
    await teams.press(BOB, card.activity_id, {"teambot": "apologise", "number": 1, "method": "in_person"})
    await teams.press(
        BOB, card.activity_id, {"teambot": "grant", "number": 1, "gesture": "Gift card", "amount": 10.999}
    )  # an Input.Number sends a number; more decimals than USD has is refused, never rounded
    bad = c.sends(CHANNEL)[-1]
    assert bad.card is not None and "10.999 has more decimals than USD allows" in bad.text
    assert inputs(bad.card)["amount"]["type"] == "Input.Number"
    assert (
        inputs(bad.card)["amount"]["value"] == 10.999 and inputs(bad.card)["gesture"]["value"] == "Gift card"
    )
    # Someone else pressing Claim on an owned case: told why, nobody's card lost.
    await teams.press(ALICE, card.activity_id, {"teambot": "claim", "number": 1})
    assert "already owned by Bob Owner" in c.sends(CHANNEL)[-1].text
    # A button for a case that does not exist.
    await teams.press(ALICE, card.activity_id, {"teambot": "claim", "number": 99})
    assert "There is no case #99" in c.sends(CHANNEL)[-1].text
    # Garbage button data.
    await teams.press(ALICE, card.activity_id, {"teambot": "claim", "number": "x"})
    assert "missing or not a number" in c.sends(CHANNEL)[-1].text
    detail = await case_detail(teams.container.db, TENANT, 1)
    assert detail.case.status == CaseStatus.OWNED and detail.grants == []


async def test_long_input_keeps_the_card_under_teams_limit(teams: Teams) -> None:
    c = teams.connector
    s = teams.container.service
    long = "The guest explained at length. " * 95  # ~2,950 characters
    await teams.say(ALICE, f"recover Mrs Long: {long[:2990]} wants: {long[:2990]}")
    await s.claim(TENANT, 1, BOB.aad)
    await s.apologise(TENANT, 1, BOB.aad, "email", long[:1000])
    for i in range(25):
        await s.add_step(TENANT, 1, BOB.aad, f"step {i} " + "x" * 990)
    await teams.say(BOB, "recover show 1")
    shown = c.sends(CHANNEL)[-1]
    size = len(shown.text.encode())  # the card JSON as it reached the connector
    assert shown.card is not None and size < 28_000, size
    assert "Next step 25" in facts(shown.card)
    # And the text-only refusal for an over-long open still answers, echoing the input.
    await teams.say(ALICE, "recover Mrs Long: " + "why " * 800)
    refusal = c.sends(CHANNEL)[-1]
    assert "the most is 3000" in refusal.text and len(refusal.text.encode()) < 28_000


async def test_throttled_send_is_retried(teams: Teams) -> None:
    teams.connector.fail_next = [429, 502]
    await teams.say(ALICE, "recover list")
    assert teams.connector.fail_next == [], "both refusals were answered and the send tried again"
    assert len(teams.connector.sends(CHANNEL)) == 1
    assert "No open cases" in teams.connector.sends(CHANNEL)[0].text
