"""Where a gesture's words end and its amount begins, in `/recover grant <case> <gesture> [amount]`.

Only splits: reading the amount (and refusing another currency) is `money.parse_amount`'s.
"""

from __future__ import annotations

import re
import unicodedata


def _is_mark(text: str) -> bool:
    """A currency mark as people type it: a code or letters with a symbol ("EUR", "US$", "CA$", "€")."""
    if not text or len(text) > 4:
        return False
    symbols = sum(1 for ch in text if unicodedata.category(ch) == "Sc")
    letters = sum(1 for ch in text if ch.isalpha())
    return symbols + letters == len(text) and (symbols >= 1 or len(text) == 3) and symbols <= 1


def _amount_token(token: str) -> bool:
    """One token that is an amount, with any currency mark glued before or after: "4,50", "€5",
    "5€", "US$5", "¥500", "-3", "1e3". Which currency and whether it is readable is money's call."""
    if token.lower() in ("nan", "inf", "-inf", "+inf", "infinity"):
        return True
    m = re.fullmatch(r"([-+]?)(\D{0,4}?)([-+]?)([.,]?\d[\d.,'’]*(?:[eE][-+]?\d+)?)(\D{0,4})", token)
    if not m:
        return False
    before, after = m.group(2), m.group(5)
    if before and after:
        return False
    if after.isalpha() and after.isascii():  # "5kr", "5eur": letters after a number are a mark
        return True
    return not (before or after) or _is_mark(before or after)


def _code(token: str, *, after: bool) -> bool:
    """A currency mark as its own word: "EUR 5" (a code in upper case only, so a word is not read
    as a code), "5 eur", "R$ 5", "5 €"."""
    if any(unicodedata.category(ch) == "Sc" for ch in token):
        return _is_mark(token)
    return len(token) == 3 and token.isalpha() and token.isascii() and (after or token.isupper())


def split_amount(tail: str) -> tuple[str, str | None]:
    """`Coffee 4,50` -> ("Coffee", "4,50"); `Tea EUR 5` -> ("Tea", "EUR 5"); no amount -> (tail, None).

    Only splits: reading the amount (and refusing another currency) is `money.parse_amount`'s."""
    words = tail.split()
    if len(words) >= 2 and _amount_token(words[-1]) and _code(words[-2], after=False):
        return " ".join(words[:-2]), f"{words[-2]} {words[-1]}"
    if len(words) >= 2 and _code(words[-1], after=True) and _amount_token(words[-2]):
        return " ".join(words[:-2]), f"{words[-2]} {words[-1]}"
    if words and _amount_token(words[-1]):
        return " ".join(words[:-1]), words[-1]
    return tail, None
