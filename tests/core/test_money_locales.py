"""Amounts are read in the reader's locale where that is unambiguous (issue 27): each language's
own writing of a number and its currency symbols read exactly; English reads the same in every
language; what could be a thousands group or decimals is asked back in every language, in that
language, offering forms that read back as offered; a currency is never guessed.
Through the real grammar too, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from teambot.bootstrap import Container
from teambot.core.cases.queries import case_detail
from teambot.core.commands.context import Context
from teambot.core.commands.replies import ErrorReply
from teambot.core.errors import BadInput
from teambot.core.i18n import LANGUAGES, format_money, ngettext, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.money import amount_input_hint, from_minor, parse_amount
from teambot.core.policy.settings import PolicyChange

NNBSP, NBSP = "\u202f", "\u00a0"
ASK = "ask"  # the reading is asked back

# (language, typed, team currency, what is read: an amount, ASK, or "refused" and what the refusal names)
READ = [
    ("de", "12,50 €", "EUR", "12.50"),
    ("de", "12,50€", "EUR", "12.50"),
    ("de", "1.234,50", "EUR", "1234.50"),
    ("de", "1.234,50 €", "EUR", "1234.50"),
    ("de", "123.456,78", "EUR", "123456.78"),
    ("de", "1.234.567", "EUR", "refused 1.234.567"),  # read as 1234567: beyond any gesture
    ("de", "12,50 $", "USD", "12.50"),  # German writes the dollar "$"
    ("de", "1,234", "EUR", ASK),
    ("de", "1.234", "EUR", ASK),
    ("de", "1.000", "JPY", "1000"),  # no decimals in yen: only thousands make sense
    ("fr", f"1{NNBSP}234,50{NBSP}€", "EUR", "1234.50"),  # as French writes it, narrow spaces and all
    ("fr", "1 234,50 €", "EUR", "1234.50"),
    ("fr", "12,50 $US", "USD", "12.50"),  # French for the US dollar
    ("fr", "12,50 $CA", "USD", "refused CAD USD"),  # ...and not for the Canadian
    ("fr", "1,234", "EUR", ASK),
    ("es", "12,50 €", "EUR", "12.50"),
    ("es", "1.234,50 €", "EUR", "1234.50"),
    ("es", "12,50 US$", "USD", "12.50"),
    ("es", "1,234", "EUR", ASK),
    ("nl", "€ 12,50", "EUR", "12.50"),
    ("nl", "€ 1.234,50", "EUR", "1234.50"),
    ("nl", "12,50 JP¥", "JPY", "refused JPY"),  # Dutch for the yen; a yen has no cents
    ("nl", "1.234", "EUR", ASK),
    ("pt", f"1{NBSP}234,50{NBSP}€", "EUR", "1234.50"),
    ("pt", "12,50 €", "EUR", "12.50"),
    ("pt", "12,50 R$", "EUR", "refused BRL EUR"),
    ("pt", "1,234", "EUR", ASK),
    ("en", "1,234.50", "EUR", "1234.50"),
    ("en", "12,50", "EUR", "12.50"),
    ("en", "1,234", "EUR", ASK),
    ("en", "1.234", "EUR", ASK),
]
# English is read the same in every language (commands are English).
ENGLISH = [("€12.50", "EUR", "12.50"), ("EUR 1,234.50", "EUR", "1234.50"), ("$5", "USD", "5.00"),
           ("25.5", "EUR", "25.50"), ("1,000", "EUR", ASK), ("£5", "EUR", "refused GBP EUR")]  # fmt: skip


def _fits(template: str, text: str) -> bool:
    """`text` is the current language's `template`, whatever fills its placeholders."""
    return re.fullmatch(re.sub(r"%\\\(\w+\\\)s", ".+", re.escape(template)), text) is not None


def _is_the_question(err: BadInput) -> bool:
    """Asked back: "Is 1,234 meant as 1234 or as 1.23?", or "1,234 has more decimals than EUR allows"
    offering the thousands ("If the ',' groups thousands, type 1234"), in the current language."""
    offer = ngettext(
        "If the '%(sign)s' groups thousands, type %(thousands)s; otherwise round to %(places)s decimal place.",
        "If the '%(sign)s' groups thousands, type %(thousands)s; otherwise round to %(places)s decimal places.",
        2,
    )
    return _fits(_("Is %(typed)s meant as %(thousands)s or as %(decimal)s?"), err.message) or _fits(
        offer, err.hint or ""
    )


def reading(typed: str, currency: str) -> str:
    """What is read (the amount), ASK, or the refusal's message."""
    try:
        return str(parse_amount(typed, currency))
    except BadInput as err:
        return ASK if _is_the_question(err) else err.message


@pytest.mark.parametrize(("lang", "typed", "currency", "expected"), READ)
def test_each_locale_reads_its_own_writing(lang: str, typed: str, currency: str, expected: str) -> None:
    with use_locale(lang):
        got = reading(typed, currency)
    assert_read(got, expected, (lang, typed))


