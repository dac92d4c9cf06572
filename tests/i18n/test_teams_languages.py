"""Teams speaks each language (issue 27): the case card, a form, a nudge, the digest and the home, rendered
as Adaptive Cards in every language, parse in Microsoft's library at 1.5, say a word of that language and
leave none of the Teams adapter's own English sentences behind; and over real HTTP, a person whose Teams
runs in German gets German back."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_file

from teambot.bootstrap import Container
from teambot.core.cases.home import Figures, HomeReply
from teambot.core.cases.models import ApprovalRequest
from teambot.core.cases.replies import CaseReply
from teambot.core.i18n import LANGUAGES, SOURCE, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.insights.digest import Digest, digest_text
from teambot.core.insights.digest import Figures as WeekFigures
from teambot.core.insights.replies import DigestReply
from teambot.core.notice_actions import notice_actions
from teambot.core.ports import Notice
from teambot.teams import cards
from tests.i18n.test_catalogues import KEYWORDS, PLACEHOLDER
from tests.slack.test_blocks import NOW, huge_detail
from tests.teams import conftest as harness
from tests.teams.adaptive import problems
from tests.teams.cardtools import inputs
from tests.teams.conftest import ALICE, Teams, start_teams

identity = harness.identity  # the local token issuer, as a fixture of this module too
TEAMS = Path(__file__).resolve().parents[2] / "teambot" / "teams"
SHOWN = ("text", "title", "label", "placeholder", "errorMessage", "altText", "value")


def teams_sentences() -> list[str]:
    """Every English msgid the Teams adapter marks (singular and plural), as the scan below reads them."""
    found: list[str] = []
    for path in sorted(TEAMS.glob("*.py")):
        for _line, message, _comments, _context in extract_from_file("python", str(path), keywords=KEYWORDS):
            found += [m for m in (message if isinstance(message, tuple) else (message,)) if m]
    return found


def english_left(card: dict[str, Any], lang: str) -> list[str]:
    """The adapter's English sentences (or, around a placeholder, their fixed parts of two words or more)
    still on a card rendered in `lang`; a sentence that reads the same in `lang` does not count."""
    shown = "\n".join(visible(card))
    left = []
    for msgid in teams_sentences():
        with use_locale(lang):
            if _(msgid) == msgid:
                continue
        for part in PLACEHOLDER.split(msgid):
            part = (part or "").strip(" ·:,.()#")
            if len(re.findall(r"[A-Za-z]{2,}", part)) >= 2 and part in shown:
                left.append(part)
    return left


def visible(node: Any) -> list[str]:
    """What a person can read on a card: texts, titles, labels, placeholders, error messages, values."""
    out: list[str] = []
    if isinstance(node, dict):
        out += [str(v) for k, v in node.items() if k in SHOWN and isinstance(v, str)]
        for value in node.values():
            out += visible(value)
    elif isinstance(node, list):
        for value in node:
            out += visible(value)
    return out


NUDGE = Notice("nudge_resolve", "#3", "T1", 1, {"number": 3})


def own_words(card: dict[str, Any], surface: str) -> dict[str, Any]:
    """The card without what the core wrote for it, which the core's own modules translate: the case
    card's facts (core/cases/summary.py's `case_facts`) and the labels core/notice_actions.py gives a
    notice's buttons, the digest's own text (core/insights/digest.py's, under the adapter's heading and
    figures). Everything else is the adapter's, and is checked whole."""
    if surface == "case":
        return {**card, "body": [block for block in card["body"] if block.get("type") != "FactSet"]}
    if surface == "nudge":
        core = {action.label for action in notice_actions(NUDGE)}
        return {
            **card,
            "actions": [{**a, "title": ""} if a.get("title") in core else a for a in card["actions"]],
        }
    if surface == "digest":
        return {**card, "body": [block for block in card["body"] if not block.get("separator")]}
    return card


