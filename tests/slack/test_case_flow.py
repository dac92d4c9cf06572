"""A whole case through Slack, open to close, by buttons and modals; the form; the shortcut."""

from __future__ import annotations

from teambot.core.cases.models import CaseStatus
from tests.helpers import FakeClock
from tests.slack.conftest import Slack, action_ids, all_text


async def test_case_from_form_to_close_through_buttons_and_modals(slack: Slack, clock: FakeClock) -> None:
    fake = slack.fake
    status, _, key = await slack.command("")
    assert status == 200
    form = fake.last_view("open")
    assert {b["block_id"] for b in form["blocks"] if b["type"] == "input"} >= {
        "customer", "problem", "wants", "category", "severity", "own",
    }  # fmt: skip
    categories = next(b for b in form["blocks"] if b.get("block_id") == "category")["element"]["options"]
    assert "billing" in [o["value"] for o in categories]
    status, ack = await slack.submit(
        form,
        {"customer": "Mrs Patel", "problem": "No hot water in 412", "wants": "A room move", "category": "booking",
         "severity": "high", "own": []},
    )  # fmt: skip
    assert status == 200 and ack is None  # plain ack: the modal closes
    case = await slack.case(1)
    assert (case.customer_name, case.category, case.severity, case.status) == (
        "Mrs Patel",
        "booking",
        "high",
        CaseStatus.OPEN,
    )
    [card] = fake.posts("C1", thread=False)
    ts = case.card_ref["ts"]  # type: ignore[index]
    assert "Mrs Patel" in all_text(card) and action_ids(card)[0] == "case:claim"

    clock.advance(minutes=4)
    await slack.click("case:claim", "1", user="U2", message_ts=ts)
    case = await slack.case(1)
    assert case.owner_id == "U2" and case.status == CaseStatus.OWNED
    update = slack.card_updates(ts)[-1]
    assert action_ids(update)[:2] == ["case:apologise", "case:grant"]
    assert "<@U2>" in all_text(update)

    async def by_modal(step: str, answers: dict[str, object], user: str = "U2") -> dict[str, object] | None:
        await slack.click(f"case:{step}", "1", user=user, message_ts=ts)
        view = fake.last_view(step)
        status, ack = await slack.submit(view, answers, user=user)
        assert status == 200
        return ack

    assert await by_modal("apologise", {"method": "phone", "words": "I am so sorry"}) is None
    await slack.click("case:grant", "1", user="U2", message_ts=ts)
    grant = fake.last_view("grant")
    gestures = next(b for b in grant["blocks"] if b.get("block_id") == "gesture")["element"]
    assert gestures["initial_option"]["value"] == "Room upgrade"  # a default is chosen
    status, ack = await slack.submit(grant, {"gesture": "Waived fee"}, user="U2")
    assert ack is None
    assert await by_modal("step", {"text": "Move to 514", "owner": "U3", "due": "in 2h"}) is None
    update = slack.card_updates(ts)[-1]
    assert "case:done" in action_ids(update)
    await slack.click("case:done", "1.1", user="U3", message_ts=ts, selected=True)
    assert await by_modal("flag", {"note": "Boiler checks are monthly; make them weekly"}) is None
    clock.advance(hours=2)
    assert (
        await by_modal(
            "resolve", {"summary": "Moved to 514 and waived the fee", "root_cause": "Boiler failed"}
        )
        is None
    )
    case = await slack.case(1)
    assert case.status == CaseStatus.RESOLVED and case.followup_due_at is not None
    assert action_ids(slack.card_updates(ts)[-1])[0] == "case:followup"
    clock.advance(hours=48)
    assert await by_modal("followup", {"satisfied": "yes", "score": "5", "won_back": "won"}) is None
    case = await slack.case(1)
    assert case.status == CaseStatus.CLOSED and case.score == 5 and case.won_back is True

    final = slack.card_updates(ts)[-1]
    assert action_ids(final) == ["case:reopen", "case:shoutout", "case:draft", "case:category", "case:cancel"]
    assert "Closed" in all_text(final) and "satisfied, 5/5, won back" in all_text(final)
    thread = [p["text"] for p in fake.posts("C1", thread=True)]
    expected = ["took ownership", "apologised (phone)", "granted Waived fee", "added next step 1", "finished next step 1",
                "flagged for process improvement", "resolved: Moved to 514", "recorded the follow-up: satisfied, 5/5"]  # fmt: skip
    assert len(thread) == len(expected)
    for line, words in zip(thread, expected, strict=True):
        assert words in line
    assert all(p["thread_ts"] == ts for p in fake.posts("C1", thread=True))
    assert len(fake.posts("C1", thread=False)) == 1  # one card, updated in place throughout
    assert fake.to(key) == []

    # Draft is private; Reopen works from the card.
    _, _, draft_key = await slack.click("case:draft", "1", user="U2", message_ts=ts)
    [draft] = fake.to(draft_key)
    assert draft["response_type"] == "ephemeral" and "Mrs Patel" in all_text(draft)
    await slack.click("case:reopen", "1", user="U2", message_ts=ts)
    status, ack = await slack.submit(fake.last_view("reopen"), {"reason": "She wrote again"}, user="U2")
    assert (await slack.case(1)).status == CaseStatus.OWNED


