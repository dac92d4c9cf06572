"""`/recover policy <setting> ...` answers in the admin's language (issue 27): every setting's
sentence and refusal is translated, what the admin typed (roles, names, zones) and the commands
stay as typed, amounts and weekdays are written the reader's way. A new team's gestures and
categories come in the language of whoever starts it. Through the real commands and database too."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from teambot.bootstrap import Container
from teambot.core.commands.context import Context
from teambot.core.commands.replies import ErrorReply
from teambot.core.errors import BadInput, NotAllowed
from teambot.core.i18n import LANGUAGES, format_money, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import DEFAULT_CATALOGUE, DEFAULT_CATEGORIES, new_policy
from teambot.core.policy.settings import SETTINGS, PolicyChange, apply_change

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ADMIN = "ana"
TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]

# (setting, what is typed after it, a word the answer has in each language)
CHANGES = [
    ("limit", ["lead", "300"], {"de": "Limit", "fr": "limite", "es": "límite", "nl": "limiet", "pt": "limite"}),
    ("override", ["@bob", "75"], {"de": "darf", "fr": "peut", "es": "puede", "nl": "mag", "pt": "pode"}),
    ("role", ["@bob", "lead"], {"de": "jetzt", "fr": "maintenant", "es": "ahora", "nl": "nu", "pt": "agora"}),
    ("approver", ["add", "@bob"], {"de": "gibt", "fr": "approbateur", "es": "aprobador", "nl": "goedkeurder", "pt": "aprovador"}),
    ("backup", ["add", "@cy"], {"de": "Vertretung", "fr": "secours", "es": "suplente", "nl": "reserve", "pt": "substituto"}),
    ("escalation", ["1"], {"de": "Arbeitsstunde", "fr": "heure ouvrée", "es": "hora laborable", "nl": "werkuur", "pt": "hora de trabalho"}),
    ("gesture", ["add", "Cake", "12,50"], {"de": "Katalog", "fr": "catalogue", "es": "catálogo", "nl": "catalogus", "pt": "catálogo"}),
    ("targets", ["15", "24", "48"], {"de": "Ziele", "fr": "Objectifs", "es": "Objetivos", "nl": "Doelen", "pt": "Objetivos"}),
    ("digest", ["fri", "16:00", "Europe/Berlin", "#ops"], {"de": "freitags", "fr": "vendredi", "es": "viernes", "nl": "vrijdag", "pt": "sexta"}),
    ("category", ["add", "noise"], {"de": "Kategorie", "fr": "catégorie", "es": "categoría", "nl": "categorie", "pt": "categoria"}),
    ("workhours", ["08:00", "16:30", "mon,tue"], {"de": "Mo", "fr": "lun", "es": "lun", "nl": "ma", "pt": "seg"}),
    ("targetclock", ["wall"], {"de": "Zeitziele", "fr": "objectifs", "es": "objetivos", "nl": "Tijddoelen", "pt": "objetivos"}),
    ("patterns", ["4", "150", "30"], {"de": "Muster", "fr": "tendance", "es": "patrón", "nl": "patroon", "pt": "padrão"}),
    ("shoutouts", ["3"], {"de": "Person", "fr": "personne", "es": "persona", "nl": "Iedereen", "pt": "pessoa"}),
    ("timezone", ["@bob", "Europe/Lisbon"], {"de": "Arbeitstag", "fr": "journée", "es": "jornada", "nl": "werkdag", "pt": "dia de trabalho"}),
]  # fmt: skip


def policy(currency: str = "EUR") -> Policy:
    with use_locale("en"):
        made = new_policy("T1", ADMIN, NOW)
    made.currency = currency
    return made


def said(lang: str, setting: str, args: list[str], row: Policy | None = None) -> str:
    with use_locale(lang):
        return apply_change(row or policy(), PolicyChange(setting, list(args)), ADMIN)


@pytest.mark.parametrize("lang", TRANSLATED)
@pytest.mark.parametrize(("setting", "args", "words"), CHANGES)
def test_every_setting_answers_in_the_admins_language(
    lang: str, setting: str, args: list[str], words: dict[str, str]
) -> None:
    english, answer = said("en", setting, args), said(lang, setting, args)
    assert words[lang].lower() in answer.lower(), (lang, answer)
    assert answer != english and "%(" not in answer and "%s" not in answer
    for typed in ("<@bob>", "<@cy>", "Europe/Lisbon", "Europe/Berlin", "<#ops>", "Cake", "noise"):
        if typed in english:
            assert typed in answer, (lang, typed, answer)  # what the admin typed stays as typed


def test_the_english_answers_are_unchanged() -> None:
    assert said("en", "limit", ["lead", "300"]) == "The lead limit is now €300.00 per case."
    assert said("en", "backup", ["add", "@dan"]) == "<@dan> is now a backup approver."
    assert (
        said("en", "workhours", ["08:00", "16:30", "mon,tue"]) == "Working hours are 08:00–16:30 on mon, tue."
    )
    assert said("en", "digest", ["fri", "16:00", "Europe/Berlin"]) == (
        "The digest goes out Fridays at 16:00 Europe/Berlin."
    )
    assert (
        said("en", "escalation", ["1"])
        == "A request unanswered for 1 working hour goes to the backup approvers."
    )
    assert (
        said("en", "escalation", ["8"])
        == "A request unanswered for 8 working hours goes to the backup approvers."
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_amounts_are_read_and_written_the_readers_way(lang: str) -> None:
    answer = said(lang, "limit", ["lead", "1.234,50" if lang != "en" else "1,234.50"])
    assert format_money(Decimal("1234.50"), "EUR", lang) in answer, answer


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    ("setting", "args", "refusal"),
    [
        ("nonsense", [], "There is no policy setting called '%(setting)s'."),
        ("limit", ["boss", "5"], "Name a role and an amount."),
        ("targets", ["a", "b", "c"], "Targets are three whole numbers."),
        ("digest", ["someday", "09:00", "UTC"], "'%(text)s' is not a weekday."),
        ("timezone", ["@bob", "Mars/Base"], "'%(zone)s' is not a time zone."),
        ("workhours", ["18:00", "09:00"], "The working day must end after it starts."),
        ("shoutouts", ["99"], "'%(text)s' is not a valid daily allowance (%(low)s to %(high)s)."),
        ("admin", ["remove", ADMIN], "That would leave the team with no admin."),
    ],
)
def test_refusals_are_in_the_admins_language(lang: str, setting: str, args: list[str], refusal: str) -> None:
    messages = {}
    for speaking in ("en", lang):
        with use_locale(speaking), pytest.raises(BadInput) as refused:
            apply_change(policy(), PolicyChange(setting, list(args)), ADMIN)
        with use_locale(speaking):
            pattern = re.sub(r"%\\\(\w+\\\)s", ".+", re.escape(_(refusal)))
        assert re.fullmatch(pattern, refused.value.message), (speaking, refused.value.message)
        assert refused.value.hint  # every refusal says what to do
        messages[speaking] = refused.value.message
    assert (messages["en"] != messages[lang]) == (lang != "en")


@pytest.mark.parametrize("lang", TRANSLATED)
def test_only_admins_change_and_the_refusal_says_so_in_the_language(lang: str) -> None:
    with use_locale(lang), pytest.raises(NotAllowed) as refused:
        apply_change(policy(), PolicyChange("limit", ["lead", "5"]), "bob")
    with use_locale(lang):
        assert refused.value.message == _("Only a Teambot admin can change the recovery policy.")
    with use_locale(lang), pytest.raises(NotAllowed) as zone:
        apply_change(policy(), PolicyChange("timezone", ["@cy", "Europe/Paris"]), "bob")
    assert "/recover policy timezone @bob" in (zone.value.hint or "")  # the command stays English


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_new_team_gets_its_defaults_in_its_starters_language(lang: str) -> None:
    with use_locale(lang):
        row = new_policy("T9", ADMIN, NOW)
        names = [g["name"] for g in row.catalogue]
        assert names == [_(g["name"]) for g in DEFAULT_CATALOGUE]
        assert row.categories == [_(name) for name in DEFAULT_CATEGORIES]
    if lang != "en":
        assert names != [g["name"] for g in DEFAULT_CATALOGUE]
    # Teambot's own defaults, in whichever language, need no `confirm` to change currency...
    assert "EUR" in said(lang, "currency", ["EUR"], row)
    # ...but a value an admin set does.
    said(lang, "gesture", ["add", "Cake", "12"], row)
    with use_locale(lang), pytest.raises(BadInput) as unconfirmed:
        apply_change(row, PolicyChange("currency", ["GBP"]), ADMIN)
    assert "`/recover policy currency GBP confirm`" in (unconfirmed.value.hint or "")


async def test_a_german_admin_through_the_real_commands(container: Container) -> None:
    c = container
    await c.service.policy("T1", ADMIN)  # ana starts the team (English) and is its admin
    german = Context("T1", "C1", ADMIN, locale="de-DE")
    told = await c.commands.run_text("policy currency EUR", german)
    assert not isinstance(told, ErrorReply) and "Die Währung ist jetzt EUR." in told.message  # type: ignore[attr-defined]
    told = await c.commands.run_text("policy limit lead 1.234,50", german)
    assert "Das Limit für lead ist jetzt 1.234,50\u00a0€ pro Fall." in told.message  # type: ignore[attr-defined]
    refused = await c.commands.run_text("policy limit lead 1,000", german)
    assert isinstance(refused, ErrorReply) and "Ist 1,000 als 1000 oder als 1,00 gemeint?" in refused.text
    english = await c.commands.run_text("policy limit lead 300", Context("T1", "C1", ADMIN))
    assert "The lead limit is now €300.00 per case." in english.message  # type: ignore[attr-defined]
    assert set(SETTINGS) >= {"limit", "currency"}
