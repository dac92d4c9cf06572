"""Approvals and other notices reach people later, through stored conversation references."""

from __future__ import annotations

import base64
import json

import pytest

from teambot.core.cases.models import ApprovalStatus
from teambot.core.cases.queries import case_detail
from teambot.core.ports import Attachment, Notice, Recipient
from teambot.teams.store import TeamsStore, conversation_key
from tests.teams.cardtools import button, facts
from tests.teams.conftest import ALICE, BOB, CAROL, CHANNEL, TENANT, Teams


async def _owned_case(teams: Teams) -> str:
    """Alice opens (and so is the team's admin and approver); Bob owns and apologises."""
    await teams.say(ALICE, "recover Mrs Patel: no hot water")
    card_id = teams.connector.sends(CHANNEL)[-1].activity_id
    await teams.say(BOB, "recover claim 1")
    await teams.say(BOB, "recover apologise 1 in_person so sorry")
    return card_id


async def test_approval_request_reaches_the_approver_in_their_chat(teams: Teams) -> None:
    c = teams.connector
    assert await teams.say(ALICE, "hi", ALICE.personal) == 201
    greeting = c.sends(conversation_key(ALICE.personal))
    assert greeting == [] and "I can now message you here" in c.sends()[-1].text  # long ids are sent as-is
    card_id = await _owned_case(teams)
    case_card = c.updates(card_id)[-1].card
    assert case_card is not None
    # Bob grants more than a member may give (50): Alice is asked in her 1:1 chat.
    await teams.press(
        BOB, card_id, {"teambot": "grant", "number": 1, "gesture": "Free dinner for two", "amount": ""}
    )
    assert "Waiting for approval" in facts(c.updates(card_id)[-1].card or {})
    dm = c.sends(ALICE.personal)[-1]
    assert dm.authorised and dm.card is not None
    assert "asks to give Free dinner for two" in dm.text and "<at>Bob Owner</at>" in dm.text
    approve = button(dm.card, "approve")
    assert button(dm.card, "deny", approval_id=approve["approval_id"])
    # Alice presses Approve in her chat: that card and the channel's case card both update.
    assert await teams.press(ALICE, dm.activity_id, approve, ALICE.personal) == 201
    assert "approved Free dinner for two" in c.updates(dm.activity_id)[-1].text
    channel_card = c.updates(card_id)[-1]
    assert channel_card.conversation == CHANNEL and channel_card.authorised
    assert "Free dinner for two $90.00 (approved)" in facts(channel_card.card or {})["Compensation"]
    # Bob has never chatted with the bot 1:1: he hears of the decision in the case's channel, mentioned.
    told = c.sends(CHANNEL)[-1]
    assert "<at>Bob Owner</at>" in told.text and "approved Free dinner for two" in told.text
    assert "say hi to Teambot" in told.text
    detail = await case_detail(teams.container.db, TENANT, 1)
    assert (
        detail.approvals[0].status == ApprovalStatus.APPROVED and detail.approvals[0].decided_by == ALICE.aad
    )
    # Pressing Approve again: refused, clearly.
    await teams.press(ALICE, dm.activity_id, approve, ALICE.personal)
    assert "already approved" in c.sends(ALICE.personal)[-1].text


async def test_deny_with_a_reason(teams: Teams) -> None:
    c = teams.connector
    await teams.say(ALICE, "hello", ALICE.personal)
    card_id = await _owned_case(teams)
    await teams.say(BOB, "recover grant 1 Room upgrade 120")
    dm = c.sends(ALICE.personal)[-1]
    assert dm.card is not None
    deny = button(dm.card, "deny") | {"note": "too much for a shower"}
    await teams.press(ALICE, dm.activity_id, deny, ALICE.personal)
    assert "denied Room upgrade" in c.updates(card_id)[-1].text
    detail = await case_detail(teams.container.db, TENANT, 1)
    assert detail.approvals[0].status == ApprovalStatus.DENIED
    assert detail.approvals[0].decision_note == "too much for a shower"


async def test_someone_never_met_is_recorded_as_unreached(teams: Teams) -> None:
    await teams.say(ALICE, "recover Soup was cold")
    notifier = teams.container.notifier.routes["teams"]
    before = len(teams.connector.log)
    await teams.container.notifier.notify(
        Recipient("user", CAROL.aad, "teams"),
        Notice("handover", "<@aad-alice> handed case #1 to you", TENANT, None),
    )
    assert len(teams.connector.log) == before
    assert [r.id for r, _ in notifier.undelivered] == [CAROL.aad]  # type: ignore[attr-defined]


