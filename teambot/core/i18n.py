"""Which language Teambot speaks right now, and the gettext calls that speak it.

The language is context-local (a ContextVar), so one request, one due item or one rendering
sets it with `use_locale("de")` and every `_()` beneath it, however deep, reads German; two
requests on the same event loop never see each other's. Nothing here knows Slack, Teams or the
web: adapters decide whose language applies (the person's, the team's, the customer's) and
enter it.

Catalogues live in `teambot/locale/<lang>/LC_MESSAGES/teambot.po`. The `.mo` files are built
from them (`setup.py`'s build step, or `python -m teambot.core.i18n compile`); when a `.mo` is
missing or older than its `.po` (a fresh clone, an editable install after a `.po` edit) the
catalogue is compiled in memory from the `.po` instead, so a stale binary is never served.
"""

from __future__ import annotations

import contextlib
import gettext as _gettext
import io
import re
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.numbers import format_percent as _babel_percent
from babel.support import LazyProxy

DOMAIN = "teambot"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
SOURCE = "en"
LANGUAGES: tuple[str, ...] = (
    SOURCE,
    *sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")),
)
"""English (the source) and every language with a catalogue: adding a `.po` adds a language."""

# Babel's locale for formatting: British English reads "2 December" and "€5.00" across Europe;
# Portuguese follows Portugal's conventions rather than Brazil's (both read it).
_FORMAT_LOCALE = {"en": "en_GB", "pt": "pt_PT"}

_current: ContextVar[str] = ContextVar("teambot_locale", default=SOURCE)


# ----- which language ----------------------------------------------------------------------


def normalise(code: str | None) -> str | None:
    """ "de", "de-AT", "de_CH", "pt-BR", "DE" -> the supported language; None when unsupported."""
    if not code:
        return None
    lang = re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0]
    return lang if lang in LANGUAGES else None


def require_language(code: str, *, field: str | None = "language") -> str:
    """A language Teambot can write in, from what someone typed ("de", "DE", "pt-BR"), or a refusal
    that lists the ones it can."""
    from teambot.core.errors import BadInput

    lang = normalise(code)
    if lang is None:
        raise BadInput(
            gettext("Teambot cannot write in '%(code)s' yet.") % {"code": code},
            gettext("Languages: %(list)s.")
            % {"list": ", ".join(f"{c} ({language_name(c)})" for c in LANGUAGES)},
            field=field,
        )
    return lang


def first_supported(*codes: str | None) -> str:
    """The first of `codes` Teambot speaks (most specific first), else English."""
    for code in codes:
        lang = normalise(code)
        if lang is not None:
            return lang
    return SOURCE


def negotiate(accept_language: str | None) -> str | None:
    """The supported language an Accept-Language header prefers most; None when it names none.

    `fr-CH, fr;q=0.9, en;q=0.8, *;q=0.5` -> "fr". A `q=0` entry is a refusal, never a choice.
    """
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        m = re.search(r"q\s*=\s*([0-9.]+)", params)
        if m:
            try:
                q = float(m.group(1))
            except ValueError:
                continue
        lang = normalise(tag)
        if lang is not None and q > 0:
            ranked.append((-q, i, lang))
    return sorted(ranked)[0][2] if ranked else None


def current() -> str:
    """The language in force here (English outside any `use_locale`)."""
    return _current.get()


@contextlib.contextmanager
def use_locale(code: str | None) -> Iterator[str]:
    """Speak `code` (normalised; English when unsupported) inside the block."""
    lang = first_supported(code)
    token = _current.set(lang)
    try:
        yield lang
    finally:
        _current.reset(token)


