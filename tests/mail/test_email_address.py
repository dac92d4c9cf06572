"""Email addresses typed by staff: typos are refused with a sentence, contacts are split."""

from __future__ import annotations

import pytest

from teambot.core.customer_loop.email_address import split_contact, validate_email
from teambot.core.errors import BadInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("jane@example.com", "jane@example.com"),
        ("  Jane.Doe+table4@Example.COM ", "Jane.Doe+table4@example.com"),
        ("mailto:jane@example.com", "jane@example.com"),
        ("o'brien@mail.example.co.uk", "o'brien@mail.example.co.uk"),
        ("jörg@bücher.de", "jörg@xn--bcher-kva.de"),
    ],
)
def test_valid(text: str, expected: str) -> None:
    assert validate_email(text) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("jane@example", "needs a dot"),
        ("jane.example.com", "exactly one @"),
        ("jane@@example.com", "exactly one @"),
        ("jane doe@example.com", "space"),
        (".jane@example.com", "before the @"),
        ("jane..doe@example.com", "before the @"),
        ("jane@-example.com", "not a domain"),
        ("jane@example.c", "not a domain"),
        ("jane@exa_mple.com", "not a domain"),
        ("@example.com", "missing"),
        ("x" * 250 + "@example.com", "longer than"),
    ],
)
def test_invalid_says_why(text: str, why: str) -> None:
    with pytest.raises(BadInput) as err:
        validate_email(text)
    assert why in str(err.value)
    assert err.value.field == "email"
    assert "jane@example.com" in (err.value.hint or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jane Doe <jane@Example.com>", ("Jane Doe", "jane@example.com")),
        ('"Doe, Jane" <jane@example.com>', ("Doe, Jane", "jane@example.com")),
        ("Jane Doe (jane@example.com)", ("Jane Doe", "jane@example.com")),
        ("Jane Doe, jane@example.com.", ("Jane Doe", "jane@example.com")),
        ("jane@example.com", ("", "jane@example.com")),
        ("Jane Doe", ("Jane Doe", None)),
        ("  Jane   Doe  ", ("Jane Doe", None)),
        ("@jane at table 4", ("@jane at table 4", None)),
        ("", ("", None)),
        # Chat tokens are no addresses (a Teams or shell user can type Slack's forms too).
        ("<!here> Evil <!channel>", ("<!here> Evil <!channel>", None)),
        ("Ana <@U123>", ("Ana <@U123>", None)),
        ("<#C1|general> guest", ("<#C1|general> guest", None)),
        ("<https://user@x.example|x>", ("<https://user@x.example|x>", None)),
        ("Jane <mailto:jane@example.com|jane@example.com>", ("Jane", "jane@example.com")),
    ],
)
def test_split_contact(text: str, expected: tuple[str, str | None]) -> None:
    assert split_contact(text) == expected


def test_split_contact_refuses_a_bad_bracketed_address() -> None:
    with pytest.raises(BadInput, match="not an email address"):
        split_contact("Jane Doe <jane@example>")
