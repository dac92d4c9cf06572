"""Apology methods and severities are defined once (core/cases/kinds.py) and every form offers the same."""

from __future__ import annotations

from teambot.core.cases import compensation, opening
from teambot.core.cases.kinds import APOLOGY_METHODS, SEVERITIES, ApologyMethod, Severity
from teambot.core.commands.grammar import parse_open
from teambot.teams.cards import APOLOGY_CHOICES


def test_the_core_checks_against_the_one_definition() -> None:
    assert compensation.APOLOGY_METHODS is APOLOGY_METHODS and opening.SEVERITIES is SEVERITIES
    assert APOLOGY_METHODS == ("in_person", "phone", "email", "chat")
    assert SEVERITIES == ("low", "medium", "high", "critical")


def test_every_method_has_its_words_in_forms_and_in_the_letter() -> None:
    assert [value for value, _ in APOLOGY_CHOICES] == list(APOLOGY_METHODS)
    assert dict(APOLOGY_CHOICES)["phone"] == "By phone"
    assert all(method.label for method in ApologyMethod)


def test_the_quick_open_reads_every_severity() -> None:
    for severity in Severity:
        assert parse_open(f"Cold soup !{severity.value.upper()}")["severity"] == severity
