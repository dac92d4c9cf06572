"""Every example the bot shows people for an amount or a due time is one it reads: placeholders
and hints of the Slack modals and Teams forms, the shell's prompts, HELP, the usage lines and the
refusal hints. Pure: no database."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from teambot.core.cases.models import Case, CaseStatus
from teambot.core.cases.queries import CaseDetail
from teambot.core.commands.grammar import USAGE, parse
from teambot.core.commands.help import HELP
from teambot.core.errors import BadInput
from teambot.core.money import amount_input_hint, parse_amount
from teambot.core.policy.rules import new_policy
from teambot.core.scheduling.working_hours import parse_span
from teambot.core.when import DUE_EXAMPLES, HINT, parse_due
from teambot.shell.session import SHELL_DUE_EXAMPLES
from teambot.slack import modals
from teambot.teams.cards import form_fields

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "KWD", "CHF", "INR", "CLF")


def detail(currency: str) -> CaseDetail:
    policy = new_policy("T1", "admin", NOW)
    policy.currency = currency
    case = Case(id=1, team_id="T1", number=1, channel_id="C1", opened_by="alice", opened_at=NOW, problem="Cold soup",
                status=CaseStatus.OWNED, owner_id="bob", updated_at=NOW)  # fmt: skip
    return CaseDetail(case=case, policy=policy)


def examples(text: str) -> list[str]:
    """"In EUR, such as 25 or 25.50." -> ["25", "25.50"]; a bare placeholder is one example."""
    found = re.search(r"such as (.+?)(?:\.$|\)|\.\s|$)", text)
    body = found.group(1) if found else text
    return [x.strip().strip("'") for x in re.split(r" or |, ", body) if x.strip()]


def walk(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node, *(x for v in node.values() for x in walk(v))]
    if isinstance(node, list):
        return [x for v in node for x in walk(v)]
    return []


@pytest.mark.parametrize("currency", CURRENCIES)
def test_amount_examples_in_forms_parse(currency: str) -> None:
    shown: list[str] = [amount_input_hint(currency)]
    slack = modals.grant(detail(currency), {"n": 1}, "bob")
    no_catalogue = detail(currency)
    no_catalogue.policy.catalogue = []
    for view in (slack, modals.grant(no_catalogue, {"n": 1}, "bob")):
        for block in view["blocks"]:
            el = block.get("element", {})
            if el.get("type") == "number_input":
                assert el["min_value"] == str(parse_amount(el["min_value"], currency)) and el["min_value"] != "0"
                assert el["is_decimal_allowed"] is (currency != "JPY")
                placeholder = el.get("placeholder", {}).get("text", "")
                if not placeholder.startswith("Empty"):
                    shown.append(placeholder)
                shown.append(block["hint"]["text"])
            assert el.get("type") != "plain_text_input" or block["block_id"] != "amount"
    teams = [x for x in form_fields("grant", {}, no_catalogue.policy) if x["type"] == "Input.Number"]
    assert len(teams) == 1 and teams[0]["min"] > 0
    shown.append(teams[0]["placeholder"])
    texts = [e for t in shown for e in examples(t)]
    assert texts, shown
    for text in texts:
        assert parse_amount(text, currency) > 0, text
    # Refusal hints offer examples too ("Type a number such as 25 or 25.50 (EUR).").
    with pytest.raises(BadInput) as err:
        parse_amount("lots", currency)
    for text in examples((err.value.hint or "").replace(f" ({currency})", "")):
        assert parse_amount(text, currency) > 0, text


def test_due_examples_parse() -> None:
    shown = [*DUE_EXAMPLES, *SHELL_DUE_EXAMPLES, *re.findall(r"'([^']+)'", HINT)]
    for text in shown:
        assert parse_due(text, NOW, "Europe/Paris") > NOW, text
    # The forms pick due times with the platforms' own date and time inputs: nothing to type.
    step = modals.step(detail("EUR"), {"n": 1}, "bob")
    due = next(b for b in step["blocks"] if b.get("block_id") == "due")
    assert due["element"]["type"] == "datetimepicker"
    teams = {x["id"]: x["type"] for x in form_fields("step", {}, None)}
    assert teams.get("due_date") == "Input.Date" and teams.get("due_time") == "Input.Time" and "due" not in teams
    assert not [n for n in walk(step) + walk(form_fields("step", {}, None)) if "fri 9:00" in str(n.get("placeholder"))]


def test_help_and_usage_examples_parse() -> None:
    # Every concrete command in HELP and the usage lines (after "e.g.") is read by the grammar.
    for line in [HELP, *USAGE.values()]:
        for example in re.findall(r"e\.g\. (/recover [^)]+)", line):
            parse(example.removeprefix("/recover "))
    # Snooze's own examples are spans, read by the snooze parser.
    for span in re.search(r"\[for ([^\]]+)\]", USAGE["snooze"]).group(1).split("|"):  # type: ignore[union-attr]
        assert parse_span(span).total_seconds() > 0
    # The grant line's examples in the README's walkthrough still split as gesture + amount.
    assert parse("grant 1 Waived fee").amount is None  # type: ignore[attr-defined]
    assert parse("step 1 Call her due fri 9:00").due == "fri 9:00"  # type: ignore[attr-defined]
