"""Amounts as Decimal with the currency's own precision, stored as integer minor units.

Money is never misread: an amount is either read exactly as typed or refused with a question.
Currency data (decimals, symbols) comes from babel (CLDR), locale "en" for symbols.

How a typed amount is read (the currency's decimals are `exponent(currency)`):

* Spaces and apostrophes inside a number only group thousands: "1 000", "1'234.50".
* When both "." and "," appear, the last one is the decimal separator: "1.234,56" and
  "1,234.56" are both 1234.56.
* A separator that appears several times groups thousands: "1,234,567" (also Indian "12,34,567").
* A single "." or "," is the decimal separator ("4,50" is 4.50, "25.5" is 25.50), except when it
  is followed by exactly three digits after a 1-3 digit whole part ("1,000", "12.500"): that could
  be a thousands group or three decimals. A currency without decimals (JPY) can only mean
  thousands, so "1,000" yen is 1000. For every other currency the person is asked, even where
  three decimals are more than the currency allows: "1,000" euros is often a slip for "1,00".
* More decimals than the currency has are refused, never rounded ("10.999" USD, "5.5" JPY);
  trailing zeros are not more decimals ("500.00" JPY is 500, "1.2340" KWD is 1.234).
* A currency mark may come before or after the number: "€5", "5€", "EUR 5", "5 eur", "US$5".
  A mark of another currency is refused, naming both. A one-character sign that ends the team
  currency's own symbol is accepted too: "$" for CAD ("CA$") or AUD ("A$"), "¥" for CNY ("CN¥").

Storage keeps the minor-unit exponent rows were always written with (`_STORED_EXPONENTS`,
the ISO 4217 table used before babel) so an existing row never changes value; it only grows
where CLDR allows more decimals (CLF, UYW: 4).
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache

from babel.numbers import format_currency, get_currency_precision, get_currency_symbol, list_currencies

from teambot.core.errors import BadInput

# Beyond this a "gesture" is not a gesture; it is a typo or a joke.
MAX_AMOUNT = Decimal("1000000")

# Frozen: the exponent amount_minor rows were written with before babel. Never edit, or stored
# money changes value by a power of ten. Currencies not listed were stored with 2.
_STORED_EXPONENTS = {
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip

# A leading separator (".5") only at the start or after a space or sign, so "Cg.5" keeps its mark.
_NUMBER = re.compile(r"(?:(?<![^ +-])[.,])?[0-9](?:[0-9.,' ]*[0-9])?[.,]?")
# Plain digits, or groups of three after a 1-3 digit head ("1 234 567"), or Indian ("12 34 567").
_WHOLE = re.compile(r"[0-9]*|[1-9][0-9]{0,2}(?: [0-9]{3})+|[1-9][0-9]?(?: [0-9]{2})+ [0-9]{3}")
_SCIENTIFIC = re.compile(r"[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+")


@cache
def _known() -> frozenset[str]:
    return frozenset(list_currencies())


@cache
def _symbols() -> dict[str, str]:
    """Symbol -> currency for every currency whose English symbol is not just its code."""
    table = {"US$": "USD"}
    for code in _known():
        symbol = _plain(get_currency_symbol(code, "en"))
        if symbol != code:
            table[symbol] = code
    return table


def _plain(text: str) -> str:
    """Any kind of space as " " and a typographic apostrophe as "'", as people paste them."""
    return "".join(" " if ch.isspace() else "'" if ch == "’" else ch for ch in text).strip()


def exponent(currency: str) -> int:
    """How many decimals the currency is typed and shown with (JPY 0, EUR 2, KWD 3)."""
    return int(get_currency_precision(currency.upper()))


def step_for(currency: str) -> Decimal:
    """The step of a number input for this currency: 1, 0.01 or 0.001."""
    return Decimal(1).scaleb(-exponent(currency))


def amount_input_hint(currency: str) -> str:
    """An example to show in placeholders and hints, with the currency's decimals: "25 or 25.50"."""
    places = exponent(currency)
    if places == 0:
        return "25"
    # Three decimals after a short whole part ("25.500") also read as a thousands group and are
    # asked back; two ("25.50") are just as valid in a three-decimal currency and never are.
    shown = 2 if places == 3 else places
    return f"25 or 25.{'50'[:shown].ljust(shown, '0')}"


