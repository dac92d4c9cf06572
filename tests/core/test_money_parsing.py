"""Money is never misread: amounts are read exactly as typed, or refused with a question."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from babel.numbers import NumberFormatError, list_currencies, parse_decimal
from hypothesis import given, settings
from hypothesis import strategies as st

from teambot.core.errors import BadInput
from teambot.core.money import (
    MAX_AMOUNT,
    amount_input_hint,
    exponent,
    format_amount,
    from_minor,
    parse_amount,
    step_for,
    to_minor,
    validate_currency,
)

CURRENCIES = sorted(list_currencies())


def refusal(text: str, currency: str) -> BadInput:
    with pytest.raises(BadInput) as err:
        parse_amount(text, currency)
    assert err.value.field == "amount" and err.value.hint
    return err.value


@pytest.mark.parametrize(
    ("text", "currency", "expected"),
    [
        ("4,50", "EUR", "4.50"),
        ("25,50", "EUR", "25.50"),
        ("25,5", "EUR", "25.50"),
        ("1.234,56", "EUR", "1234.56"),
        ("1,234.56", "EUR", "1234.56"),
        ("1.234.567,89", "EUR", "Over"),
        ("1 234,56", "EUR", "1234.56"),
        ("1'234.50", "CHF", "1234.50"),
        ("12,34,567", "INR", "Over"),
        ("1,23,456.50", "INR", "123456.50"),
        ("1,000", "JPY", "1000"),
        ("1.000", "JPY", "1000"),
        ("500.00", "JPY", "500"),  # trailing zeros are not decimals
        ("1,000.500", "KWD", "1000.500"),
        ("1.2340", "KWD", "1.234"),
        ("0,500", "KWD", "0.500"),  # a group never starts with 0
        ("1,5000", "CLF", "1.5000"),
        (".5", "USD", "0.50"),
        ("5.", "USD", "5.00"),
        ("+5", "USD", "5.00"),
        ("1e2", "USD", "100.00"),
        ("1,000,000", "USD", "1000000.00"),
    ],
)
def test_decimal_comma_and_point(text: str, currency: str, expected: str) -> None:
    if expected == "Over":
        assert "far beyond" in refusal(text, currency).message
    else:
        assert parse_amount(text, currency) == Decimal(expected)
        assert str(parse_amount(text, currency)) == expected


@pytest.mark.parametrize(
    ("text", "currency", "says", "forms"),
    [
        ("1,000", "EUR", "Is 1,000 meant as 1000 or as 1.00?", ("1000", "1.00")),
        ("1.000", "EUR", "Is 1.000 meant as 1000 or as 1.00?", ("1000", "1.00")),
        ("12,500", "USD", "Is 12,500 meant as 12500 or as 12.50?", ("12500", "12.50")),
        ("1,000", "KWD", "Is 1,000 meant as 1000 or as 1.000?", ("1000", "1")),
        ("1.234", "KWD", "Is 1.234 meant as 1234 or as 1.234?", ("1234", "1.2340")),
        ("€1.000", "EUR", "Is 1.000 meant", ("1000", "1.00")),
    ],
)
def test_ambiguous_amounts_are_asked_back(
    text: str, currency: str, says: str, forms: tuple[str, str]
) -> None:
    err = refusal(text, currency)
    assert err.message.startswith(says)
    for form in forms:  # each reading offered can be typed and is read as offered
        assert form in (err.hint or "")
        assert parse_amount(form, currency) in (Decimal(forms[0]), Decimal(text.strip("€").replace(",", ".")))


@pytest.mark.parametrize(
    ("text", "currency", "says"),
    [
        ("10.999", "USD", "more decimals than USD allows (2)"),
        ("1,005", "EUR", "more decimals than EUR allows (2)"),
        ("5.5", "JPY", "more decimals than JPY allows (0)"),
        ("5,50", "JPY", "more decimals than JPY allows (0)"),
        ("1.2345", "KWD", "more decimals than KWD allows (3)"),
        ("1,234,56", "EUR", "not an amount"),
        ("1.2.3", "EUR", "not an amount"),
        ("1.0'0", "EUR", "not an amount"),  # a grouping mark inside the decimals
        ("12 50", "EUR", "not an amount"),
        ("1,234.5.6", "USD", "not an amount"),
        ("1_000", "USD", "not an amount"),
        ("0x10", "USD", "not an amount"),
        ("١٢", "USD", "not an amount"),
        ("5 EUR 5", "EUR", "not an amount"),
        ("€5€", "EUR", "not an amount"),
        ("kr 5", "SEK", "not an amount"),
        ("-5", "USD", "more than zero"),
        ("€-5", "EUR", "more than zero"),
        ("-€5", "EUR", "more than zero"),
        ("0,00", "EUR", "more than zero"),
        ("NaN", "USD", "not an amount"),
        ("inf", "USD", "not an amount"),
        ("1e309", "USD", "far beyond"),
        ("1000000.01", "USD", "far beyond"),
    ],
)
def test_refusals_say_why(text: str, currency: str, says: str) -> None:
    assert says in refusal(text, currency).message


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("€5", "EUR"), ("5€", "EUR"), ("€ 5", "EUR"), ("EUR 5", "EUR"), ("5 EUR", "EUR"), ("5eur", "EUR"),
        ("£5", "GBP"), ("$5", "USD"), ("US$5", "USD"), ("5 usd", "USD"), ("$5", "CAD"), ("CA$5", "CAD"),
        ("$5", "AUD"), ("A$5", "AUD"), ("¥5", "JPY"), ("¥5", "CNY"), ("₹5", "INR"), ("KWD 5", "KWD"),
        ("F\u202fCFA 5", "XOF"), ("Cg.5", "XCG"), ("5\u00a0€", "EUR"),
    ],
)  # fmt: skip
def test_the_team_currency_mark_is_accepted(text: str, currency: str) -> None:
    assert parse_amount(text, currency) == 5


@pytest.mark.parametrize(
    ("text", "currency", "says"),
    [
        ("£5", "EUR", "£5 is in GBP but this team records EUR"),
        ("5 GBP", "EUR", "5 GBP is in GBP but this team records EUR"),
        ("US$5", "CAD", "US$5 is in USD but this team records CAD"),
        ("A$5", "CAD", "A$5 is in AUD but this team records CAD"),
        ("$5", "EUR", "$5 is in a $ currency (USD, "),
        ("$5", "GBP", "but this team records GBP"),
        ("¥500", "EUR", "¥500 is in a ¥ currency (JPY, CNY"),
        ("€5", "USD", "€5 is in EUR but this team records USD"),
    ],
)
def test_another_currency_is_refused_naming_both(text: str, currency: str, says: str) -> None:
    assert says in refusal(text, currency).message


def test_numbers_already_parsed_are_taken_as_numbers() -> None:
    assert parse_amount(Decimal("25.00"), "HUF") == 25  # trailing zeros were not typed
    assert parse_amount(40, "USD") == Decimal("40.00")
    assert "more decimals" in refusal(Decimal("5.5"), "JPY").message  # type: ignore[arg-type]
    assert "not an amount" in refusal(Decimal("NaN"), "USD").message  # type: ignore[arg-type]


def test_precision_helpers() -> None:
    assert [exponent(c) for c in ("JPY", "EUR", "KWD", "CLF")] == [0, 2, 3, 4]
    assert [step_for(c) for c in ("JPY", "EUR", "KWD")] == [Decimal(1), Decimal("0.01"), Decimal("0.001")]
    assert [amount_input_hint(c) for c in ("JPY", "EUR", "KWD")] == ["25", "25 or 25.50", "25 or 25.50"]  # 25.500 KWD would be asked back
    assert "25 or 25.50 (EUR)" in (refusal("abc", "EUR").hint or "")


def test_currency_codes_are_babels() -> None:
    assert validate_currency(" eur ") == "EUR"
    for bad in ("ZZZ", "EURO", "€", "E1R"):
        with pytest.raises(BadInput) as err:
            validate_currency(bad)
        assert err.value.field == "currency"


def test_formatting_follows_the_locale() -> None:
    assert format_amount(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert format_amount(Decimal("25"), "USD") == "$25.00"
    assert format_amount(Decimal("500"), "JPY") == "¥500"
    assert format_amount(Decimal("1.25"), "KWD") == "KWD\u00a01.250"  # a code is not glued to digits
    assert format_amount(Decimal("1234.5"), "EUR", locale="de") == "1.234,50\u00a0€"
    assert format_amount(None, "EUR") == "unlimited"


def test_stored_minor_units_never_change_value() -> None:
    # Rows were written with ISO 4217 exponents; CLDR says HUF and IQD have 0 decimals now.
    assert to_minor(Decimal("2500"), "HUF") == 250000 and from_minor(250000, "HUF") == 2500
    assert from_minor(2550, "HUF") == Decimal("25.50")  # an old row with fillér is not rounded
    assert to_minor(Decimal("5"), "IQD") == 5000
    assert to_minor(Decimal("500"), "JPY") == 500 and to_minor(Decimal("1.234"), "KWD") == 1234
    assert str(from_minor(2500, "EUR")) == "25.00"
    with pytest.raises(ValueError):
        to_minor(Decimal("0.001"), "EUR")


def test_every_currency_round_trips_a_few_amounts() -> None:
    for currency in CURRENCIES:
        for value in (Decimal(1), Decimal("25.5"), Decimal(1234), MAX_AMOUNT):
            assert_round_trip(value.quantize(step_for(currency)), currency)


def assert_round_trip(value: Decimal, currency: str) -> None:
    """Formatted, plain and code forms read back as `value`, or ask back offering a form that does."""
    for text in (format_amount(value, currency), f"{value:f}", f"{currency} {value:f}"):
        try:
            assert parse_amount(text, currency) == value, text
        except BadInput as err:
            assert exponent(currency) >= 3 and err.message.startswith("Is "), (text, err)
            offered = re.findall(r"[0-9][0-9.]*", err.hint or "")
            assert value in {parse_amount(form, currency) for form in offered[:2]}, (text, err)
        assert to_minor(value, currency) == to_minor(parse_amount(value, currency), currency)
        assert from_minor(to_minor(value, currency), currency) == value


@settings(max_examples=400, deadline=None)
@given(currency=st.sampled_from(CURRENCIES), data=st.data())
def test_format_then_parse_round_trips(currency: str, data: st.DataObject) -> None:
    places = exponent(currency)
    minor = data.draw(st.integers(1, int(MAX_AMOUNT.scaleb(places))))
    assert_round_trip(Decimal(minor).scaleb(-places).quantize(step_for(currency)), currency)


def _render(whole: int, frac: str, style: str) -> str:
    """`whole`.`frac` as one convention writes it."""
    grouped = {"none": str(whole), "en": f"{whole:,}", "de": f"{whole:,}".replace(",", "."),
               "space": f"{whole:,}".replace(",", " "), "ch": f"{whole:,}".replace(",", "'")}[style]  # fmt: skip
    point = "," if style == "de" or (style == "space" and frac.startswith("0")) else "."
    return grouped + (point + frac if frac else "")


@settings(max_examples=600, deadline=None)
@given(
    currency=st.sampled_from(["EUR", "USD", "JPY", "KWD", "CLF", "BHD"]),
    whole=st.integers(0, 2_000_000),
    frac_digits=st.text("0123456789", max_size=5),
    style=st.sampled_from(["none", "en", "de", "space", "ch"]),
    comma_when_plain=st.booleans(),
)
def test_no_accepted_amount_is_a_power_of_ten_away(
    currency: str, whole: int, frac_digits: str, style: str, comma_when_plain: bool
) -> None:
    places = exponent(currency)
    if places == 0 and len(frac_digits) == 3:
        frac_digits = frac_digits[:2]  # "1,000" yen is one thousand by rule, tested above
    text = _render(whole, frac_digits, style)
    if style == "none" and comma_when_plain:
        text = text.replace(".", ",")
    intended = Decimal(f"{whole}.{frac_digits or '0'}")
    try:
        value = parse_amount(text, currency)
    except BadInput:
        return
    assert value == intended, text


@settings(max_examples=600, deadline=None)
@given(
    currency=st.sampled_from(["EUR", "USD", "KWD", "CLF"]),
    text=st.from_regex(r"[.,]?[0-9]{1,4}([.,' ][0-9]{1,4}){0,3}[.,]?", fullmatch=True),
)
def test_what_is_accepted_agrees_with_every_convention_that_reads_it(currency: str, text: str) -> None:
    try:
        value = parse_amount(text, currency)
    except BadInput:
        return
    typed = re.sub(r"[^0-9]", "", text).strip("0")
    assert re.sub(r"[^0-9]", "", f"{value:f}").strip("0") == typed, text  # same digits...
    for locale in ("en", "de", "en_IN"):  # ...and the same place for the decimal point
        try:
            reading = parse_decimal(text, locale, strict=True)
        except NumberFormatError:
            continue
        assert value == reading, (text, locale)