# ----- catalogues --------------------------------------------------------------------------


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def compile_catalogue(lang: str) -> bytes:
    """The `.mo` bytes of one language's `.po` (fuzzy entries left out, as msgfmt does)."""
    with po_path(lang).open("rb") as f:
        catalog = read_po(f, locale=lang, domain=DOMAIN)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def compile_all(langs: tuple[str, ...] = LANGUAGES) -> list[Path]:
    """Write every `.mo` beside its `.po` (the build step and `make`); returns what was written."""
    written = []
    for lang in langs:
        if lang == SOURCE or not po_path(lang).exists():
            continue
        mo = po_path(lang).with_suffix(".mo")
        mo.write_bytes(compile_catalogue(lang))
        written.append(mo)
    return written


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalogue of `lang`: the built `.mo` when it is current, else compiled from the `.po`."""
    if lang == SOURCE or lang not in LANGUAGES or not po_path(lang).exists():
        return _gettext.NullTranslations()
    po = po_path(lang)
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as f:
            return _gettext.GNUTranslations(f)
    return _gettext.GNUTranslations(io.BytesIO(compile_catalogue(lang)))


# ----- the calls code makes ----------------------------------------------------------------


def gettext(message: str) -> str:
    """`message` in the current language (itself when the catalogue lacks it)."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of the current language's plural rule for `n` (never an "s" added by hand)."""
    return translations(_current.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` disambiguated by `context` ("score", "Good" vs "weather", "Good")."""
    return translations(_current.get()).pgettext(context, message)


def lazy_gettext(message: str) -> LazyProxy:
    """A string translated when it is used, not when the module is imported (module constants)."""
    return LazyProxy(gettext, message, enable_cache=False)


def N_(message: str) -> str:
    """Marks a string for extraction only; the code translates it later with `gettext`."""
    return message


_ = gettext


def install_jinja(env: Any) -> Any:
    """Give a Jinja2 environment the i18n extension, speaking the context's current language.

    New-style gettext: `{{ _("Dear %(name)s,", name=first_name) }}` escapes `name` and never the
    sentence, and a placeholder the template forgets to pass fails loudly.
    """
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(gettext=gettext, ngettext=ngettext, pgettext=pgettext, newstyle=True)
    return env


# ----- dates and money in the reader's language ---------------------------------------------


def language_name(lang: str) -> str:
    """Each language in its own words ("Deutsch", "Français"): what a language switch shows."""
    name = Locale.parse(lang).get_display_name(lang) or lang
    return name[:1].upper() + name[1:]


def language_in_words(lang: str) -> str:
    """`lang` named in the current language, as a sentence uses it ("Französisch", "français")."""
    return Locale.parse(lang).get_display_name(babel_locale()) or lang


def babel_locale(lang: str | None = None) -> Locale:
    return Locale.parse(_FORMAT_LOCALE.get(lang or current(), lang or current()))


def format_day(at: datetime, tz: str = "UTC", lang: str | None = None) -> str:
    """ "2 December", "2. Dezember", "2 décembre", "2 de diciembre" in `tz`."""
    return format_skeleton("MMMMd", at.astimezone(ZoneInfo(tz)), locale=babel_locale(lang))


def format_when(at: datetime, tz: str = "UTC", lang: str | None = None) -> str:
    """A day and a time as the reader writes them: "Friday 4 December, 14:30", "Freitag, 4. Dezember, 14:30"."""
    local = at.astimezone(ZoneInfo(tz))
    loc = babel_locale(lang)
    # CLDR's "weekday, day month" with the weekday written out (Babel's skeleton match abbreviates it).
    pattern = re.sub(r"(?<!E)E(?!E)", "EEEE", str(loc.datetime_skeletons["MMMMEd"]))
    return f"{format_date(local, pattern, locale=loc)}, {format_skeleton('Hm', local, locale=loc)}"


def format_number(value: float | Decimal, lang: str | None = None) -> str:
    """A number as the reader writes it ("20,000", "20.000", "20 000")."""
    return format_decimal(value, locale=babel_locale(lang))


def format_percent(share: float | Decimal, lang: str | None = None) -> str:
    """A share (0.5) as the reader writes a percentage ("50%", "50 %", "50 %")."""
    return _babel_percent(share, locale=babel_locale(lang))


def format_money(amount: Decimal, currency: str, lang: str | None = None) -> str:
    """The amount in its own currency, written the reader's way ("€5.00", "5,00 €")."""
    lang = lang or current()
    # English keeps the chat's long-standing "$25.00"; the others write their own way ("25,00 $").
    return format_currency_in(amount, currency, "en" if lang == SOURCE else str(babel_locale(lang)))


def format_currency_in(amount: Decimal, currency: str, locale: str) -> str:
    """`amount` as people of `locale` write it, all its decimals kept ("€1,234.50", "KWD 1.250").

    Here rather than in money.py so that money can speak the reader's language without a cycle."""
    text = format_currency(amount, currency.upper(), locale=locale, decimal_quantization=False)
    # CLDR currency spacing, which babel skips: a code ("KWD") is not glued to its digits.
    return re.sub(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])", "\u00a0", text)


def main(argv: list[str] | None = None) -> int:
    """`python -m teambot.core.i18n compile`: build every `.mo` from its `.po`."""
    args = sys.argv[1:] if argv is None else argv
    if args != ["compile"]:
        print("usage: python -m teambot.core.i18n compile", file=sys.stderr)
        return 2
    for path in compile_all():
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