def validate_currency(code: str) -> str:
    code = code.strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii() or code not in _known():
        raise BadInput(
            f"{code!r} is not a currency code I know.",
            "Use a three-letter ISO code such as USD, EUR, GBP or JPY.",
            field="currency",
        )
    return code


def _not_an_amount(text: str, currency: str) -> BadInput:
    return BadInput(
        f"{text!r} is not an amount.",
        f"Type a number such as {amount_input_hint(currency)} ({currency}).",
        field="amount",
    )


def _check_mark(mark: str, typed: str, currency: str) -> None:
    """Accept the team's own code or symbol; refuse another currency's, naming both."""
    if not mark or mark.upper() == currency:
        return
    own = _plain(get_currency_symbol(currency, "en"))
    if mark == own or _symbols().get(mark) == currency or (len(mark) == 1 and own.endswith(mark)):
        return
    if mark.upper() in _known():
        other = mark.upper()
    elif mark in _symbols():
        main = _symbols()[mark]
        sharing = sorted({c for s, c in _symbols().items() if len(mark) == 1 and s.endswith(mark)} - {main})
        other = f"a {mark} currency ({', '.join([main, *sharing[:2]])}…)" if sharing else main
    else:
        raise _not_an_amount(typed, currency)
    raise BadInput(
        f"{typed} is in {other} but this team records {currency}.",
        f"Type the amount in {currency}, such as {amount_input_hint(currency)}.",
        field="amount",
    )


def _read_number(core: str, places: int, currency: str) -> Decimal:
    """Digits and separators -> exact Decimal, by the rule in the module docstring."""
    whole, frac = core, ""
    if "," in core and "." in core:
        point = "," if core.rfind(",") > core.rfind(".") else "."
        whole, frac = core.rsplit(point, 1)
        if point in whole:
            raise _not_an_amount(core, currency)
        whole = whole.replace("," if point == "." else ".", " ")
    elif (point := "," if "," in core else "." if "." in core else "") and core.count(point) > 1:
        whole = core.replace(point, " ")
    elif point:
        whole, frac = core.split(point)
        could_group = (
            len(frac) == 3 and frac.isdigit() and whole.isdigit() and len(whole) <= 3 and whole[0] != "0"
        )
        if could_group and places > 0:
            thousands, as_decimal = f"{whole}{frac}", Decimal(f"{whole}.{frac}")
            if places < 3:
                shown = as_decimal.quantize(step_for(currency))
                if shown != as_decimal:  # three decimals, more than allowed: say so, offer thousands
                    raise BadInput(
                        f"{core} has more decimals than {currency} allows ({places}).",
                        f"If the {core[len(whole)]!r} groups thousands, type {thousands}; "
                        f"otherwise round to {places} decimal places.",
                        field="amount",
                    )
                hint = f"Type {thousands} or {shown}, without a thousands separator."
            else:  # offer fewer decimals, or a fourth decimal 0: not a decimal, but not a thousands group
                shown, short = as_decimal, as_decimal.normalize()
                form = f"{short:f}" if -int(short.as_tuple().exponent) < 3 else f"{whole}.{frac}0"
                hint = f"Type {thousands}, or {form} for {as_decimal}."
            raise BadInput(f"Is {core} meant as {thousands} or as {shown}?", hint, field="amount")
        if could_group:  # no decimals in this currency: only thousands make sense
            whole, frac = f"{whole} {frac}", ""
    whole = whole.replace("'", " ")
    if not _WHOLE.fullmatch(whole) or not (whole + frac) or not (frac.isdigit() or frac == ""):
        raise _not_an_amount(core, currency)
    digits = whole.replace(" ", "")
    if frac[places:].strip("0"):
        raise _too_many_decimals(core, currency)
    return Decimal(f"{digits or '0'}.{frac or '0'}")


