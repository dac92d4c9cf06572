"""Due times are read in the reader's language where that is unambiguous (issue 27): its weekdays,
months, "tomorrow" and "in 3 hours" from CLDR, its clock times ("10 Uhr", "15h30") and its dates
written in numbers, day first; English reads the same in every language; an English "12/03" (12
March to one reader, 3 December to another) is asked back unless only one reading is a date.
Each translated example in the hint is read in its own language."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from teambot.core.errors import BadInput
from teambot.core.i18n import LANGUAGES, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.when import DUE_EXAMPLES, due_hint, parse_due

ZONE = "Europe/Berlin"
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # Monday 7 December 2026, 09:00 in Berlin
ASK = "ask"


def local(day: int, month: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(ZONE))


# (language, typed, when it is due in Berlin, or ASK)
READ = [
    ("de", "morgen 10:00", local(8, 12, 10)),
    ("de", "morgen um 10 Uhr", local(8, 12, 10)),
    ("de", "übermorgen 10.30 Uhr", local(9, 12, 10, 30)),
    ("de", "Freitag", local(11, 12, 17)),
    ("de", "Fr. 9:00", local(11, 12, 9)),
    ("de", "nächsten Freitag um 15 Uhr", local(11, 12, 15)),
    ("de", "12.03.", local(12, 3, 17, year=2027)),
    ("de", "12.03.2027 14:30", local(12, 3, 14, 30, year=2027)),
    ("de", "12. März", local(12, 3, 17, year=2027)),
    ("de", "in 3 Stunden", local(7, 12, 12)),
    ("de", "in 3 Tagen", local(10, 12, 9)),
    ("de", "heute mittag", local(7, 12, 12)),
    ("de", "12/03", local(12, 3, 17, year=2027)),  # day first, as German writes it
    ("fr", "demain à 10h", local(8, 12, 10)),
    ("fr", "vendredi prochain", local(11, 12, 17)),
    ("fr", "ven. 15h30", local(11, 12, 15, 30)),
    ("fr", "après-demain 9h", local(9, 12, 9)),
    ("fr", "aujourd’hui 15h", local(7, 12, 15)),  # the apostrophe French keyboards type
    ("fr", "12/03", local(12, 3, 17, year=2027)),
    ("fr", "12 mars", local(12, 3, 17, year=2027)),
    ("fr", "dans 2 heures", local(7, 12, 11)),
    ("es", "mañana a las 10:00", local(8, 12, 10)),
    ("es", "el próximo viernes", local(11, 12, 17)),
    ("es", "pasado mañana 10:00", local(9, 12, 10)),
    ("es", "12 de marzo", local(12, 3, 17, year=2027)),
    ("es", "12/3", local(12, 3, 17, year=2027)),
    ("es", "dentro de 3 días", local(10, 12, 9)),
    ("nl", "morgen om 10:00", local(8, 12, 10)),
    ("nl", "volgende vrijdag", local(11, 12, 17)),
    ("nl", "overmorgen 10 uur", local(9, 12, 10)),
    ("nl", "12-03", local(12, 3, 17, year=2027)),
    ("nl", "12 maart", local(12, 3, 17, year=2027)),
    ("nl", "over 2 uur", local(7, 12, 11)),
    ("pt", "amanhã às 10:00", local(8, 12, 10)),
    ("pt", "sexta-feira", local(11, 12, 17)),
    ("pt", "depois de amanhã 10h", local(9, 12, 10)),
    ("pt", "12 de março", local(12, 3, 17, year=2027)),
    ("pt", "12/03", local(12, 3, 17, year=2027)),
    ("pt", "dentro de 3 dias", local(10, 12, 9)),
    ("en", "12/03", ASK),  # 12 March in London, 3 December in New York
    ("en", "03/12/2027", ASK),
    ("en", "25/03", local(25, 3, 17, year=2027)),  # only one reading is a date
    ("en", "12 march", local(12, 3, 17, year=2027)),
    ("en", "march 12 9:00", local(12, 3, 9, year=2027)),
    ("en", "12/12", local(12, 12, 17)),  # both readings are the same day
]
# English (the commands' language) is read the same in every language.
ENGLISH = [
    ("tomorrow 10:00", local(8, 12, 10)),
    ("friday at 3pm", local(11, 12, 15)),
    ("next friday", local(11, 12, 17)),
    ("in 2h", local(7, 12, 11)),
    ("in an hour", local(7, 12, 10)),
    ("eod", local(7, 12, 17)),
    ("tomorrow 10 am", local(8, 12, 10)),  # German drops "am" ("am Freitag"), not after a number
    ("2027-03-12 14:30", local(12, 3, 14, 30, year=2027)),
]


def reading(typed: str) -> datetime | str:
    try:
        return parse_due(typed, NOW, ZONE)
    except BadInput as err:
        return ASK if err.hint and "2027-03-12" in err.hint and "2027-12-03" in err.hint else err.message


@pytest.mark.parametrize(("lang", "typed", "expected"), READ)
def test_each_language_reads_its_own_words(lang: str, typed: str, expected: datetime | str) -> None:
    with use_locale(lang):
        assert reading(typed) == expected, (lang, typed)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("typed", "expected"), ENGLISH)
def test_english_reads_the_same_in_every_language(lang: str, typed: str, expected: datetime) -> None:
    with use_locale(lang):
        assert reading(typed) == expected, (lang, typed)


def test_an_ambiguous_english_date_is_asked_back_offering_both() -> None:
    with pytest.raises(BadInput) as asked:
        parse_due("12/03", NOW, ZONE)
    assert asked.value.message == "Is 12/03 12 March or 3 December?"
    assert asked.value.hint == "Type the date as 2027-03-12 or 2027-12-03."
    for offered in ("2027-03-12", "2027-12-03"):  # each offered form reads as offered
        assert parse_due(offered, NOW, ZONE).date().isoformat() == offered


@pytest.mark.parametrize("lang", LANGUAGES)
def test_what_other_languages_do_not_read_is_refused_in_the_readers_language(lang: str) -> None:
    with use_locale(lang):
        for typed in ("whenever", "Freitag 25:00", "31.02.", "morgen 10", "ayer"):
            got = reading(typed)
            assert isinstance(got, str) and got != ASK, (lang, typed, got)
        with pytest.raises(BadInput) as refused:
            parse_due("whenever", NOW, ZONE)
        assert refused.value.message == _("I can't read '%(text)s' as a due time.") % {"text": "whenever"}
        assert refused.value.hint == due_hint()
        with pytest.raises(BadInput) as past:
            parse_due("2020-01-01", NOW, ZONE)
        assert past.value.message == _("'%(text)s' is already in the past.") % {"text": "2020-01-01"}
    if lang != "en":
        assert refused.value.message != "I can't read 'whenever' as a due time."
        assert "tomorrow at 10:00" not in (refused.value.hint or "")  # the examples are the reader's


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_example_in_the_hint_is_read_in_its_language(lang: str) -> None:
    with use_locale(lang):
        for example in DUE_EXAMPLES:
            shown = _(example)
            assert f"'{shown}'" in due_hint()
            assert parse_due(shown, NOW, ZONE) > NOW, (lang, shown)
            if lang != "en" and example not in ("eod", *DUE_EXAMPLES[-2:]):
                assert shown != example, (lang, example)  # translated, and still read