async def test_form_retry_and_field_errors(slack: Slack) -> None:
    await slack.command("")
    form = slack.fake.last_view("open")
    status, ack = await slack.submit(form, {"problem": "   ", "severity": "medium"}, view_id="V1")
    assert status == 200 and ack == {
        "response_action": "errors",
        "errors": {"problem": ack["errors"]["problem"]},
    }  # type: ignore[index]
    assert "empty" in ack["errors"]["problem"]  # type: ignore[index]
    assert await slack.cases() == []
    for _ in range(3):  # the same submission delivered three times
        status, ack = await slack.submit(
            form, {"problem": "Cold soup", "severity": "low", "own": ["own"]}, view_id="V1"
        )
        assert status == 200 and ack is None
    [case] = await slack.cases()
    assert case.owner_id == "U1" and case.severity == "low"
    assert len(slack.fake.posts("C1", thread=False)) == 1
    thread = slack.fake.posts("C1", thread=True)
    assert len(thread) == 1 and "took ownership" in thread[0]["text"]


async def test_message_shortcut_quotes_and_links_back(slack: Slack) -> None:
    fake = slack.fake
    long_text = "The guest in 207 says the minibar bill is wrong. " * 80  # ~4000 characters
    status, _, _ = await slack.shortcut(long_text, "1789999999.000100", author="U9")
    assert status == 200
    form = fake.last_view("open")
    problem = next(b for b in form["blocks"] if b.get("block_id") == "problem")["element"]
    assert len(problem["initial_value"]) <= 3000 and problem["initial_value"].startswith("The guest in 207")
    assert "3000" in all_text(form)  # told the message was shortened
    await slack.submit(form, {"problem": "Minibar bill wrong for 207", "severity": "medium"})
    [case] = await slack.cases()
    assert case.source_ref == "slack:msg:C1:1789999999.000100"
    [card] = fake.posts("C1", thread=False)
    text = all_text(card)
    assert "https://hotel.slack.com/archives/C1/p1789999999000100" in text and "<@U9>" in text
    assert fake.of("chat.getPermalink")[0]["message_ts"] == "1789999999.000100"
    # Someone else turns the same message into a case: told it exists, nothing new.
    _, _, key = await slack.shortcut(long_text, "1789999999.000100", user="U5")
    await slack.submit(fake.last_view("open"), {"problem": "Minibar again", "severity": "medium"}, user="U5")
    assert len(await slack.cases()) == 1 and len(fake.posts("C1", thread=False)) == 1
    assert "already case #1" in all_text(fake.to(key)[-1])
    # Later card updates keep the link.
    await slack.click("case:claim", "1", user="U2", message_ts=case.card_ref["ts"])  # type: ignore[index]
    assert "archives/C1/p1789999999000100" in all_text(slack.card_updates(case.card_ref["ts"])[-1])  # type: ignore[index]
