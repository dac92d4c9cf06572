"""The whole loop against the real database (SQLite and PostgreSQL): a case with the customer's
address, `/recover send` through a real local SMTP server (aiosmtpd), the link in the mail
answered on Teambot's own HTTP server, and links that must write nothing."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import select

from teambot.bootstrap import Container, build
from teambot.config import load_settings
from teambot.core.cases.models import Case, Customer, TimelineEvent
from teambot.core.commands.context import Context
from teambot.core.customer_loop.models import FeedbackToken
from teambot.core.scheduling.models import DueItem
from teambot.server import create_app
from tests.conftest import _truncate
from tests.helpers import FakeClock, RecordingNotifier
from tests.mail.test_senders import Inbox, _free_port, _serve

PUBLIC = "https://teambot.example.com"
FROM = "Bistro Care <care@bistro.example>"
GOOD = {"satisfied": "yes", "score": "4", "coming_back": "yes", "comment": "Lovely soup the 2nd time"}
LINK = re.compile(re.escape(PUBLIC) + r"/feedback/([A-Za-z0-9_.-]+)")


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    for port in _serve(inbox):
        yield inbox, port


async def _container(db_url: str, clock: FakeClock, notifier: RecordingNotifier, tmp_path: Path,
                     smtp_url: str | None) -> Container:  # fmt: skip
    settings = load_settings(
        database_url=db_url, smtp_url=smtp_url, mail_from=FROM, outbox_dir=str(tmp_path / "outbox"),
        public_url_setting=PUBLIC, secret="loop-test-secret-0123456789abcdef",
    )  # fmt: skip
    c = await build(settings, clock=clock, migrate=False)
    await _truncate(c)
    c.notifier.fallback = notifier
    return c


@pytest.fixture
async def loop(db_url: str, clock: FakeClock, notifier: RecordingNotifier, tmp_path: Path,
               smtp: tuple[Inbox, int]) -> AsyncIterator[Container]:  # fmt: skip
    c = await _container(db_url, clock, notifier, tmp_path, f"smtp://127.0.0.1:{smtp[1]}")
    yield c
    await c.close()


def ctx(user: str = "ana") -> Context:
    return Context("T1", "C1", user)


async def run(c: Container, text: str, user: str = "ana") -> Any:
    reply = await c.commands.run_text(text, ctx(user))
    assert type(reply).__name__ != "ErrorReply", reply.text
    return reply


async def resolved_case(c: Container) -> None:
    await run(c, "Jane Doe <jane@example.com>: the soup was cold wants: a hot soup !high")
    await run(c, "claim 1")
    await run(c, "apologise 1 in_person So sorry about the soup")
    await run(c, "resolve 1 A fresh bowl, on the house | the pass lamp was off")


def _mail(inbox: Inbox, i: int = -1) -> EmailMessage:
    msg = email.message_from_bytes(inbox.received[i][0].content, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _text(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


async def _events(c: Container, kind: str) -> list[TimelineEvent]:
    async with c.db.session() as s:
        return list((await s.exec(select(TimelineEvent).where(TimelineEvent.kind == kind))).all())


async def _case(c: Container, number: int = 1) -> Case:
    return await c.service.case("T1", number)


# ----- the address ---------------------------------------------------------------------------


async def test_quick_open_remembers_the_address_with_the_customer(loop: Container) -> None:
    reply = await run(loop, "Jane Doe <jane@example.com>: the soup was cold")
    assert reply.detail.case.customer_name == "Jane Doe"
    assert reply.detail.customer.email == "jane@example.com"
    # A later case for the same customer with a new address updates it.
    await run(loop, "jane doe (Jane.Doe@Example.ORG): the bill was wrong")
    async with loop.db.session() as s:
        [cust] = (await s.exec(select(Customer))).all()
    assert cust.email == "Jane.Doe@example.org"
    opened = [e.data for e in await _events(loop, "opened")]
    assert all("example" not in str(d) for d in opened)  # the address is not put in the timeline


async def test_a_bad_address_is_refused_with_a_sentence(loop: Container) -> None:
    reply = await loop.commands.run_text("Jane <jane@example>: the soup was cold", ctx())
    assert type(reply).__name__ == "ErrorReply"
    assert "is not an email address" in reply.text


async def test_forget_customer_erases_the_address_and_export_shows_it(loop: Container) -> None:
    await run(loop, "Jane Doe <jane@example.com>: the soup was cold")  # ana is the team's first user: admin
    exported = await run(loop, "export-customer Jane Doe")
    assert '"email": "jane@example.com"' in exported.text
    await run(loop, "forget-customer Jane Doe")
    async with loop.db.session() as s:
        [cust] = (await s.exec(select(Customer))).all()
    assert cust.email is None


# ----- sending, by real SMTP -----------------------------------------------------------------


async def test_send_mails_the_draft_with_a_working_link(loop: Container, smtp: tuple[Inbox, int],
                                                        notifier: RecordingNotifier) -> None:  # fmt: skip
    inbox, _ = smtp
    await resolved_case(loop)
    reply = await run(loop, "send 1")
    assert "emailed the follow-up for case #1" in reply.message
    [(envelope, _, _)] = inbox.received
    assert envelope.rcpt_tos == ["jane@example.com"]
    msg = _mail(inbox)
    assert msg["From"] == FROM and msg["To"] == "jane@example.com"
    assert msg["Subject"] == "Following up from Bistro Care"
    assert msg.get_content_type() == "multipart/alternative"
    text = _text(msg)
    assert text.startswith("Dear Jane,\n")
    assert "we are sorry that the soup was cold." in text
    assert "What we have done: A fresh bowl, on the house." in text
    assert "reply to this message" not in text.lower()
    assert text.rstrip().endswith("Kind regards,\nana\nBistro Care")
    html_part = msg.get_body(("html",))
    assert html_part is not None
    [token] = LINK.findall(text)
    assert f'href="{PUBLIC}/feedback/{token}"' in str(html_part.get_content())
    # The text sent is on the timeline, without the link (the link is the customer's alone).
    [sent] = await _events(loop, "followup_sent")
    assert sent.actor == "ana" and "we are sorry that the soup was cold." in sent.data["text"]
    assert token not in str(sent.data) and "<feedback link>" in sent.data["text"]
    assert "jane@example.com" not in str(sent.data)
    async with loop.db.session() as s:
        [row] = (await s.exec(select(FeedbackToken))).all()
        [item] = (await s.exec(select(DueItem).where(DueItem.kind == "followup_mail"))).all()
    assert row.used_at is None and row.expires_at == loop.clock.now() + timedelta(days=14)
    assert item.status == "sent" and item.data["via"] == "smtp"

    # The customer answers on Teambot's own server: the case closes, marked as theirs.
    async with TestClient(TestServer(create_app(loop), host="127.0.0.1")) as client:
        page = await client.get(f"/feedback/{token}")
        html = await page.text()
        assert page.status == 200 and "Jane" in html and "Bistro Care" in html
        assert "Doe" not in html and "soup" not in html  # only a first name and the team's name
        answered = await client.post(f"/feedback/{token}", data=GOOD)
        assert answered.status == 200 and "Thank you, Jane" in await answered.text()
        case = await _case(loop)
        assert (case.status.value, case.satisfied, case.score, case.won_back) == ("closed", True, 4, True)
        assert case.followup_source == "customer"
        [told] = [n for n in notifier.to("ana") if n.kind == "customer_feedback"]
        assert "answered the follow-up themselves: satisfied, 4/5" in told.text
        assert "Lovely soup the 2nd time" in told.text
        [event] = await _events(loop, "followup_answered")
        assert event.data["source"] == "customer" and event.data["comment"] == "Lovely soup the 2nd time"
        # The same link again: refused, nothing more written.
        version = case.version
        again = await client.post(f"/feedback/{token}", data={**GOOD, "satisfied": "no"})
        assert again.status == 410
        assert (await _case(loop)).version == version
        assert len(await _events(loop, "followup_answered")) == 1


async def test_not_satisfied_from_the_customer_reopens_work(loop: Container, smtp: tuple[Inbox, int]) -> None:
    inbox, _ = smtp
    await resolved_case(loop)
    await run(loop, "send 1")
    [token] = LINK.findall(_text(_mail(inbox)))
    async with TestClient(TestServer(create_app(loop), host="127.0.0.1")) as client:
        resp = await client.post(f"/feedback/{token}", data={**GOOD, "satisfied": "no", "score": "2"})
        assert resp.status == 200
    case = await _case(loop)
    assert (case.status.value, case.satisfied, case.followup_source) == ("owned", False, "customer")


async def test_expired_used_and_tampered_links_write_nothing(loop: Container, smtp: tuple[Inbox, int]) -> None:
    inbox, _ = smtp
    await resolved_case(loop)
    await run(loop, "send 1")
    await run(loop, "send 1")  # a second mail, a second link
    [first] = LINK.findall(_text(_mail(inbox, 0)))
    [second] = LINK.findall(_text(_mail(inbox, 1)))
    body, mac = first.split(".")
    tampered = [
        f"{body}.{mac[:-2]}{'AA' if mac[-2:] != 'AA' else 'BB'}",
        f"{body[:-1]}{'A' if body[-1] != 'A' else 'B'}.{mac}",
        first + "x",
        "not-a-token",
    ]
    before = (await _case(loop)).version
    async with TestClient(TestServer(create_app(loop), host="127.0.0.1")) as client:
        for bad in tampered:
            resp = await client.post(f"/feedback/{bad}", data=GOOD)
            assert resp.status == 404, bad
        loop.clock.advance(days=14, seconds=1)  # type: ignore[attr-defined]
        for token in (first, second):
            assert (await client.get(f"/feedback/{token}")).status == 410
            assert (await client.post(f"/feedback/{token}", data=GOOD)).status == 410
    case = await _case(loop)
    assert case.version == before and case.status.value == "resolved" and case.satisfied is None
    assert await _events(loop, "followup_answered") == []
    async with loop.db.session() as s:
        assert all(t.used_at is None for t in (await s.exec(select(FeedbackToken))).all())


async def test_a_link_answered_once_stays_used_in_the_database(loop: Container, smtp: tuple[Inbox, int]) -> None:
    """Single use is the database's: a second answer through the store itself is refused."""
    from teambot.core.customer_loop.ports import FeedbackAnswer
    from teambot.core.customer_loop.tokens import read_token

    inbox, _ = smtp
    await resolved_case(loop)
    await run(loop, "send 1")
    [token] = LINK.findall(_text(_mail(inbox)))
    token_id = read_token(loop.feedback_secret, token, loop.clock.now())
    answer = FeedbackAnswer(True, 5, "yes")
    assert await loop.feedback_store.answer(token_id, answer, loop.clock.now()) is True
    assert await loop.feedback_store.answer(token_id, answer, loop.clock.now()) is False
    view = await loop.feedback_store.lookup(token_id)
    assert view is not None and view.state == "used" and view.first_name == "Jane"
    assert len(await _events(loop, "followup_answered")) == 1


