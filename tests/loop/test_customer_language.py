"""The customer's language, end to end on the real database (SQLite and PostgreSQL): `lang:de` on
quick open, the follow-up mail through a real SMTP server (and the outbox) written in it, with
dates and money the German way, and the feedback page in it, with a language switch, Accept-Language
when the case names none, and the team's language after that."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from teambot.bootstrap import Container
from teambot.core.commands.grammar import parse
from teambot.core.commands.intents import Open
from teambot.core.errors import NotFound
from teambot.core.i18n import LANGUAGES, gettext, use_locale
from teambot.core.policy.models import Policy
from teambot.server import create_app
from tests.helpers import FakeClock, RecordingNotifier
from tests.loop import test_customer_loop as base
from tests.loop.test_customer_loop import GOOD, LINK, _container, _mail, _text, ctx, run
from tests.mail.test_senders import Inbox

loop, smtp = base.loop, base.smtp  # the loop's fixtures: a container on a real SMTP server


async def _german_case(c: Container, lang: str = "de") -> None:
    await run(c, f"Jane Doe <jane@example.com>: the soup was cold lang:{lang} wants: a hot soup")
    await run(c, "claim 1")
    await run(c, "apologise 1 phone So sorry")
    await run(c, "grant 1 Free dessert 12.50")
    await run(c, "step 1 Call her back due tomorrow 10:00")
    await run(c, "resolve 1 A fresh bowl, on the house | the pass lamp was off")


async def _set_team_language(c: Container, lang: str) -> None:
    async with c.db.session() as s:
        policy = await s.get(Policy, "T1")
        assert policy is not None
        policy.language = lang
        s.add(policy)
        await s.commit()


def test_quick_open_reads_lang_and_leaves_it_out_of_the_problem() -> None:
    intent = parse("Jane <jane@example.com>: the soup was cold lang:de !high")
    assert isinstance(intent, Open)
    assert (intent.language, intent.problem, intent.severity) == ("de", "the soup was cold", "high")
    assert parse("lang:pt-BR Mr Silva: wrong wine").language == "pt-BR"  # type: ignore[union-attr]
    assert parse("Mr Silva: the slang: was rude").language is None  # type: ignore[union-attr]


async def test_a_language_teambot_cannot_write_is_refused_and_nothing_opens(loop: Container) -> None:
    reply = await loop.commands.run_text("Jane <jane@example.com>: the soup was cold lang:it", ctx())
    assert type(reply).__name__ == "ErrorReply"
    assert "cannot write in 'it'" in reply.text and "de (Deutsch)" in reply.text
    with pytest.raises(NotFound):
        await loop.service.case("T1", 1)


async def test_the_mail_and_the_page_speak_the_customers_language(
    loop: Container, smtp: tuple[Inbox, int]
) -> None:
    inbox = smtp[0]
    await _german_case(loop)
    assert (await loop.service.case("T1", 1)).customer_language == "de"
    await run(loop, "send 1")
    msg = _mail(inbox)
    assert msg["Subject"] == "Rückmeldung von Bistro Care"
    assert msg["Content-Language"] == "de"
    text = _text(msg)
    assert text.startswith("Hallo Jane,\n")
    assert "Danke für Ihre Geduld. Wie wir Ihnen am 23. November am Telefon gesagt haben" in text
    assert "Free dessert (12,50\xa0$)" in text  # the team's currency, written the German way
    assert "Call her back bis Dienstag, 24. November, 10:00" in text
    assert "Viele Grüße\nana\nBistro Care" in text
    assert "Kind regards" not in text and "Dear" not in text
    html = str(msg.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert '<html lang="de">' in html and "Sagen Sie uns Ihre Meinung" in html
    [token] = LINK.findall(text)

    async with TestClient(TestServer(create_app(loop), host="127.0.0.1")) as client:
        page = await client.get(f"/feedback/{token}", headers={"Accept-Language": "en-GB,en;q=0.9"})
        body = await page.text()
        # The case names German: it wins over the browser's English.
        assert page.headers["Content-Language"] == "de" and '<html lang="de">' in body
        assert "Jane, wie war es für Sie?" in body and "Antwort senden" in body
        assert 'href="/feedback/' in body and "?lang=es" in body and ">Español</a>" in body
        spanish = await (await client.get(f"/feedback/{token}?lang=es")).text()
        assert "Jane, ¿qué tal lo hicimos?" in spanish and 'lang="es"' in spanish
        # A wrong answer is explained in the page's language, the switch's choice kept on the post.
        wrong = await client.post(f"/feedback/{token}?lang=es", data={**GOOD, "score": "9"})
        assert wrong.status == 400 and "Elija una nota del 1 al 5" in await wrong.text()
        done = await client.post(f"/feedback/{token}", data=GOOD)
        assert done.status == 200 and "Vielen Dank, Jane" in await done.text()
        again = await client.get(f"/feedback/{token}")
        assert again.status == 410 and "Sie haben bereits geantwortet" in await again.text()


async def test_without_a_language_the_mail_is_the_teams_and_the_page_follows_the_browser(
    loop: Container, smtp: tuple[Inbox, int]
) -> None:
    inbox = smtp[0]
    await run(loop, "Jane Doe <jane@example.com>: the soup was cold")
    await _set_team_language(loop, "fr")
    await run(loop, "claim 1")
    await run(loop, "apologise 1 in_person")
    await run(loop, "resolve 1 A fresh bowl | the lamp")
    await run(loop, "send 1")
    text = _text(_mail(inbox))
    assert text.startswith("Bonjour Jane,\n") and "Bien cordialement," in text
    [token] = LINK.findall(text)
    async with TestClient(TestServer(create_app(loop), host="127.0.0.1")) as client:
        dutch = await client.get(f"/feedback/{token}", headers={"Accept-Language": "nl-BE, nl;q=0.9, en;q=0.5"})
        assert dutch.headers["Content-Language"] == "nl" and "Jane, hoe hebben we het gedaan?" in await dutch.text()
        assert dutch.headers["Vary"] == "Accept-Language"
        unknown = await client.get(f"/feedback/{token}", headers={"Accept-Language": "it, ja;q=0.8"})
        assert unknown.headers["Content-Language"] == "fr"  # none Teambot speaks: the team's
        assert "Jane, comment avons-nous fait ?" in await unknown.text()


async def test_the_outbox_mail_speaks_the_customers_language(
    db_url: str, clock: FakeClock, notifier: RecordingNotifier, tmp_path: Path
) -> None:
    c = await _container(db_url, clock, notifier, tmp_path, None)
    try:
        await _german_case(c, "es")
        await run(c, "send 1")
        [eml] = list((tmp_path / "outbox").iterdir())
        msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage) and msg["Content-Language"] == "es"
        text = _text(msg)
        assert text.startswith("Hola, Jane:\n") and "Gracias por su paciencia" in text
        assert "el 23 de noviembre" in text and "12,50\xa0US$" in text
    finally:
        await c.close()


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_every_language_writes_the_whole_mail_and_page(
    loop: Container, smtp: tuple[Inbox, int], lang: str
) -> None:
    """No sentence of the mail or the page stays English in another language."""
    inbox = smtp[0]
    await _german_case(loop, lang)
    await run(loop, "send 1")
    text = _text(_mail(inbox))
    with use_locale(lang):
        expected = [
            gettext("Kind regards,"),
            gettext("Did we put things right? Two minutes of your time would help us learn:"),
            gettext("As a gesture of apology, we have given you:"),
            gettext("What we agreed to do next:"),
        ]
    assert all(e in text for e in expected)
    english = ["Dear", "Kind regards", "Thank you for your patience", "What we agreed", "Did we put things right"]
    assert lang == "en" or not [e for e in english if e in text]
    [token] = LINK.findall(text)
    async with TestClient(TestServer(create_app(loop), host="127.0.0.1")) as client:
        page = await (await client.get(f"/feedback/{token}")).text()
    for phrase in ("how did we do?", "Send my answer", "Will you come back to us?", "1 is very poor"):
        assert (phrase in page) == (lang == "en"), (lang, phrase)


async def test_the_chat_draft_is_the_customers_letter(loop: Container) -> None:
    await _german_case(loop, "nl")
    reply = await run(loop, "draft 1")
    assert reply.text.startswith("Beste Jane Doe,\n") and "Met vriendelijke groet," in reply.text
    assert "Bedankt voor uw geduld. Zoals we u op 23 november telefonisch zeiden" in reply.text
