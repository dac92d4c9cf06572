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
  No currency is ever guessed from a mark: it names the team's currency or it is refused.

The reader's locale (the current i18n language) adds what its people write and takes nothing
away, so English input reads the same in every language: its currency symbols ("$US" in French,
"JP¥" in Dutch), and its decimal and grouping signs when they are not "." or "," (French groups
with a narrow space: "1 234,50" is 1234.50). "12,50 €" and "1.234,50" read the same everywhere;
what is ambiguous ("1,234": 1234, or 1.234?) is asked back everywhere, its question and the forms
it offers written with the reader's decimal sign ("1,23" in German).

Storage keeps the minor-unit exponent rows were always written with (`_STORED_EXPONENTS`,
the ISO 4217 table used before babel) so an existing row never changes value; it only grows
where CLDR allows more decimals (CLF, UYW: 4).
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import cache

from babel.numbers import (
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
    list_currencies,
)

from teambot.core.errors import BadInput
from teambot.core.i18n import babel_locale, current, format_currency_in, format_money, ngettext
from teambot.core.i18n import gettext as _

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
def _symbols_in(locale: str) -> dict[str, str]:
    """Symbol -> currency for every currency whose symbol in `locale` is not just its code."""
    table = {}
    for code in _known():
        symbol = _plain(get_currency_symbol(code, locale))
        if symbol != code:
            table[symbol] = code
    return table


@cache
def _symbols_for(lang: str) -> dict[str, str]:
    """The symbols the reader's language writes, then English's over them (English wins a clash)."""
    table = {} if lang == "en" else dict(_symbols_in(str(babel_locale(lang))))
    return {**table, "US$": "USD", **_symbols_in("en")}


def _symbols() -> dict[str, str]:
    return _symbols_for(current())


def _own_symbols(currency: str) -> set[str]:
    """How the team's currency is written in English and in the reader's language."""
    return {
        _plain(get_currency_symbol(currency, "en")),
        _plain(get_currency_symbol(currency, babel_locale())),
    }


@cache
def _signs_for(lang: str) -> tuple[str, str]:
    """The reader's decimal and grouping signs."""
    locale = babel_locale(lang)
    return get_decimal_symbol(locale), get_group_symbol(locale)


def _as_typed_here(text: str) -> str:
    """A decimal or grouping sign of the reader's that is neither "." nor "," (nor a space or an
    apostrophe, which `_plain` makes " " and "'") in the form the reading rules know."""
    point, group = _signs_for(current())
    if group not in ".,":
        text = text.replace(group, " ")
    if point not in ".,":
        text = text.replace(point, ".")
    return text


def _decimal_here(value: Decimal | str) -> str:
    """A plain number (no grouping) with the reader's decimal sign: what a question offers to type."""
    point = _signs_for(current())[0]
    return str(value).replace(".", point if point in ".," else ".")


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
    """An example to show in placeholders and hints, with the currency's decimals: "25 or 25.50"
    ("25 oder 25,50" for a German reader)."""
    places = exponent(currency)
    if places == 0:
        return "25"
    # Three decimals after a short whole part ("25.500") also read as a thousands group and are
    # asked back; two ("25.50") are just as valid in a three-decimal currency and never are.
    shown = 2 if places == 3 else places
    example = _decimal_here(f"25.{'50'[:shown].ljust(shown, '0')}")
    return _("%(whole)s or %(decimal)s") % {"whole": "25", "decimal": example}


def validate_currency(code: str) -> str:
    code = code.strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii() or code not in _known():
        raise BadInput(
            _("'%(code)s' is not a currency code I know.") % {"code": code},
            _("Use a three-letter ISO code such as USD, EUR, GBP or JPY."),
            field="currency",
        )
    return code


def _not_an_amount(text: str, currency: str) -> BadInput:
    return BadInput(
        _("'%(text)s' is not an amount.") % {"text": text},
        _("Type a number such as %(example)s (%(currency)s).")
        % {"example": amount_input_hint(currency), "currency": currency},
        field="amount",
    )


def _check_mark(mark: str, typed: str, currency: str) -> None:
    """Accept the team's own code or symbol; refuse another currency's, naming both."""
    if not mark or mark.upper() == currency:
        return
    own = _own_symbols(currency)
    if (
        mark in own
        or _symbols().get(mark) == currency
        or (len(mark) == 1 and any(o.endswith(mark) for o in own))
    ):
        return
    said = {"typed": typed, "currency": currency}
    if mark.upper() in _known():
        message = _("%(typed)s is in %(other)s but this team records %(currency)s.") % {
            **said,
            "other": mark.upper(),
        }
    elif mark in _symbols():
        main = _symbols()[mark]
        sharing = sorted(
            {code for sign, code in _symbols().items() if len(mark) == 1 and sign.endswith(mark)} - {main}
        )
        message = (
            _("%(typed)s is in a %(mark)s currency (%(codes)s…) but this team records %(currency)s.")
            % {**said, "mark": mark, "codes": ", ".join([main, *sharing[:2]])}
            if sharing
            else _("%(typed)s is in %(other)s but this team records %(currency)s.") % {**said, "other": main}
        )
    else:
        raise _not_an_amount(typed, currency)
    raise BadInput(
        message,
        _("Type the amount in %(currency)s, such as %(example)s.")
        % {"currency": currency, "example": amount_input_hint(currency)},
        field="amount",
    )


