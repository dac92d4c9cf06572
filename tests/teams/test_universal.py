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


async def _pending_approval(teams: Teams) -> str:
    card_id = await _open(teams)
    await teams.say(BOB, "recover claim 1")
    await teams.say(BOB, "recover apologise 1 in_person so sorry")
    await teams.say(DAVE, "hello")  # Dave has been seen: he is among the automatic refreshes
    await teams.say(BOB, "recover grant 1 Free dinner for two")
    return card_id


async def test_refresh_answers_owner_approver_and_bystander_differently(teams: Teams) -> None:
    card_id = await _pending_approval(teams)
    shared = teams.connector.updates(card_id)[-1].card
    assert shared is not None
    refresh = shared["refresh"]["action"]["data"]
    assert "29:dave" in shared["refresh"]["userIds"] and len(shared["refresh"]["userIds"]) <= 60
    owner = view((await teams.execute(BOB, card_id, refresh, trigger="automatic"))[1])
    approver = view((await teams.execute(ALICE, card_id, refresh, trigger="automatic"))[1])
    bystander = view((await teams.execute(DAVE, card_id, refresh, trigger="automatic"))[1])
    assert "Resolve" in titles(owner) and "Approve" not in titles(owner)
    assert {"Approve", "Deny"} <= titles(approver) and "Resolve" not in titles(approver)
    assert "Shout out" in titles(bystander) and not {"Approve", "Resolve", "Record apology"} & titles(bystander)
    # Times in each viewer's own zone.
    assert "Times in Europe/London." in str(owner) and "Times in Asia/Tokyo." in str(bystander)
    assert facts(owner)["Apology"] != facts(bystander)["Apology"]  # 09:00 London is 18:00 Tokyo
    # The approver approves from the card: the invoke answers with the approver's view, the channel's card updates.
    status, answer = await teams.execute(ALICE, card_id, button(approver, "approve"))
    assert status == 200 and "approved Free dinner for two" in str(view(answer))
    assert "(approved)" in facts(teams.connector.updates(card_id)[-1].card or {})["Compensation"]
    assert (await case_detail(teams.container.db, TENANT, 1)).approvals[0].status == ApprovalStatus.APPROVED


async def test_more_than_sixty_people_get_a_manual_refresh(teams: Teams) -> None:
    store = TeamsStore(teams.container.db)
    now = teams.container.clock.now()
    for i in range(70):
        await store.remember_member(TENANT, f"aad-extra{i}", f"29:extra{i}", f"Extra {i}", now)
    card_id = await _open(teams)
    shared = teams.connector.sends(CHANNEL)[-1].card
    assert shared is not None
    ids = shared["refresh"]["userIds"]
    assert len(ids) == 60 and ids[0] == "29:alice"  # the opener first, then the most recently seen
    # Someone outside the 60 presses the card's Refresh (Teams shows it for them): their own view comes back.
    outsider = User("extra69", "Extra 69")
    answer = view((await teams.execute(outsider, card_id, shared["refresh"]["action"]["data"]))[1])
    assert "Claim" in titles(answer)


async def test_a_refused_form_comes_back_with_what_was_typed(teams: Teams) -> None:
    card_id = await _open(teams)
    mine = view((await teams.execute(BOB, card_id, {"teambot": "claim", "number": 1}))[1])
    typed = {"summary": "New room", "root_cause": "boiler"}
    answer = view((await teams.execute(BOB, card_id, {"teambot": "resolve", "number": 1} | typed))[1])
    assert "No apology is recorded on case #1" in str(answer)
    fields = inputs(answer)
    assert fields["summary"]["value"] == "New room" and fields["root_cause"]["value"] == "boiler"
    # Native inputs: the amount is a number, the due date and time are pickers, and they parse back.
    await teams.execute(BOB, card_id, button(mine, "apologise") | {"method": "phone"})
    mine = view((await teams.execute(BOB, card_id, {"teambot": "refresh", "number": 1}))[1])
    grant_inputs = inputs(mine)
    assert grant_inputs["amount"]["type"] == "Input.Number"
    assert grant_inputs["due_date"]["type"] == "Input.Date" and grant_inputs["due_time"]["type"] == "Input.Time"
    assert grant_inputs["owner"]["choices.data"]["type"] == "Data.Query"
    await teams.execute(BOB, card_id, button(mine, "grant") | {"gesture": "Waived fee", "amount": "12.50"})
    await teams.execute(BOB, card_id, button(mine, "step") | {"text": "Fix boiler", "due_date": "2030-01-02",
                                                               "due_time": "09:30"})  # fmt: skip
    detail = await case_detail(teams.container.db, TENANT, 1)
    assert detail.grants[0].amount_minor == 1250
    assert detail.steps[0].due_at is not None and detail.steps[0].due_at.isoformat().startswith("2030-01-02T09:30")


