"""Approvals by DM buttons; every kind of core refusal reaching the person; the bot not in the channel."""

from __future__ import annotations

from typing import Any

from teambot.core.cases.models import ApprovalRequest, ApprovalStatus, CaseStatus, Grant
from tests.slack.conftest import Slack, action_ids, all_text


async def _owned_case(slack: Slack, owner: str = "U1") -> str:
    """Case #1 opened, claimed by `owner`, apology recorded; returns its card ts."""
    await slack.command("Mr Jones: soup was cold", user=owner)
    ts = (await slack.case(1)).card_ref["ts"]  # type: ignore[index]
    await slack.click("case:claim", "1", user=owner, message_ts=ts)
    await slack.click("case:apologise", "1", user=owner, message_ts=ts)
    await slack.submit(slack.fake.last_view("apologise"), {"method": "in_person"}, user=owner)
    return ts


async def _grant(
    slack: Slack, ts: str, gesture: str, amount: str | None = None, user: str = "U1"
) -> dict[str, Any] | None:
    await slack.click("case:grant", "1", user=user, message_ts=ts)
    _, ack = await slack.submit(
        slack.fake.last_view("grant"), {"gesture": gesture, "amount": amount}, user=user
    )
    return ack


async def _rows(slack: Slack, model: type) -> list[Any]:
    from sqlmodel import select

    async with slack.container.db.session() as s:
        return list((await s.exec(select(model))).all())