def assert_read(got: str, expected: str, where: tuple[str, str]) -> None:
    if not expected.startswith("refused"):
        assert got == expected, (where, got)
    else:  # refused (not asked, not read), naming what it names
        assert got != ASK and not re.fullmatch(r"[\d.]+", got), (where, got)
        assert all(word in got for word in expected.split()[1:]), (where, got)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("typed", "currency", "expected"), ENGLISH)
def test_english_input_reads_the_same_in_every_language(
    lang: str, typed: str, currency: str, expected: str
) -> None:
    with use_locale(lang):
        got = reading(typed, currency)
    assert_read(got, expected, (lang, typed))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_question_is_in_the_readers_language_and_its_forms_read_back(lang: str) -> None:
    """ "1,000" euros: a thousand, or one euro? Asked in the reader's words, offering forms typed their way."""
    with use_locale(lang):
        with pytest.raises(BadInput) as asked:
            parse_amount("1,000", "EUR")
        point = "." if lang == "en" else ","
        assert asked.value.message == _("Is %(typed)s meant as %(thousands)s or as %(decimal)s?") % {
            "typed": "1,000", "thousands": "1000", "decimal": f"1{point}00"}  # fmt: skip
        assert f"1{point}00" in (asked.value.hint or "") and "1000" in (asked.value.hint or "")
        assert parse_amount("1000", "EUR") == Decimal("1000.00")
        assert parse_amount(f"1{point}00", "EUR") == Decimal("1.00")
        with pytest.raises(BadInput) as three:  # three decimals, more than euros have: said in the language
            parse_amount("1,005", "EUR")
        assert three.value.message == _("%(typed)s has more decimals than %(currency)s allows (%(places)s).") % {
            "typed": "1,005", "currency": "EUR", "places": 2}  # fmt: skip
        with pytest.raises(BadInput) as kwd:  # a three-decimal currency offers its forms the reader's way
            parse_amount("1,234", "KWD")
        assert f"1{point}2340" in (kwd.value.hint or "")
        assert parse_amount(f"1{point}2340", "KWD") == Decimal("1.234")
    if lang != "en":
        assert asked.value.message != f"Is 1,000 meant as 1000 or as 1{point}00?"  # not English


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("currency", ["EUR", "USD", "GBP", "JPY", "CHF", "KWD"])
def test_what_teambot_writes_in_a_language_reads_back_in_it(lang: str, currency: str) -> None:
    cents = ("12.5", "1234.5") if currency != "JPY" else ()
    for typed in ("5", "1234", "999999", *cents):
        with use_locale(lang):
            value = parse_amount(Decimal(typed), currency)  # the currency's own precision
            shown = format_money(value, currency, lang)
            try:
                assert parse_amount(shown, currency) == value, (lang, shown)
            except BadInput as err:  # "5,000 KWD": three decimals could be a thousands group, so asked
                assert currency == "KWD" and _is_the_question(err), (lang, shown, err)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_refusals_and_hints_are_in_the_readers_language(lang: str) -> None:
    with use_locale(lang):
        with pytest.raises(BadInput) as refused:
            parse_amount("abc", "EUR")
        assert refused.value.message == _("'%(text)s' is not an amount.") % {"text": "abc"}
        assert amount_input_hint("EUR") in (refused.value.hint or "")
        with pytest.raises(BadInput) as other:
            parse_amount("£5", "EUR")
        assert "GBP" in other.value.message and "EUR" in other.value.message
        hint = amount_input_hint("EUR")
    if lang != "en":
        assert refused.value.message != "'abc' is not an amount."
        assert "25,50" in hint and " or " not in hint  # "25 oder 25,50": typed and said the reader's way


# ----- through the real grammar and the real database ---------------------------------------

T, CH, ADMIN = "T1", "C1", "admin"


async def german_grant(c: Container, line: str) -> object:
    return await c.commands.run_text(line, Context(T, CH, "bob", locale="de"))


async def test_a_german_grant_reads_the_german_amount(container: Container) -> None:
    c = container
    await c.service.policy(T, ADMIN)
    await c.service.change_policy(T, ADMIN, PolicyChange("currency", ["EUR"]))
    await c.service.change_policy(T, ADMIN, PolicyChange("role", ["@bob", "manager"]))  # unlimited
    opened = await c.service.open_case(T, CH, "alice", "Kalte Suppe")
    n = opened.case.number
    await c.service.claim(T, n, "bob")
    await c.service.apologise(T, n, "bob", "phone")
    for line in (f"grant {n} Kaffee 12,50 €", f"grant {n} Abendessen 1.234,50 €"):
        reply = await german_grant(c, line)
        assert not isinstance(reply, ErrorReply), (line, reply)
    detail = await case_detail(c.db, T, n)
    assert [(from_minor(g.amount_minor, g.currency), g.currency) for g in detail.grants] == [
        (Decimal("12.50"), "EUR"), (Decimal("1234.50"), "EUR")]  # fmt: skip
    asked = await german_grant(c, f"grant {n} Wein 1,000 €")
    assert isinstance(asked, ErrorReply)
    assert "Ist 1,000 als 1000 oder als 1,00 gemeint?" in asked.text, asked.text
    assert len((await case_detail(c.db, T, n)).grants) == 2  # nothing asked back was recorded
