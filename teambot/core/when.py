"""Due times people type ("tomorrow 10:00", "in 2h", "fri eod") turned into aware UTC datetimes.

Everything is read in the person's own time zone (an IANA name such as "Europe/Paris").

* A day: "today", "tomorrow", a weekday ("fri", "friday", "next friday"), or an ISO date
  ("2026-12-04"). A weekday is always the next one after today, never today itself, and
  "next friday" means the same as "friday": the coming one.
* A time, after the day or before it, with an optional "at": "10:00", "10am", "3:30pm", "noon",
  "midnight" (the end of that day) or "eod" / "end of day" (17:00, the end of the working day).
* A day without a time means 17:00 that day, like "eod".
* A time without a day means the next time the clock shows it: "08:00" at 09:00 is tomorrow.
* "in 2h", "in 30 min": that long from now; "in 3 days", "in 2 weeks": the same clock time then.

A time already past ("today 09:00" at 15:00, "2020-01-01") is refused: a step due yesterday is a
typo, not a plan.

English is read in every language (commands are English). The reader's language (the current
i18n language) adds its own words, from CLDR through Babel: weekdays ("Freitag", "vendredi"),
"today" to "the day after tomorrow" ("morgen", "demain", "pasado mañana"), "in 3 hours" ("in 3
Stunden", "dans 3 heures"), months ("12. März", "12 mars", "12 de marzo"), and a few small words
("um", "à", "nächsten"). Clock times may also be "10 Uhr", "10.30 Uhr", "10h30". A date in
numbers ("12.03.", "12/03", "12/03/2027") is read day first, as every one of these languages
writes it; in English, where "12/03" is 12 March or 3 December depending on the reader, it is
asked back unless only one reading is a date ("25/03"). A date without a year is the next one.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale

from teambot.core.errors import BadInput
from teambot.core.i18n import N_, SOURCE, babel_locale, current, format_day
from teambot.core.i18n import gettext as _

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SHORT = {
    "mon": 0,
    "tue": 1,
    "tues": 1,
    "wed": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}
_UNITS = {"m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1, "h": 60, "hr": 60, "hrs": 60,
          "hour": 60, "hours": 60, "d": 1440, "day": 1440, "days": 1440,
          "w": 10080, "wk": 10080, "wks": 10080, "week": 10080, "weeks": 10080}  # fmt: skip
EOD = time(17, 0)  # "eod", and the time of a day given without one: the end of the working day
_DEFAULT_TIME = EOD
_NAMED = {"noon": time(12, 0), "midday": time(12, 0), "eod": EOD}

_NEXT_YEAR = datetime.now(UTC).year + 1  # keeps the ISO examples in the future
# Each example is translated into what a reader of that language types (and what is read there).
DUE_EXAMPLES = (
    N_("in 2h"),
    N_("in 3 days"),
    N_("tomorrow at 10:00"),
    N_("tomorrow 10am"),
    N_("fri 9:00"),
    N_("friday at 3pm"),
    N_("next friday"),
    N_("eod"),
    N_("noon"),
    f"{_NEXT_YEAR}-12-04",
    f"{_NEXT_YEAR}-12-04 14:30",
)


def due_hint() -> str:
    """The examples, in the reader's language."""
    return _("Try %(examples)s.") % {"examples": ", ".join(f"'{_(example)}'" for example in DUE_EXAMPLES)}


HINT = due_hint()  # English: what the shell and tests show
# Small words of each language that say nothing about the time ("um 10:00", "à 15h", "nächsten
# Freitag": the coming Friday, as "next friday" is in English). CLDR has no list of them.
_FILLERS = {
    SOURCE: ("at", "by", "on"),
    "de": ("am", "um", "bis", "zum", "nächsten", "nächster", "kommenden", "kommender"),
    "fr": ("à", "a", "le", "avant", "pour", "prochain", "prochaine"),
    "es": ("a", "las", "la", "el", "para", "de", "próximo", "próxima", "antes"),
    "nl": ("om", "op", "tegen", "voor", "volgende", "aanstaande"),
    "pt": ("às", "as", "a", "até", "de", "no", "na", "o", "próximo", "próxima"),
}
_NOON = {"de": ("mittag", "mittags"), "fr": ("midi",), "es": ("mediodía",), "nl": ("middag", "12 uur"),
         "pt": ("meio-dia",)}  # fmt: skip
_UNIT_MINUTES = {"minute": 1, "hour": 60, "day": 1440, "week": 10080}


def _folded(text: str) -> str:
    return " ".join(text.replace("’", "'").lower().split())


