"""Intents are built by their constructors; the one name-to-fields map left refuses what it does not know."""

from __future__ import annotations

import pytest

from teambot.core.commands import intents
from teambot.core.commands.grammar import PARSERS, SUBCOMMANDS, parse
from teambot.core.commands.intents import intent_for
from teambot.core.errors import BadInput
from teambot.slack.actions import button_intent, submitted_intent
from teambot.teams.actions import intent_from_submit


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("resolve", {"number": 3, "summary": "Moved room", "root_casue": "boiler"}),
        ("grant", {"number": 3, "gesture": "Dinner", "amuont": "5"}),
    ],
)
def test_a_misspelt_field_is_refused_not_dropped(name: str, args: dict[str, object]) -> None:
    misspelt = next(k for k in args if k in ("root_casue", "amuont"))
    with pytest.raises(BadInput) as refused:
        intent_for(name, args)
    assert misspelt in str(refused.value)


def test_known_fields_and_aliases_still_build_the_intent() -> None:
    assert intent_for("snooze", {"number": 2, "for": "2h"}) == intents.Snooze(number=2, duration="2h")
    assert intent_for("step", {"number": 2, "text": "Call back"}) == intents.AddStep(number=2, what="Call back")


def test_an_unknown_intent_name_is_refused() -> None:
    with pytest.raises(BadInput):
        intent_for("explode", {})


def test_every_subcommand_has_its_parser() -> None:
    assert set(PARSERS) == set(SUBCOMMANDS) - {"apologize"}


def test_the_grammar_builds_each_intent_by_its_constructor() -> None:
    assert parse("grant 4 Dinner for two EUR 40") == intents.Grant(
        number=4, gesture="Dinner for two", amount="EUR 40", text="grant 4 Dinner for two EUR 40"
    )
    assert parse("resolve 4 Moved room | boiler") == intents.Resolve(
        number=4, summary="Moved room", root_cause="boiler", text="resolve 4 Moved room | boiler"
    )
    assert parse("action done 7 new rota") == intents.CloseAction(action=7, note="new rota", text="action done 7 new rota")


def test_slack_forms_and_buttons_read_into_intents() -> None:
    grant = submitted_intent("grant", {"gesture": "Dinner", "amount": " 25 ", "note": None}, {"n": 5})
    assert grant == intents.Grant(number=5, gesture="Dinner", amount="25", note=None)
    resolve = submitted_intent("resolve", {"summary": "Refunded", "root_cause": "late van"}, {"n": 5})
    assert resolve == intents.Resolve(number=5, summary="Refunded", root_cause="late van", cause=None)
    assert submitted_intent("grant", {"gesture": "Dinner"}, {}) is None  # the form lost its case
    assert button_intent("snooze", 5, "5|2h") == intents.Snooze(number=5, duration="2h", text="snooze 5 for 2h")
    assert button_intent("claim", 5, "5") == intents.Claim(number=5, text="claim 5")
    with pytest.raises(BadInput):
        button_intent("explode", 5, "5")


def test_teams_submits_read_into_intents() -> None:
    intent = intent_from_submit("grant", {"number": "5", "gesture": "Dinner", "amount": 25.5})
    assert isinstance(intent, intents.Grant)
    assert (intent.number, intent.gesture, intent.amount) == (5, "Dinner", "25.5")
    with pytest.raises(BadInput):
        intent_from_submit("explode", {"number": "5"})