async def test_only_the_owner_or_an_admin_sends_and_only_with_an_address(loop: Container) -> None:
    await resolved_case(loop)
    refused = await loop.commands.run_text("send 1", ctx("bob"))  # bob: neither owner nor admin
    assert type(refused).__name__ == "ErrorReply" and "Only the owner" in refused.text
    await run(loop, "No name at all: the table was dirty")
    await run(loop, "claim 2")
    missing = await loop.commands.run_text("send 2", ctx())
    assert type(missing).__name__ == "ErrorReply" and "no email address" in missing.text


async def test_the_send_form_shows_the_editable_draft_and_sends_the_edit(
    loop: Container, smtp: tuple[Inbox, int]
) -> None:
    from teambot.core.commands.intents import intent_for

    inbox, _ = smtp
    await resolved_case(loop)
    form = await loop.commands.run(intent_for("send_form", {"number": 1}), ctx())
    assert form.form == "send" and "we are sorry that the soup was cold." in form.prefill["body"]
    assert "Send follow-up" not in form.prefill["body"]
    edited = "We are so sorry about the cold soup.\n\nYour next dinner is on us."
    await loop.commands.run(intent_for("send", {"number": 1, "body": edited}), ctx())
    text = _text(_mail(inbox))
    assert "Your next dinner is on us." in text and "What we have done" not in text