@cache
def _words(lang: str) -> dict[str, object]:
    """The reader's words from CLDR: weekday and month names, relative days, "in N units"."""
    locale: Locale = babel_locale(lang)
    fields = locale._data["date_fields"]
    weekdays = {}
    for width in ("wide", "abbreviated", "short"):
        for context in ("format", "stand-alone"):
            for number, name in locale.days[context][width].items():
                weekdays[_folded(name).rstrip(".")] = number
    months = {}
    for width in ("wide", "abbreviated"):
        for context in ("format", "stand-alone"):
            for number, name in locale.months[context][width].items():
                months[_folded(name).rstrip(".")] = number
    relative = {_folded(name): offset for offset, name in fields["day"]["relative"].items() if offset >= 0}
    spans = []
    for unit, minutes in _UNIT_MINUTES.items():
        for pattern in sorted(set(fields[unit]["future"].values()), key=len, reverse=True):
            words = re.escape(_folded(pattern)).replace(r"\{0\}", r"(\d{1,4})")
            spans.append((re.compile(rf"(?<!\w){words}(?!\w)"), minutes))  # whole words: "tag" is not "tagen"
    return {"weekdays": weekdays, "months": months, "relative": relative, "spans": spans}


def _parse_time(text: str) -> tuple[time, int] | None:
    """A clock time and how many days after the named day it falls (1 only for midnight)."""
    text = text.strip()
    if text == "midnight":
        return time(0, 0), 1
    if text in _NAMED or text in _NOON.get(current(), ()):
        return _NAMED.get(text, time(12, 0)), 0
    # "10 Uhr", "10.30 Uhr", "10 uur", "10h", "10h30", "10 h": a clock time in every language here.
    clock = re.fullmatch(r"(\d{1,2})(?:(?:[:.](\d{2}))? ?(?:uhr|uur|h)|h(\d{2}))", text)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2) or clock.group(3) or 0)
        return (time(hour, minute), 0) if hour <= 23 and minute <= 59 else None
    m = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?\s*(am|pm)?", text)
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if m.group(3) and not 1 <= hour <= 12:
        return None
    if m.group(3) == "pm" and hour < 12:
        hour += 12
    if m.group(3) == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or (m.group(2) is None and m.group(3) is None):
        return None  # a bare "10" could be a time, a date or a count: not guessed
    return time(hour, minute), 0


def _weekday(word: str) -> int | None:
    if word in _WEEKDAYS:
        return _WEEKDAYS.index(word)
    if word in _SHORT:
        return _SHORT[word]
    found = _words(current())["weekdays"].get(word.rstrip("."))  # type: ignore[attr-defined]
    return None if found is None else int(found)


def _next_date(day: int, month: int, today: date) -> date | None:
    """Day and month without a year: the next time that date comes (today included)."""
    for year in (today.year, today.year + 1):
        try:
            found = date(year, month, day)
        except ValueError:
            return None
        if found >= today:
            return found
    return None


def _numeric_date(word: str, today: date) -> date | None:
    """ "12.03.", "12/03", "12/03/2027", "12-03-27": day first; an English "12/03" is asked back."""
    m = re.fullmatch(r"(\d{1,2})([./-])(\d{1,2})(?:\2(\d{2}|\d{4})?)?", word)
    if not m:
        return None
    first, second = int(m.group(1)), int(m.group(3))
    if current() == SOURCE and first != second and first <= 12 and second <= 12:
        readings = [_dated(first, second, m.group(4), today), _dated(second, first, m.group(4), today)]
        if all(readings):
            raise BadInput(
                _("Is %(typed)s %(one)s or %(other)s?")
                % {
                    "typed": word,
                    "one": format_day(_noon(readings[0])),
                    "other": format_day(_noon(readings[1])),
                },
                _("Type the date as %(one)s or %(other)s.")
                % {"one": readings[0].isoformat(), "other": readings[1].isoformat()},  # type: ignore[union-attr]
                field="due",
            )
    return _dated(first, second, m.group(4), today)


def _noon(day: date | None) -> datetime:
    return datetime.combine(day or date.min, time(12, 0), UTC)


def _dated(day: int, month: int, year: str | None, today: date) -> date | None:
    if year is None:
        return _next_date(day, month, today)
    try:
        return date(int(year) + (2000 if len(year) == 2 else 0), month, day)
    except ValueError:
        return None


def _named_date(words: list[str], today: date) -> date | None:
    """ "12 march", "12. märz 2027", "march 12", "12 de marzo" (the "de" is a filler already)."""
    months = {**_words(SOURCE)["months"], **_words(current())["months"]}  # type: ignore[dict-item]
    year = words[-1] if len(words) == 3 and re.fullmatch(r"\d{4}", words[-1]) else None
    pair = words[:2] if year else words
    if len(pair) != 2:
        return None
    number, name = (pair[0], pair[1]) if pair[0].rstrip(".").isdigit() else (pair[1], pair[0])
    month = months.get(name.rstrip("."))
    if month is None or not number.rstrip(".").isdigit():
        return None
    return _dated(int(number.rstrip(".")), int(month), year, today)


