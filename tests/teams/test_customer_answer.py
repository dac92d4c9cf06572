"""The customer answers on the feedback page: the case card in Teams shows it at once (issue 17)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp

from teambot.core.cases.models import CaseStatus
from teambot.core.cases.queries import case_detail
from teambot.core.customer_loop.store import issue_link
from teambot.mail.senders import OutboxSender
from tests.slack.test_customer_answer import _mail_text
from tests.teams.cardtools import actions, button, facts, inputs
from tests.teams.conftest import ALICE, BOB, CAROL, CHANNEL, TENANT, Teams, User

GOOD = {"satisfied": "yes", "score": "5", "coming_back": "yes", "comment": "Lovely soup the 2nd time"}


async def test_the_customers_answer_updates_the_card_in_place(teams: Teams) -> None:
    await teams.say(ALICE, "recover Jane Doe (jane@example.com): the soup was cold wants: a hot one")
    card_id = teams.connector.sends(CHANNEL)[-1].activity_id
    await teams.say(BOB, "recover claim 1")
    await teams.say(BOB, "recover apologise 1 in_person So sorry about the soup")
    await teams.say(BOB, "recover resolve 1 A fresh bowl, on the house | the pass lamp was off")
    before = len(teams.connector.updates(card_id))

    c = teams.container
    case = (await case_detail(c.db, TENANT, 1)).case
    async with c.db.session() as s:
        token = await issue_link(s, await s.merge(case), c.feedback_secret, c.clock.now())
        await s.commit()
    async with aiohttp.ClientSession() as http, http.post(f"{teams.url}/feedback/{token}", data=GOOD) as resp:
        assert resp.status == 200

    assert (await case_detail(c.db, TENANT, 1)).case.status == CaseStatus.CLOSED
    updates = teams.connector.updates(card_id)
    assert len(updates) > before  # the channel's card, updated in place without a turn
    shared = updates[-1].card
    assert shared is not None and "from the customer" in " ".join(facts(shared).values())
    assert shared["refresh"]["action"]["verb"] == "refresh"


async def test_the_mail_is_signed_with_the_senders_name(teams: Teams, tmp_path: Path) -> None:
    """Issue 17: signed with the name Teams sent with the activity, not the AAD object id."""
    teams.container.mailer.sender = OutboxSender(tmp_path / "outbox")
    await teams.say(ALICE, "recover Jane Doe (jane@example.com): the soup was cold wants: a hot one")
    await teams.say(BOB, "recover claim 1")
    await teams.say(BOB, "recover apologise 1 in_person So sorry about the soup")
    await teams.say(BOB, "recover resolve 1 A fresh bowl, on the house | the pass lamp was off")
    await teams.say(BOB, "recover send 1")
    text = _mail_text(tmp_path / "outbox").rstrip()
    assert text.endswith("Kind regards,\nBob Owner\nTeambot"), text[-200:]
    assert BOB.aad not in text


async def dialog(teams: Teams, user: User, name: str, data: dict[str, Any], card_id: str) -> dict[str, Any]:
    """A task/fetch or task/submit invoke as Teams sends it; returns the response's `task`."""
    body = teams.activity(user, CHANNEL, type="invoke", name=name, replyToId=card_id,
                          value={"data": data, "context": {"theme": "default"}})  # fmt: skip
    headers = {"Authorization": "Bearer " + teams.identity.channel_token(teams.connector_url)} if teams.identity else {}
    async with teams.session.post(f"{teams.url}/api/messages", json=body, headers=headers) as resp:
        assert resp.status == 200
        task = (await resp.json(content_type=None))["task"]
    if task["type"] == "continue":
        teams.invoked.append({"value": task["value"]["card"]["content"]})  # parsed at 1.5 with the rest
    return task


async def test_send_follow_up_opens_in_a_dialog(teams: Teams, tmp_path: Path) -> None:
    """Issue 17: "Send follow-up" opens the editable draft in a dialog (task/fetch), sends on task/submit,
    and a refusal keeps the dialog open with what was typed; the old in-card form still works."""
    outbox = tmp_path / "outbox"
    teams.container.mailer.sender = OutboxSender(outbox)
    await teams.say(ALICE, "recover Jane Doe (jane@example.com): the soup was cold wants: a hot one")
    card_id = teams.connector.sends(CHANNEL)[-1].activity_id
    await teams.say(BOB, "recover claim 1")
    await teams.say(BOB, "recover apologise 1 in_person So sorry about the soup")
    await teams.say(BOB, "recover resolve 1 A fresh bowl, on the house | the pass lamp was off")
    refresh = (teams.connector.updates(card_id)[-1].card or {})["refresh"]["action"]["data"]
    _, answer = await teams.execute(BOB, card_id, refresh, trigger="automatic")
    owner = answer["value"]
    opens = next(a for a in actions(owner) if (a.get("data") or {}).get("teambot") == "send_form")
    assert opens["type"] == "Action.Submit" and opens["data"]["msteams"] == {"type": "task/fetch"}

    task = await dialog(teams, BOB, "task/fetch", opens["data"], card_id)
    assert task["type"] == "continue" and task["value"]["title"] == "Case #1: follow-up email"
    form = task["value"]["card"]["content"]
    assert "A fresh bowl" in inputs(form)["body"]["value"]
    send = button(form, "send")

    # Someone who may not send: the dialog stays open, with the reason and what they typed.
    typed = "Dear Jane, we are sorry. My own words."
    task = await dialog(teams, CAROL, "task/submit", send | {"body": typed}, card_id)
    assert task["type"] == "continue"
    refused = task["value"]["card"]["content"]
    assert "Only the owner" in str(refused) and inputs(refused)["body"]["value"] == typed
    assert not outbox.exists()

    before = len(teams.connector.updates(card_id))
    task = await dialog(teams, BOB, "task/submit", button(refused, "send") | {"body": typed}, card_id)
    assert task["type"] == "message" and "written to" in task["value"]  # the dialog closes on this line
    assert "My own words." in _mail_text(outbox)
    assert len(teams.connector.updates(card_id)) > before  # the channel's card moved on too

    # Cards posted before the dialog (an Action.Execute "send_form") still get the form in the card.
    _, answer = await teams.execute(BOB, card_id, {"teambot": "send_form", "number": 1})
    assert answer["statusCode"] == 200 and "body" in inputs(answer["value"])