async def test_an_approver_who_never_wrote_is_reached_through_the_roster(teams: Teams) -> None:
    c = teams.connector
    c.members = [ALICE.account, BOB.account, {**CAROL.account, "tenantId": TENANT}, DAVE.account]
    await _open(teams)
    case_id = (await case_detail(teams.container.db, TENANT, 1)).case.id
    await teams.container.notifier.notify(
        Recipient("user", CAROL.aad, "teams"),
        Notice("approval_request", "<@aad-bob> asks to give Room upgrade", TENANT, case_id,
               {"approval_id": 7, "number": 1}),
    )  # fmt: skip
    assert c.roster_reads and c.created, "the roster was read and a 1:1 conversation created"
    created = c.created[0]
    assert created["authorised"] and created["body"]["members"][0]["id"] == "29:carol"
    assert created["body"]["tenantID"] == TENANT and created["body"]["channelData"]["tenant"]["id"] == TENANT and created["body"]["isGroup"] is False
    dm = c.log[-1]
    assert dm.method == "send" and dm.conversation == created["id"] and "asks to give Room upgrade" in dm.text
    person = await TeamsStore(teams.container.db).person(TENANT, CAROL.aad)
    assert person is not None and person.personal_key and person.name == "Carol New"
    # Next time the stored chat is used: no roster read, no new conversation.
    reads = len(c.roster_reads)
    await teams.container.notifier.notify(Recipient("user", CAROL.aad, "teams"), Notice("digest", "Weekly", TENANT, None))
    assert len(c.roster_reads) == reads and len(c.created) == 1 and c.log[-1].conversation == created["id"]


async def test_when_teams_refuses_the_channel_mention_is_the_fallback(teams: Teams) -> None:
    c = teams.connector
    c.members = [BOB.account]
    c.refuse_create = 403
    await _open(teams)
    await teams.say(BOB, "recover claim 1")
    case_id = (await case_detail(teams.container.db, TENANT, 1)).case.id
    await teams.container.notifier.notify(
        Recipient("user", BOB.aad, "teams"), Notice("handover", "Case #1 is yours", TENANT, case_id, {"number": 1})
    )
    told = c.sends(CHANNEL)[-1]
    assert "<at>Bob Owner</at>" in told.text and "Case #1 is yours" in told.text and not c.created


async def test_the_personal_home(teams: Teams) -> None:
    c = teams.connector
    await _pending_approval(teams)
    await teams.say(ALICE, "recover home", ALICE.personal)
    home = c.sends(ALICE.personal)[-1]
    assert home.card is not None and "Your service recovery" in home.text
    assert "Approvals waiting (1)" in home.text and "Free dinner for two" in home.text
    assert home.card["refresh"]["userIds"] == ["29:alice"]
    await teams.say(BOB, "recover home", BOB.personal)
    bob_home = c.sends(BOB.personal)[-1]
    assert "Your open cases (1)" in bob_home.text and "Cases owned" in bob_home.text
    # Approving from the home: the same card is updated in place, and the answer is the fresh home.
    status, answer = await teams.execute(ALICE, home.activity_id, button(home.card, "approve"), ALICE.personal)
    fresh = view(answer)
    assert status == 200 and "Approvals waiting" not in str(fresh) and "approved Free dinner" in str(fresh)
    assert c.updates(home.activity_id)[-1].card == fresh
    channel_card = [u for u in c.updates() if u.conversation == CHANNEL][-1].card
    assert "(approved)" in facts(channel_card or {})["Compensation"]
    # Asking again: one home, the old card says where it went.
    await teams.say(ALICE, "recover home", ALICE.personal)
    assert "moved to the newest card" in c.updates(home.activity_id)[-1].text
    # In a channel the home is not shown to everyone.
    await teams.say(BOB, "recover home")
    assert "recover home" in c.sends(CHANNEL)[-1].text
    assert (await case_detail(teams.container.db, TENANT, 1)).case.status == CaseStatus.OWNED


async def test_the_welcome_on_install_shows_the_home(teams: Teams) -> None:
    body = teams.activity(CAROL, CAROL.personal, type="installationUpdate", action="add")
    assert (await teams.post(body)).status in (200, 201)
    sent = teams.connector.sends(CAROL.personal)
    assert "I can now message you here" in sent[-2].text and "Your service recovery" in sent[-1].text