def _day(words: list[str], today: date) -> date | None:
    """The day named by all of `words`, or None when they do not name one."""
    if len(words) == 2 and words[0] == "next":
        words = words[1:]
    if len(words) != 1:
        return _named_date(words, today)
    word = words[0]
    if word == "today":
        return today
    if word in ("tomorrow", "tmrw"):
        return today + timedelta(days=1)
    relative = _words(current())["relative"]
    if word.replace("_", " ") in relative:  # type: ignore[operator]
        return today + timedelta(days=relative[word.replace("_", " ")])  # type: ignore[index]
    if (weekday := _weekday(word)) is not None:
        return today + timedelta(days=(weekday - today.weekday()) % 7 or 7)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word):
        try:
            return date.fromisoformat(word)
        except ValueError:
            return None
    return _numeric_date(word, today)


def _in_the_reader_words(raw: str) -> str:
    """The reader's phrases as the words the rules read: "in 3 Stunden" -> "in 3 hour" (one unit
    per number), "pasado mañana" -> one word."""
    words = _words(current())
    for pattern, minutes in words["spans"]:  # type: ignore[attr-defined]
        unit = next(name for name, size in _UNIT_MINUTES.items() if size == minutes)
        raw = pattern.sub(lambda found, unit=unit: f"in {found.group(1)} {unit}", raw)
    for phrase in sorted(words["relative"], key=len, reverse=True):  # type: ignore[arg-type]
        if " " in phrase:
            raw = raw.replace(phrase, phrase.replace(" ", "_"))
    return raw


def _without_fillers(words: list[str]) -> list[str]:
    """The words that say when: "um", "à", "at" dropped, but not the "am" of "10 am" (German "am")."""
    fillers = {*_FILLERS[SOURCE], *_FILLERS.get(current(), ())}
    return [
        word
        for at, word in enumerate(words)
        if word not in fillers or (word == "am" and at > 0 and words[at - 1][-1:].isdigit())
    ]


def _read(raw: str, now: datetime, zone: ZoneInfo) -> datetime | None:
    local_now = now.astimezone(zone)
    m = re.fullmatch(r"in (\d{1,4}|an?) ?([a-z]+)", raw)
    if m:
        if m.group(2) not in _UNITS:
            return None
        minutes = (1 if m.group(1) in ("a", "an") else int(m.group(1))) * _UNITS[m.group(2)]
        if _UNITS[m.group(2)] >= 1440:  # days and weeks keep the clock time, across a DST change too
            return (local_now + timedelta(minutes=minutes)).astimezone(UTC)
        return now + timedelta(minutes=minutes)

    raw = re.sub(r"end of (the )?day", "eod", raw)
    raw = re.sub(r"^(\d{4}-\d{2}-\d{2})t(?=\d)", r"\1 ", raw)
    words = _without_fillers(raw.split())
    if not words:
        return None
    day, rest = None, words
    for cut in (3, 2, 1):  # the day first ("fri 9:00", "12 march 2027 9:00"), or last ("10am tomorrow")
        if (day := _day(words[:cut], local_now.date())) is not None:
            rest = words[cut:]
            break
        if len(words) > cut and (day := _day(words[-cut:], local_now.date())) is not None:
            rest = words[:-cut]
            break
    if not rest:
        return None if day is None else datetime.combine(day, _DEFAULT_TIME, zone).astimezone(UTC)
    parsed = _parse_time(" ".join(rest))
    if parsed is None:
        return None
    at, days_after = parsed
    if day is None:  # a time alone: the next time the clock shows it
        day = local_now.date()
        if datetime.combine(day + timedelta(days=days_after), at, zone) <= local_now:
            day += timedelta(days=1)
    return datetime.combine(day + timedelta(days=days_after), at, zone).astimezone(UTC)


def parse_due(text: str, now: datetime, tz: str = "UTC") -> datetime:
    """Read a due time in the person's zone; refuse what is unreadable or already past."""
    raw = _in_the_reader_words(_folded(text))
    try:
        result = _read(raw, now, ZoneInfo(tz))
    except OverflowError:
        result = None
    if result is None:
        raise BadInput(_("I can't read '%(text)s' as a due time.") % {"text": text}, due_hint(), field="due")
    if result <= now:
        raise BadInput(
            _("'%(text)s' is already in the past.") % {"text": text},
            _("Give a time still to come. %(hint)s") % {"hint": due_hint()},
            field="due",
        )
    return result