async def test_approval_by_dm_buttons(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("policy", user="UADMIN")  # the first person in a team becomes its admin and approver
    ts = await _owned_case(slack)
    _ = await _grant(slack, ts, "Free dinner for two")  # 90 > the member limit of 50
    [req] = await _rows(slack, ApprovalRequest)
    assert req.status == ApprovalStatus.PENDING
    card = slack.card_updates(ts)[-1]
    assert "Waiting for approval" in all_text(card) and "<@UADMIN>" in all_text(card)
    [dm] = fake.posts("UADMIN")
    assert action_ids(dm)[:2] == ["approval:approve", "approval:deny"]
    assert f'"value": "{req.id}"' in all_text(dm)
    asked = [p for p in fake.posts("U1")]
    assert asked == []  # the requester is told on the card (and privately below), not by DM yet

    # The requester is no approver, nor is a passer-by: refused privately, nothing decided.
    _, _, key = await slack.click("approval:approve", str(req.id), user="U1", channel="D1")
    assert "Only an approver" in all_text(fake.to(key)[-1])
    _, _, key = await slack.click("approval:approve", str(req.id), user="U7", channel="D7")
    assert "Only an approver" in all_text(fake.to(key)[-1])

    _, _, key = await slack.click("approval:approve", str(req.id), user="UADMIN", channel="DADMIN")
    [verdict] = fake.to(key)
    assert verdict["replace_original"] is True and "approval:approve" not in action_ids(verdict)
    assert "approved Free dinner for two" in all_text(verdict)
    card = slack.card_updates(ts)[-1]
    assert "Waiting for approval" not in all_text(card) and "(approved)" in all_text(card)
    [told] = fake.posts("U1")
    assert "approved Free dinner for two" in told["text"]
    assert any("approved Free dinner for two" in p["text"] for p in fake.posts("C1", thread=True))
    grants = await _rows(slack, Grant)
    assert [(g.gesture, g.within_authority) for g in grants] == [("Free dinner for two", False)]

    # Pressing Approve again (another copy of the DM): refused, nothing granted twice.
    _, _, key = await slack.click("approval:approve", str(req.id), user="UADMIN", channel="DADMIN")
    assert "already approved" in all_text(fake.to(key)[-1])
    assert len(await _rows(slack, Grant)) == 1


async def test_deny_with_a_reason(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("policy", user="UADMIN")
    ts = await _owned_case(slack)
    await _grant(slack, ts, "Gift card", "120")
    [req] = await _rows(slack, ApprovalRequest)
    _, _, key = await slack.click("approval:deny", str(req.id), user="UADMIN", channel="DADMIN")
    view = fake.last_view("deny")
    _, ack = await slack.submit(view, {"note": "A voucher is enough here"}, user="UADMIN")
    assert ack is None
    [req] = await _rows(slack, ApprovalRequest)
    assert req.status == ApprovalStatus.DENIED and req.decision_note == "A voucher is enough here"
    [verdict] = fake.to(key)
    assert verdict["replace_original"] is True and "denied Gift card" in all_text(verdict)
    assert "A voucher is enough here" in fake.posts("U1")[-1]["text"]
    assert "Waiting for approval" not in all_text(slack.card_updates(ts)[-1])


async def test_typed_refusals_come_back_privately_with_what_was_typed(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("Soup was cold", user="UADMIN")
    cases = [
        ("claim 99", "There is no case #99"),  # not found
        ("grant 1 Waived fee", "Nobody owns case #1"),  # invalid step
        ("policy currency EUR", None),  # allowed: UADMIN is admin (control)
        ("resolve 1 fixed it", "root cause is missing"),
        ("resolve 1 fixed it | slow kitchen", "Nobody owns case #1"),
        ("followup 1 satisfied 9", "9 is not a score"),
        ("followup 1 satisfied 4", "is open; the follow-up comes after"),
        ("done 1", "Say which case and which step"),  # grammar
    ]
    for text, words in cases:
        _, _, key = await slack.command(text, user="UADMIN")
        [answer] = fake.to(key)
        assert answer["response_type"] == "ephemeral"
        if words:
            assert words in all_text(answer), text
            assert text in all_text(answer)  # echoed, so nothing typed is lost
    _, _, key = await slack.command("policy currency GBP", user="U2")
    assert "Only a Teambot admin" in all_text(fake.to(key)[-1])
    await slack.command("claim 1", user="U2")
    _, _, key = await slack.command("claim 1", user="U3")
    assert "already owned by <@U2>" in all_text(fake.to(key)[-1])
    _, _, key = await slack.command("grant 1 Waived fee 12.345.6", user="U2")
    assert "not an amount" in all_text(fake.to(key)[-1])
    _, _, key = await slack.command("grant 1 Mystery gift", user="U2")
    assert "not in the catalogue" in all_text(fake.to(key)[-1])
    _, _, key = await slack.command("resolve 1 Fixed it | cold kitchen", user="U3")
    assert "Only the owner" in all_text(fake.to(key)[-1])
    assert (await slack.case(1)).status == CaseStatus.OWNED


async def test_modal_refusals_as_field_errors_or_private_messages(slack: Slack) -> None:
    fake = slack.fake
    ts = await _owned_case(slack)
    ack = await _grant(slack, ts, "Waived fee", "abc")
    assert ack and ack["response_action"] == "errors" and "not an amount" in ack["errors"]["amount"]
    ack = await _grant(slack, ts, "Waived fee", "-5")
    assert ack and "amount" in ack["errors"]
    await slack.click("case:step", "1", message_ts=ts)
    _, ack = await slack.submit(
        fake.last_view("step"), {"text": "Call back", "owner": "U1", "due": "yesterday"}
    )
    assert ack and "due" in ack["errors"]
    await slack.click("case:resolve", "1", message_ts=ts)
    _, ack = await slack.submit(fake.last_view("resolve"), {"summary": "x" * 10, "root_cause": "y" * 600})
    assert ack and "root_cause" in ack["errors"] and "500" in ack["errors"]["root_cause"]
    # A refusal that names no input closes the modal and is told privately, with the input echoed.
    _, _, key = await slack.click("case:resolve", "1", user="U2", message_ts=ts)
    _, ack = await slack.submit(
        fake.last_view("resolve"), {"summary": "New soup", "root_cause": "Slow pass"}, user="U2"
    )
    assert ack is None
    [told] = fake.to(key)
    assert (
        told["response_type"] == "ephemeral"
        and "Only the owner" in all_text(told)
        and "Slow pass" in all_text(told)
    )
    # A button pressed when the step no longer makes sense.
    _, _, key = await slack.click("case:claim", "1", user="U2", message_ts=ts)
    assert "already owned" in all_text(fake.to(key)[-1])
    _, _, key = await slack.click("case:claim", "42", user="U2", message_ts=ts)
    assert "no case #42" in all_text(fake.to(key)[-1])
    _, _, key = await slack.click("case:grant", "42", user="U2", message_ts=ts)
    assert "no case #42" in all_text(fake.to(key)[-1])
    # A shout-out to yourself is refused (by the shout-out module, or as not available without it).
    _, _, key = await slack.click("case:shoutout", "1", message_ts=ts)
    _, ack = await slack.submit(fake.last_view("shoutout"), {"to": "U1", "message": "Great save"})
    assert ack is None and ":x:" in all_text(fake.to(key)[-1]) and "Great save" in all_text(fake.to(key)[-1])


async def test_bot_not_in_channel(slack: Slack) -> None:
    fake = slack.fake
    fake.not_member.add("G1")
    status, _, key = await slack.command("Wrong wine served", channel="G1")
    assert status == 200
    [case] = await slack.cases()
    assert case.channel_id == "G1"
    shown, hint = fake.to(key)
    assert shown["response_type"] == "in_channel" and "case:claim" in action_ids(shown)
    assert hint["response_type"] == "ephemeral" and "/invite @Teambot" in all_text(hint)
    assert (
        case.card_ref
        and case.card_ref.get("response_url") == fake.response_url(key)
        and "ts" not in case.card_ref
    )
    # A button on that card: the card is replaced through the action's own response_url.
    _, _, click = await slack.click(
        "case:claim", "1", user="U2", channel="G1", message_ts="1790000000.999999"
    )
    [updated] = fake.to(click)
    assert updated["replace_original"] is True and "case:apologise" in action_ids(updated)
    assert (await slack.case(1)).owner_id == "U2"
    assert fake.of("chat.update") == []


async def test_modal_from_app_home_into_a_channel_without_the_bot(slack: Slack) -> None:
    fake = slack.fake
    fake.not_member.add("G2")
    await slack.home_click("home:open", "open")
    form = fake.last_view("open")
    assert form["blocks"][0]["block_id"] == "channel"
    await slack.submit(form, {"channel": "G2", "problem": "Lost luggage", "severity": "high"})
    [case] = await slack.cases()
    assert case.channel_id == "G2"
    dm = fake.posts("U1", thread=False)
    assert "case:claim" in action_ids(dm[0])  # the card went to the opener's DM
    assert case.card_ref and case.card_ref["channel"] == "D1"
    assert any("/invite @Teambot" in all_text(p) for p in fake.posts("U1"))


async def test_every_approvers_dm_loses_its_buttons_once_one_answers(slack: Slack) -> None:
    fake = slack.fake
    await slack.command("policy", user="UADMIN")
    await slack.command("policy approver add <@UBOSS>", user="UADMIN")
    ts = await _owned_case(slack)
    await _grant(slack, ts, "Free dinner for two")
    await slack.idle()
    [req] = await _rows(slack, ApprovalRequest)
    [admin_dm], [boss_dm] = fake.posts("UADMIN"), fake.posts("UBOSS")
    assert "approval:approve" in action_ids(admin_dm) and "approval:approve" in action_ids(boss_dm)
    dms = (await slack.case(1)).card_ref["approval_dms"][str(req.id)]  # type: ignore[index]
    assert sorted(channel for channel, _ in dms) == ["DADMIN", "DBOSS"]
    boss_ts = next(ts for channel, ts in dms if channel == "DBOSS")
    await slack.click("approval:approve", str(req.id), user="UADMIN", channel="DADMIN")
    await slack.idle()
    closed = [u for u in fake.of("chat.update") if u["channel"] == "DBOSS" and u["ts"] == boss_ts]
    assert closed, "the other approver's DM was not updated"
    assert "approval:approve" not in action_ids(closed[-1]) and "approved by <@UADMIN>" in all_text(closed[-1])
    assert (await slack.case(1)).card_ref.get("approval_dms") == {}  # type: ignore[union-attr]