def _could_group(whole: str, frac: str) -> bool:
    """ "1,000" or "12.500": three digits after a 1-3 digit whole part may be a thousands group."""
    return len(frac) == 3 and frac.isdigit() and whole.isdigit() and len(whole) <= 3 and whole[0] != "0"


def _ask_back(core: str, whole: str, frac: str, currency: str) -> BadInput:
    """The question for "1,000": a thousands group, or three decimals? Each offered form reads as offered."""
    places = exponent(currency)
    thousands, as_decimal = f"{whole}{frac}", Decimal(f"{whole}.{frac}")
    if places < 3:
        shown = as_decimal.quantize(step_for(currency))
        if shown != as_decimal:  # three decimals, more than allowed: say so, offer thousands
            return BadInput(
                _("%(typed)s has more decimals than %(currency)s allows (%(places)s).")
                % {"typed": core, "currency": currency, "places": places},
                ngettext(
                    "If the '%(sign)s' groups thousands, type %(thousands)s; otherwise round to %(places)s "
                    "decimal place.",
                    "If the '%(sign)s' groups thousands, type %(thousands)s; otherwise round to %(places)s "
                    "decimal places.",
                    places,
                ) % {"sign": core[len(whole)], "thousands": thousands, "places": places},
                field="amount",
            )  # fmt: skip
        hint = _("Type %(thousands)s or %(decimal)s, without a thousands separator.") % {
            "thousands": thousands,
            "decimal": _decimal_here(shown),
        }
    else:  # offer fewer decimals, or a fourth decimal 0: not a decimal, but not a thousands group
        shown, short = as_decimal, as_decimal.normalize()
        form = f"{short:f}" if -int(short.as_tuple().exponent) < 3 else f"{whole}.{frac}0"
        hint = _("Type %(thousands)s, or %(form)s for %(decimal)s.") % {
            "thousands": thousands,
            "form": _decimal_here(form),
            "decimal": _decimal_here(as_decimal),
        }
    question = _("Is %(typed)s meant as %(thousands)s or as %(decimal)s?")
    return BadInput(
        question % {"typed": core, "thousands": thousands, "decimal": _decimal_here(shown)},
        hint,
        field="amount",
    )


def _separate(core: str, currency: str) -> tuple[str, str]:
    """Digits and separators -> (whole part with groups as spaces, decimals), by the module's rules;
    what could be a thousands group or decimals is asked back."""
    if "," in core and "." in core:
        point = "," if core.rfind(",") > core.rfind(".") else "."
        whole, frac = core.rsplit(point, 1)
        if point in whole:
            raise _not_an_amount(core, currency)
        return whole.replace("," if point == "." else ".", " "), frac
    point = "," if "," in core else "." if "." in core else ""
    if not point:
        return core, ""
    if core.count(point) > 1:
        return core.replace(point, " "), ""
    whole, frac = core.split(point)
    if not _could_group(whole, frac):
        return whole, frac
    if exponent(currency) == 0:  # no decimals in this currency: only thousands make sense
        return f"{whole} {frac}", ""
    raise _ask_back(core, whole, frac, currency)


def _read_number(core: str, places: int, currency: str) -> Decimal:
    """Digits and separators -> exact Decimal, by the rule in the module docstring."""
    whole, frac = _separate(core, currency)
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
        _("%(typed)s has more decimals than %(currency)s allows (%(places)s).")
        % {"typed": typed, "currency": currency, "places": places},
        _("%(currency)s has no decimals; type a whole number such as 25.") % {"currency": currency}
        if places == 0
        else ngettext(
            "Round it to %(places)s decimal place.", "Round it to %(places)s decimal places.", places
        )
        % {"places": places},
        field="amount",
    )


def _read_text(text: str, currency: str) -> Decimal:
    """A typed amount -> signed exact Decimal (not yet range-checked)."""
    raw = _plain(_as_typed_here(text))
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
        raise BadInput(
            _("'%(text)s' is not an amount.") % {"text": str(text)},
            _("Type a plain number such as 25."),
            field="amount",
        )
    if value <= 0:
        raise BadInput(
            _("The amount must be more than zero."),
            _("Type what the gesture is worth, such as 25; to give nothing, don't record a grant."),
            field="amount",
        )
    if value > MAX_AMOUNT:
        raise BadInput(
            _("%(typed)s is far beyond any recovery gesture.") % {"typed": str(text).strip()[:40]},
            _("Check the number; the most Teambot records is %(amount)s.")
            % {"amount": format_money(MAX_AMOUNT, currency)},
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
        return _("unlimited")
    return format_currency_in(value, currency, locale)
