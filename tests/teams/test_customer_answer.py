"""The customer answers on the feedback page: the case card in Teams shows it at once (issue 17)."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from teambot.core.cases.models import CaseStatus
from teambot.core.cases.queries import case_detail
from teambot.core.customer_loop.store import issue_link
from teambot.mail.senders import OutboxSender
from tests.slack.test_customer_answer import _mail_text
from tests.teams.cardtools import facts
from tests.teams.conftest import ALICE, BOB, CHANNEL, TENANT, Teams

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