def rendered(lang: str) -> dict[str, tuple[dict[str, Any], str]]:
    """Each surface in `lang`, with a label it must show in that language."""
    detail = huge_detail(steps=2)
    approval = ApprovalRequest(id=9, team_id="T1", case_id=1, requested_by="U1", gesture="Free dinner",
                               amount_minor=9000, currency="USD", requested_at=NOW)  # fmt: skip
    detail.approvals = [approval]  # pending: the owner (an admin here) sees Approve and Deny too
    names = {"U1": "Ana", "U2": "Bo", "U3": "Cy"}
    week = Digest(team_id="T1", week="2026-W47", start="2026-11-16", end="2026-11-22", timezone="Europe/Berlin",
                  currency="EUR", this=WeekFigures(opened=4, resolved=3, closed=2), last=WeekFigures(opened=2),
                  still_open=1)  # fmt: skip
    followup = detail.case.model_copy(update={"followup_due_at": NOW - timedelta(hours=2)})
    home = HomeReply(user="U2", open_cases=[detail.case], followups=[followup], approvals=[approval],
                     figures=Figures(owned=3, closed=2, satisfied=1, avg_score=4.5))  # fmt: skip
    with use_locale(lang):
        return {
            "case": (cards.case_card(CaseReply(detail=detail), NOW, "Europe/Berlin", names, viewer="U2"), "Timeline"),
            "grant form": (cards.form_card("grant", {"number": 3}, {}, policy=detail.policy), "Gesture"),
            "nudge": (cards.notice_card(NUDGE, names),
                      "What you did to put it right"),
            "digest": (cards.render(DigestReply(digest=week, text=digest_text(week)), NOW), "Still open"),
            "home": (cards.home_card(home, NOW, "Europe/Berlin", names, refresh_for="29:bo"), "Your figures"),
        }  # fmt: skip


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_teams_surface_speaks_the_language_and_still_parses(lang: str) -> None:
    surfaces = rendered(lang)
    assert not (found := problems([card for card, _word in surfaces.values()])), found
    for name, (card, word) in surfaces.items():
        with use_locale(lang):
            said = _(word)
        assert lang == SOURCE or said != word, f"{lang}: {word!r} has no translation"
        assert said in visible(card) or any(said in text for text in visible(card)), (
            f"{lang}: {name} lacks {said!r}"
        )
        if lang != SOURCE:
            assert not (left := english_left(own_words(card, name), lang)), (
                f"{lang}: {name} still says {left[:5]}"
            )


def test_the_english_check_sees_english() -> None:
    """The check above is only as good as its scan: an English card read as German must fail it."""
    card, _word = rendered(SOURCE)["grant form"]
    assert english_left(card, "de"), "an English grant form passed as German"
    assert not english_left(rendered("de")["grant form"][0], "de")


def test_choices_and_errors_are_translated() -> None:
    """The form's choices (apology methods, severities) and its input errors read in the language too."""
    with use_locale("fr"):
        opened = cards.form_card("open", {}, {})
        apology = cards.form_card("apologise", {"number": 3}, {})
    severities = {c["value"]: c["title"] for c in inputs(opened)["severity"]["choices"]}
    assert severities["high"] == "Élevée" and severities["critical"] == "Critique"
    methods = {c["value"]: c["title"] for c in inputs(apology)["method"]["choices"]}
    assert methods["phone"] == "Par téléphone" and methods["in_person"] == "En personne"
    assert inputs(opened)["problem"]["errorMessage"] == "Ce champ est requis."


@pytest.fixture
async def teams(container: Container, identity: Any) -> AsyncIterator[Teams]:
    """Teambot with Teams mounted, over real HTTP with tokens from the local issuer (tests/teams' harness)."""
    async for running in start_teams(container, identity):
        yield running


async def test_a_german_teams_gets_german_over_http(teams: Teams) -> None:
    """activity.locale "de-DE" in a 1:1 chat: the welcome, then the form `recover` opens, are German."""
    conv = ALICE.personal
    assert (await teams.post(teams.activity(ALICE, conv, text="hallo", locale="de-DE"))).status == 201
    with use_locale("de"):
        greeting = _(cards.N_("Hi! I'm Teambot. I help you recover when a customer was let down.\n\n"
                              "I can now message you here (approval requests, reminders). Type **recover help** to "
                              "see what I do, or **recover** to open a case."))  # fmt: skip
    assert greeting.startswith("Hallo! Ich bin Teambot.")
    assert any(sent.text == greeting for sent in teams.connector.sends(conv))
    assert (await teams.post(teams.activity(ALICE, conv, text="recover", locale="de-DE"))).status == 201
    form = teams.connector.sends(conv)[-1].card
    assert form is not None
    shown = visible(form)
    assert "Fall öffnen" in shown
    assert inputs(form)["problem"]["label"] == "Was schiefging"
    assert not english_left(form, "de")