async def test_notices_of_any_kind_render_with_their_buttons(teams: Teams) -> None:
    c = teams.connector
    await teams.say(BOB, "hi", BOB.personal)
    await _owned_case(teams)
    case_id = (await case_detail(teams.container.db, TENANT, 1)).case.id
    notify = teams.container.notifier.notify
    bob = Recipient("user", BOB.aad, "teams")
    await notify(
        bob, Notice("followup_due", "Follow up with Mrs Patel on case #1", TENANT, case_id, {"number": 1})
    )
    card = c.sends(BOB.personal)[-1].card
    assert card is not None
    assert button(card, "followup", number=1) and button(card, "show", number=1)
    snooze = button(card, "snooze", number=1)
    assert snooze["for"] == "1d"
    await notify(bob, Notice("digest", "*Weekly digest*: 3 cases", TENANT, None, {}))
    digest = c.sends(BOB.personal)[-1]
    assert "**Weekly digest**: 3 cases" in digest.text and "Action.Submit" not in digest.text
    await notify(Recipient("channel", CHANNEL, "teams"), Notice("nudge_unowned", "Case #1 is waiting", TENANT, case_id,
                                                                {"number": 1}))  # fmt: skip
    nudge = c.sends(CHANNEL)[-1].card
    assert nudge is not None and button(nudge, "claim", number=1)
    # Pressing Satisfied on the follow-up nudge records it like the case card would.
    await teams.say(BOB, "recover resolve 1 new room | boiler")
    await teams.press(BOB, c.sends(BOB.personal)[-3].activity_id,
                      button(card, "followup") | {"satisfied": "yes", "score": "4"}, BOB.personal)  # fmt: skip
    assert (await case_detail(teams.container.db, TENANT, 1)).case.score == 4
    # The snooze button goes through the shared grammar's `snooze` intent; it answers, whoever owns it.
    assert await teams.press(BOB, c.sends(BOB.personal)[-1].activity_id, snooze, BOB.personal) == 201


async def test_references_and_people_are_stored(teams: Teams) -> None:
    await teams.say(BOB, "hi", BOB.personal)
    store = TeamsStore(teams.container.db)
    person = await store.person(TENANT, BOB.aad)
    assert person is not None and person.name == "Bob Owner" and person.tz == "Europe/London"
    assert person.personal_key == conversation_key(BOB.personal) and person.personal_key != BOB.personal
    conv = await store.conversation(person.personal_key)
    assert conv is not None and conv.conversation_id == BOB.personal and conv.kind == "personal"
    assert conv.reference["serviceUrl"] == teams.connector_url


async def test_the_digest_chart_arrives_inline_after_the_digest(teams: Teams) -> None:
    await teams.say(BOB, "hi", BOB.personal)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20
    chart = Attachment("teambot-digest.png", png, title="Recovery cases, 2026-W48")
    await teams.container.notifier.notify(
        Recipient("user", BOB.aad, "teams"), Notice("digest", "Weekly digest", TENANT, None, {}, [chart])
    )
    text_card, image_card = (s.card for s in teams.connector.sends(BOB.personal)[-2:])
    assert text_card is not None and "Weekly digest" in json.dumps(text_card)
    assert image_card is not None
    image = next(b for b in image_card["body"] if b["type"] == "Image")
    assert image["altText"] == "Recovery cases, 2026-W48"
    assert base64.b64decode(image["url"].removeprefix("data:image/png;base64,")) == png


async def test_outside_a_turn_a_refused_notice_raises_for_the_retry(teams: Teams) -> None:
    await teams.say(BOB, "hi", BOB.personal)
    teams.connector.fail_next.append(403)
    with pytest.raises(Exception):  # noqa: B017 - botbuilder's own error type for a refused send
        await teams.container.notifier.notify(
            Recipient("user", BOB.aad, "teams"), Notice("nudge_resolve", "Case #1 is due", TENANT, None, {})
        )
    assert teams.container.notifier.routes["teams"].undelivered  # type: ignore[attr-defined]
