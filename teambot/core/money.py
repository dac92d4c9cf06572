"""Amounts as Decimal with the currency's own precision, stored as integer minor units."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from teambot.core.errors import BadInput

# ISO 4217 minor units for the currencies that are not 2.
_EXPONENTS = {
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}

# Beyond this a "gesture" is not a gesture; it is a typo or a joke.
MAX_AMOUNT = Decimal("1000000")


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def validate_currency(code: str) -> str:
    code = code.strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise BadInput(
            f"{code!r} is not a currency code.",
            "Use a three-letter ISO code such as USD, EUR, GBP or JPY.",
            field="currency",
        )
    return code


def parse_amount(text: str | Decimal | int, currency: str) -> Decimal:
    """Refuse what is not a sensible amount, saying what is wrong with it."""
    raw = str(text).strip().replace(",", "")
    for prefix in (currency.upper(), _SYMBOLS.get(currency.upper(), "\0"), "$", "€", "£"):
        if raw.upper().startswith(prefix):
            raw = raw[len(prefix) :].strip()
    if raw.upper().endswith(currency.upper()):
        raw = raw[: -len(currency)].strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise BadInput(
            f"{str(text)!r} is not an amount.",
            f"Type a number such as 25 or 25.50 ({currency}).",
            field="amount",
        ) from None
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
            f"{format_amount(value, currency)} is far beyond any recovery gesture.",
            f"Check the number; the most Teambot records is {format_amount(MAX_AMOUNT, currency)}.",
            field="amount",
        )
    exp = exponent(currency)
    if -value.as_tuple().exponent > exp:  # type: ignore[operator]
        raise BadInput(
            f"{raw} has more decimals than {currency} allows ({exp}).",
            f"Round it to {exp} decimal place{'s' if exp != 1 else ''}.",
            field="amount",
        )
    return value.quantize(Decimal(1).scaleb(-exp))


def to_minor(value: Decimal, currency: str) -> int:
    return int(value.scaleb(exponent(currency)))


def from_minor(minor: int, currency: str) -> Decimal:
    exp = exponent(currency)
    return (Decimal(minor).scaleb(-exp)).quantize(Decimal(1).scaleb(-exp))


def format_amount(value: Decimal | None, currency: str) -> str:
    if value is None:
        return "unlimited"
    exp = exponent(currency)
    text = f"{value:,.{exp}f}"
    symbol = _SYMBOLS.get(currency.upper())
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"