# ----- failures: retried, then the owner hears ---------------------------------------------------


async def test_a_failed_send_is_retried_and_the_owner_is_told_when_it_finally_fails(
    db_url: str, clock: FakeClock, notifier: RecordingNotifier, tmp_path: Path
) -> None:
    dead = _free_port()  # nothing listens here
    c = await _container(db_url, clock, notifier, tmp_path, f"smtp://127.0.0.1:{dead}")
    try:
        await resolved_case(c)
        reply = await run(c, "send 1")
        assert "could not be sent yet" in reply.message
        for _ in range(6):
            clock.advance(minutes=61)
            await c.deadlines.sweep()
        async with c.db.session() as s:
            [item] = (await s.exec(select(DueItem).where(DueItem.kind == "followup_mail"))).all()
        assert item.attempts == 5 and item.status == "sent" and "failed" in item.data
        [told] = [n for n in notifier.to("ana") if n.kind == "followup_mail_failed"]
        assert "could not be sent after 5 tries" in told.text
        assert "jane@example.com" not in told.text
        assert await _events(c, "followup_sent") == []
        assert len(await _events(c, "followup_send_failed")) == 1
    finally:
        await c.close()


async def test_without_smtp_the_mail_goes_to_the_outbox(
    db_url: str, clock: FakeClock, notifier: RecordingNotifier, tmp_path: Path
) -> None:
    c = await _container(db_url, clock, notifier, tmp_path, None)
    try:
        await resolved_case(c)
        reply = await run(c, "send 1")
        [eml] = list((tmp_path / "outbox").iterdir())
        assert f"written to {eml}" in reply.message
        msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage) and msg["To"] == "jane@example.com"
        assert LINK.search(_text(msg))
    finally:
        await c.close()


