"""Parsing and money rules: pure functions, no database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from teambot.config import ConfigError, load_settings
from teambot.core.commands import intents as i
from teambot.core.commands.grammar import parse, parse_open
from teambot.core.db import normalise_database_url
from teambot.core.errors import BadInput
from teambot.core.money import format_amount, from_minor, parse_amount, to_minor
from teambot.core.when import parse_due

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 09:00 UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [("25", "25.00"), ("25.5", "25.50"), ("$1,200.00", "1200.00"), ("USD 40", "40.00"), ("40 usd", "40.00")],
)
def test_amounts_people_type(text: str, expected: str) -> None:
    assert parse_amount(text, "USD") == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("-5", "more than zero"),
        ("0", "more than zero"),
        ("abc", "not an amount"),
        ("NaN", "not an amount"),
        ("Infinity", "not an amount"),
        ("1e9", "far beyond"),
        ("10.999", "more decimals than USD"),
    ],
)
def test_bad_amounts_are_refused_with_the_reason(text: str, says: str) -> None:
    with pytest.raises(BadInput) as err:
        parse_amount(text, "USD")
    assert says in str(err.value)
    assert err.value.hint  # always says what to do instead


def test_currency_precision_follows_iso() -> None:
    assert parse_amount("500", "JPY") == Decimal(500)
    with pytest.raises(BadInput):
        parse_amount("5.5", "JPY")
    assert to_minor(Decimal("1.234"), "KWD") == 1234
    assert from_minor(1234, "KWD") == Decimal("1.234")
    assert format_amount(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert format_amount(None, "EUR") == "unlimited"


def test_quick_open_grammar() -> None:
    parsed = parse_open("Mrs Patel: no hot water in 412 wants: a room move #booking !high")
    assert parsed == {
        "customer": "Mrs Patel",
        "problem": "no hot water in 412",
        "wants": "a room move #booking",  # the team's vocabulary decides what #booking is
        "severity": "high",
    }
    assert parse_open("Soup arrived cold") == {"problem": "Soup arrived cold"}
    # A URL's colon is not a customer name.
    assert "customer" not in parse_open("https://shop/x broke the checkout")


def test_subcommands_and_help() -> None:
    assert parse("").name == "form"
    assert parse("help").name == "help"
    assert parse("frobnicate") == i.Help(unknown="frobnicate", text="frobnicate")
    assert parse("the soup was cold").name == "open"
    assert parse("claim #12") == i.Claim(number=12, text="claim #12")
    g = parse("grant 3 Free round of drinks 30")
    assert g == i.Grant(number=3, gesture="Free round of drinks", amount="30", text=g.text)
    assert isinstance(g2 := parse("grant 3 Room upgrade"), i.Grant) and g2.amount is None
    assert isinstance(g3 := parse("grant 3 gift card nan"), i.Grant) and g3.amount == "nan"
    r = parse("resolve 4 moved them to 512 | boiler not serviced")
    assert r == i.Resolve(number=4, summary="moved them to 512", root_cause="boiler not serviced", text=r.text)
    f = parse("followup 4 not 2 lost")
    assert f == i.Followup(number=4, satisfied=False, score=2, won_back=False, text=f.text)
    st = parse("step 4 call back with refund @bob due tomorrow 10:00")
    assert st == i.AddStep(number=4, what="call back with refund", owner="bob", due="tomorrow 10:00", text=st.text)
    assert parse("done 4.2") == i.CompleteStep(number=4, position=2, text="done 4.2")
    assert parse("handover 4 <@U123|bob>") == i.Handover(number=4, to="U123", text="handover 4 <@U123|bob>")
    pol = parse("policy limit lead 300")
    assert pol == i.ChangePolicy(setting="limit", values=["lead", "300"], text=pol.text)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("claim", "case number is missing"),
        ("claim twelve", "not a case number"),
        ("resolve 3", "what you did"),
        ("followup 3 maybe", "satisfied"),
        ("followup 3 satisfied", "score is missing"),
        ("handover 3 bob", "Who should own"),
        ("grant 3 40", "Name the gesture"),
        ("done 3", "which step"),
        ("note Mrs Patel likes tea", "colon"),
    ],
)
def test_grammar_refusals_give_usage(text: str, says: str) -> None:
    with pytest.raises(BadInput) as err:
        parse(text)
    assert says in err.value.message
    assert err.value.hint and err.value.hint.startswith("Usage: /recover")


def test_due_times() -> None:
    assert parse_due("in 2h", NOW) == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert parse_due("tomorrow 10:00", NOW) == datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    assert parse_due("friday", NOW) == datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    assert parse_due("monday", NOW) == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # next week, not today
    assert parse_due("08:00", NOW) == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # already past today
    # Local time: 10:00 in Paris is 09:00 UTC in winter.
    assert parse_due("tomorrow 10:00", NOW, "Europe/Paris") == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    for bad in ("yesterday", "2026-02-30", "25:00", "2020-01-01 10:00"):
        with pytest.raises(BadInput):
            parse_due(bad, NOW)


def test_database_urls_people_paste() -> None:
    assert normalise_database_url("postgres://u:p@h:5432/db") == "postgresql+asyncpg://u:p@h:5432/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalise_database_url("sqlite:///./x.db") == "sqlite+aiosqlite:///./x.db"
    with pytest.raises(ValueError, match="not supported"):
        normalise_database_url("mysql://u@h/db")


def test_wrong_setting_names_the_variable() -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(database_url="mongodb://x", port=99999)
    assert "DATABASE_URL" in str(err.value) and "PORT" in str(err.value)


def test_a_wrong_work_mode_names_the_variable_and_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAMBOT_WORK", "workers")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "TEAMBOT_WORK" in str(err.value) and "'web' or 'worker'" in str(err.value)
    monkeypatch.setenv("TEAMBOT_WORK", "worker")
    assert load_settings().work == "worker"