def _too_many_decimals(typed: str, currency: str) -> BadInput:
    places = exponent(currency)
    return BadInput(
        f"{typed} has more decimals than {currency} allows ({places}).",
        f"{currency} has no decimals; type a whole number such as 25."
        if places == 0
        else f"Round it to {places} decimal place{'s' if places != 1 else ''}.",
        field="amount",
    )


def _read_text(text: str, currency: str) -> Decimal:
    """A typed amount -> signed exact Decimal (not yet range-checked)."""
    raw = _plain(text)
    sign, rest = ("-", raw[1:]) if raw.startswith("-") else ("", raw.removeprefix("+"))
    if _SCIENTIFIC.fullmatch(rest):
        return Decimal(sign + rest)
    found = _NUMBER.search(raw)
    if found is None:
        raise _not_an_amount(text, currency)
    before, after = raw[: found.start()].strip(), raw[found.end() :].strip()
    for signs in ("-", "+"):
        if before.startswith(signs) or before.endswith(signs):
            sign = "-" if signs == "-" else ""
            before = before.strip(signs).strip()
            break
    if (before and after) or any(ch in before + after for ch in "+-"):
        raise _not_an_amount(text, currency)
    _check_mark(before or after, raw, currency)
    return Decimal(sign + str(_read_number(found.group(), exponent(currency), currency)))


def parse_amount(text: str | Decimal | int, currency: str) -> Decimal:
    """Read an amount exactly or refuse it, saying what is wrong; see the module docstring."""
    currency = currency.upper()
    if isinstance(text, Decimal | int) and not isinstance(text, bool):
        value = Decimal(text)  # already a number: trailing zeros were not typed, so "25.00" HUF is 25
    else:
        value = _read_text(str(text), currency)
    if not value.is_finite():
        raise BadInput(f"{str(text)!r} is not an amount.", "Type a plain number such as 25.", field="amount")
    if value <= 0:
        raise BadInput(
            "The amount must be more than zero.",
            "Type what the gesture is worth, such as 25; to give nothing, don't record a grant.",
            field="amount",
        )
    if value > MAX_AMOUNT:
        raise BadInput(
            f"{str(text).strip()[:40]} is far beyond any recovery gesture.",
            f"Check the number; the most Teambot records is {format_amount(MAX_AMOUNT, currency)}.",
            field="amount",
        )
    exact = value.quantize(step_for(currency))
    if exact != value:
        raise _too_many_decimals(str(text).strip()[:40], currency)
    return exact


def _stored_exponent(currency: str) -> int:
    currency = currency.upper()
    return max(exponent(currency), _STORED_EXPONENTS.get(currency, 2))


def to_minor(value: Decimal, currency: str) -> int:
    """Exact integer minor units; refuses (ValueError) rather than truncate."""
    minor = value.scaleb(_stored_exponent(currency))
    if minor != minor.to_integral_value():
        raise ValueError(f"{value} {currency} is not a whole number of minor units")
    return int(minor)


def from_minor(minor: int, currency: str) -> Decimal:
    """Stored minor units -> Decimal, at the currency's decimals unless that would round."""
    value = Decimal(minor).scaleb(-_stored_exponent(currency))
    shown = value.quantize(step_for(currency))
    return shown if shown == value else value


def format_amount(value: Decimal | None, currency: str, locale: str = "en") -> str:
    """The amount as people of `locale` write it: "€1,234.50", "¥500", "KWD 1.250", "1.234,50 €"."""
    if value is None:
        return "unlimited"
    text = format_currency(value, currency.upper(), locale=locale, decimal_quantization=False)
    # CLDR currency spacing, which babel skips: a code ("KWD") is not glued to its digits.
    return re.sub(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])", "\u00a0", text)
