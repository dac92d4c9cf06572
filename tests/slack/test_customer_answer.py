"""The customer answers on the feedback page: the case card in Slack shows it at once (issue 17)."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

from teambot.core.cases.models import Case, CaseStatus
from teambot.core.customer_loop.store import issue_link
from teambot.mail.senders import OutboxSender
from tests.slack.conftest import Slack, all_text

GOOD = {"satisfied": "yes", "score": "5", "coming_back": "yes", "comment": "Lovely soup the 2nd time"}


async def feedback_link(slack: Slack, number: int = 1) -> str:
    """The link the follow-up mail carries (issued as `/recover send` issues it)."""
    c = slack.container
    case = await slack.case(number)
    async with c.db.session() as s:
        row = await s.get(Case, case.id)
        assert row is not None
        token = await issue_link(s, row, c.feedback_secret, c.clock.now())
        await s.commit()
    return f"/feedback/{token}"


async def test_the_customers_answer_updates_the_card_in_place(slack: Slack) -> None:
    await slack.command("Jane Doe <jane@example.com>: the soup was cold wants: a hot one")
    await slack.command("claim 1", user="U2")
    await slack.command("apologise 1 in_person So sorry about the soup", user="U2")
    await slack.command("resolve 1 A fresh bowl, on the house | the pass lamp was off", user="U2")
    ts = (await slack.case(1)).card_ref["ts"]  # type: ignore[index]
    before = len(slack.card_updates(ts))

    resp = await slack.http.post(await feedback_link(slack), data=GOOD)
    assert resp.status == 200
    await slack.idle()

    assert (await slack.case(1)).status == CaseStatus.CLOSED
    updates = slack.card_updates(ts)
    assert len(updates) > before  # chat.update of the case card, no chat step needed
    card = all_text(updates[-1])
    assert "from the customer" in card and "closed" in card.lower()
    # The timeline thread says it too, and the owner is told in a DM.
    thread = [m for m in slack.fake.of("chat.postMessage") if m.get("thread_ts") == ts]
    assert any("from the customer" in str(m.get("text")) for m in thread)
    assert any("answered the follow-up themselves" in str(m.get("text")) and m.get("channel") == "U2"
               for m in slack.fake.of("chat.postMessage"))  # fmt: skip


def _mail_text(folder: Path) -> str:
    [eml] = list(folder.iterdir())
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


async def test_the_mail_is_signed_with_the_senders_name(slack: Slack, tmp_path: Path) -> None:
    """Issue 17: signed with the name Slack knows them by (users.info), not a raw user id."""
    slack.container.mailer.sender = OutboxSender(tmp_path / "outbox")
    await slack.command("Jane Doe <jane@example.com>: the soup was cold wants: a hot one")
    await slack.command("claim 1", user="U2")
    await slack.command("apologise 1 in_person So sorry about the soup", user="U2")
    await slack.command("resolve 1 A fresh bowl, on the house | the pass lamp was off", user="U2")
    await slack.command("send 1", user="U2")
    text = _mail_text(tmp_path / "outbox").rstrip()
    assert text.endswith("Kind regards,\nname-U2\nTeambot"), text[-200:]
    assert "U2\n" not in text.replace("name-U2\n", "")