async def test_the_digest_counts_customer_verdicts_apart(loop: Container, smtp: tuple[Inbox, int]) -> None:
    from teambot.core.insights.digest import compute, current_monday, digest_text

    inbox, _ = smtp
    await resolved_case(loop)
    await run(loop, "send 1")
    [token] = LINK.findall(_text(_mail(inbox)))
    await run(loop, "Mr Lee: the wine was corked")
    await run(loop, "claim 2")
    await run(loop, "apologise 2 in_person Sorry")
    await run(loop, "resolve 2 New bottle | storage too warm")
    await run(loop, "followup 2 satisfied 5")
    loop.clock.advance(hours=2)  # type: ignore[attr-defined]
    async with TestClient(TestServer(create_app(loop), host="127.0.0.1")) as client:
        assert (await client.post(f"/feedback/{token}", data=GOOD)).status == 200
    now = loop.clock.now()
    digest = await compute(loop.db, "T1", current_monday(now, "UTC"), now, preview=True)
    t = digest.this
    assert (t.customer_verdicts, t.customer_satisfied, t.staff_verdicts) == (1, 1, 1)
    assert t.feedback_median_h == 2.0 and t.apology_share == 1.0 and t.resolve_target_share == 1.0
    text = digest_text(digest)
    assert "Verdicts given by customers themselves (feedback link): 1, 1 satisfied; recorded by staff: 1." in text
    assert "within the 15 min target 100%" in text
