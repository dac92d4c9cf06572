"""Whose language a command is answered in, on the real database: a person's own choice
(`/recover policy my language`), else their platform's (here the shell's --lang and the Context's
locale, as Slack and Teams fill it), else the team's (`/recover policy language`), else English.
The help is the first thing converted: its commands stay English in every language."""

from __future__ import annotations

import io

import pytest

from teambot.bootstrap import Container
from teambot.core.commands.context import Context
from teambot.core.commands.help import HELP_LINES
from teambot.core.i18n import LANGUAGES, use_locale
from teambot.core.i18n import gettext as _
from teambot.shell.session import ShellSession

T = "T1"


def ctx(user: str = "ana", locale: str | None = None) -> Context:
    return Context(T, "C1", user, locale=locale)


async def text(c: Container, line: str, context: Context) -> str:
    reply = await c.commands.run_text(line, context)
    return str(getattr(reply, "text", None) or getattr(reply, "message", None) or reply.error)  # type: ignore[attr-defined]


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_help_in_every_language_keeps_the_commands(container: Container, lang: str) -> None:
    reply = await container.commands.run_text("help", ctx(locale=lang))
    with use_locale(lang):
        assert reply.title == _("Help")  # type: ignore[attr-defined]
        for line in HELP_LINES:
            assert _(line) in reply.text  # type: ignore[attr-defined]
    for command in ("`/recover claim <case>`", "`/recover policy my language de`", "`/recover digest`"):
        assert command in reply.text  # type: ignore[attr-defined]
    # A translated help says why the commands stay English; the English one has no need to.
    assert ("Commands stay in English" in reply.text) is False  # type: ignore[attr-defined]
    if lang != "en":
        with use_locale(lang):
            assert _("Commands stay in English in every language, so the whole team shares one way to type them "
                     "and Teambot reads them the same for everyone. Everything Teambot says back is in your "
                     "language.") in reply.text  # type: ignore[attr-defined]  # fmt: skip


async def test_own_choice_then_platform_then_team_then_english(container: Container) -> None:
    c = container
    assert "Teambot: service recovery" in await text(c, "help", ctx("ana"))  # nothing said: English
    told = await text(c, "policy language fr", ctx("ana"))  # ana is the team's first user: admin
    assert told.startswith("La langue de l'équipe est désormais le français")
    assert "Teambot : rattraper" in await text(c, "help", ctx("bob"))  # the team's
    assert "Teambot: recuperar" in await text(c, "help", ctx("bob", "es-ES"))  # the platform's, over the team's
    told = await text(c, "policy my language nl", ctx("bob", "es-ES"))
    assert told.startswith("Teambot praat nu Nederlands met je. Commando's blijven Engels")
    assert "Teambot: klachten goedmaken" in await text(c, "help", ctx("bob", "es-ES"))  # own choice first
    told = await text(c, "policy my language auto", ctx("bob", "es-ES"))
    # Said in the language the person chose until now; the next answer is in their app's.
    assert told.startswith("Teambot volgt weer de taal van je app; zonder die, de taal van het team: Frans.")
    assert "Teambot: recuperar" in await text(c, "help", ctx("bob", "es-ES"))


async def test_bad_language_commands_are_explained_in_the_askers_language(container: Container) -> None:
    c = container
    await text(c, "policy", ctx("ana"))  # ana makes the team's policy and is its admin
    refused = await c.commands.run_text("policy language de", ctx("bob", "de-AT"))
    assert type(refused).__name__ == "ErrorReply"  # only admins set the team's language
    wrong = await c.commands.run_text("policy my language tlh", ctx("bob", "de-AT"))
    assert "Teambot kann noch nicht auf 'tlh' schreiben." in wrong.text  # type: ignore[attr-defined]
    assert "de (Deutsch)" in wrong.text  # type: ignore[attr-defined]
    empty = await c.commands.run_text("policy my language", ctx("bob", "de-AT"))
    assert "Sag, welche Sprache Teambot mit dir sprechen soll." in empty.text  # type: ignore[attr-defined]
    assert "/recover policy my language" in empty.text  # type: ignore[attr-defined]
    typo = await c.commands.run_text("clam 1", ctx("bob", "pt-PT"))
    assert "Não conheço `clam`, por isso não foi aberto nada." in typo.text  # type: ignore[attr-defined]


async def test_the_shell_speaks_its_lang(container: Container) -> None:
    out = io.StringIO()
    script = "/recover help\n/recover approvals\n/recover lnag\n/quit\n"
    session = ShellSession(container, stdin=io.StringIO(script), stdout=out, user="you", lang="pt")
    await session.run()
    assert "Teambot: recuperar cada cliente" in out.getvalue()
    assert "Não há pedidos à espera de aprovação." in out.getvalue()  # the shell's own words too
    assert "`/recover claim <case>`" in out.getvalue() or "/recover claim <case>" in out.getvalue()


async def test_the_channel_reads_the_teams_language_and_the_asker_their_own(container: Container) -> None:
    c = container
    await text(c, "policy language de", ctx("ana"))
    opened = await c.commands.run_text("Mr Lee: cold soup", ctx("bob", "fr-FR"))
    assert opened.public and opened.message == "<@bob> hat Fall #1 eröffnet."  # type: ignore[attr-defined]
    claimed = await c.commands.run_text("claim 1", ctx("bob", "fr-FR"))
    assert claimed.message == "<@bob> kümmert sich jetzt um Fall #1."  # type: ignore[attr-defined]
    listed = await c.commands.run_text("list", ctx("bob", "fr-FR"))
    assert not listed.public and listed.title == "Dossiers ouverts"  # type: ignore[attr-defined]
    mine = await c.commands.run_text("mine", ctx("carl", "es"))
    assert mine.empty == "No tienes casos abiertos."  # type: ignore[attr-defined]


async def test_the_policy_reads_in_the_readers_language(container: Container) -> None:
    c = container
    await text(c, "policy language fr", ctx("ana"))
    await text(c, "policy my language de", ctx("ana"))
    shown = dict((await c.commands.run_text("policy", ctx("ana"))).facts)  # type: ignore[attr-defined]
    assert shown["Währung"] == "USD" and shown["Sprache"] == "Französisch; <@ana> Deutsch"
    assert shown["Arbeitszeiten"].startswith("09:00–18:00 am Mo.")
    assert "übernehmen in 15 Min." in shown["Ziele"]
    english = dict((await c.commands.run_text("policy", ctx("bo", "en-GB"))).facts)  # type: ignore[attr-defined]
    assert english["Language"] == "French; <@ana> German" and english["Approvers"] == "<@ana>"
    out = io.StringIO()
    await ShellSession(container, stdin=io.StringIO("/recover policy\n/quit\n"), stdout=out, user="zoe", lang="es").run()
    shell = out.getvalue()  # the shell's own team: English by default, read in Spanish
    assert "  Moneda: USD" in shell and "  Idioma: inglés" in shell, shell


async def test_counts_take_each_languages_plural(container: Container) -> None:
    c = container
    german = ctx("ana", "de")
    before = dict((await c.commands.run_text("policy", german)).facts)  # type: ignore[attr-defined]
    assert before["Muster"].startswith("3 Fälle in 7 Tagen") and "innerhalb von 30 Tagen" in before["Muster"]
    await text(c, "policy patterns 2 200 1", german)  # (a pattern needs two cases at least)
    await text(c, "policy escalation 1", german)
    after = dict((await c.commands.run_text("policy", german)).facts)  # type: ignore[attr-defined]
    assert after["Muster"].startswith("2 Fälle in 7 Tagen") and after["Muster"].endswith("innerhalb von 1 Tag")
    assert after["Vertretung für Freigaben"].endswith("sobald eine Anfrage 1 Arbeitsstunde wartet")
    english = dict((await c.commands.run_text("policy", ctx("ana"))).facts)  # type: ignore[attr-defined]
    assert english["Patterns"] == "2 cases in 7 days, or 200% of the previous 4 weeks' average; repeat customer within 1 day"
    assert english["Backup approvers"] == "every admin, asked once a request waits 1 working hour"
