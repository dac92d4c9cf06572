"""Feedback tokens: genuine ones round-trip; forged, truncated or old ones are refused."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from teambot.core.customer_loop.tokens import (
    DEFAULT_LIFETIME,
    TokenExpired,
    TokenInvalid,
    issue_token,
    new_token_id,
    read_token,
)

SECRET = b"s" * 32
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_round_trip_and_default_lifetime() -> None:
    token_id = new_token_id()
    token = issue_token(SECRET, token_id, NOW + DEFAULT_LIFETIME)
    assert timedelta(days=14) == DEFAULT_LIFETIME
    assert read_token(SECRET, token, NOW) == token_id
    assert read_token(SECRET, token, NOW + DEFAULT_LIFETIME - timedelta(seconds=1)) == token_id
    assert all(c.isalnum() or c in "-_." for c in token)  # safe in a URL path as is


def test_expired() -> None:
    token = issue_token(SECRET, new_token_id(), NOW + timedelta(days=1))
    with pytest.raises(TokenExpired):
        read_token(SECRET, token, NOW + timedelta(days=1))


def test_tampered_truncated_malformed_or_other_secret() -> None:
    token = issue_token(SECRET, new_token_id(), NOW + DEFAULT_LIFETIME)
    body, mac = token.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    forged_body = base64.urlsafe_b64encode(b"1:9999999999:aaaaaaaaaaaa").rstrip(b"=").decode()
    candidates = [
        f"{flipped}.{mac}",
        f"{forged_body}.{mac}",
        token[:-3],
        token + "x",
        body,
        f"{body}.{mac}.{mac}",
        "",
        "not a token",
        "é.é",
        "A" * 5000,
    ]
    for bad in candidates:
        with pytest.raises(TokenInvalid):
            read_token(SECRET, bad, NOW)
    with pytest.raises(TokenInvalid):
        read_token(b"t" * 32, token, NOW)


def test_forged_expired_token_is_invalid_not_expired() -> None:
    """The signature is checked first: an old forged token must not learn it 'expired'."""
    token = issue_token(b"t" * 32, new_token_id(), NOW - timedelta(days=1))
    with pytest.raises(TokenInvalid):
        read_token(SECRET, token, NOW)


def test_no_case_data_in_the_token() -> None:
    token_id = new_token_id()
    token = issue_token(SECRET, token_id, NOW + DEFAULT_LIFETIME)
    body = base64.urlsafe_b64decode(token.split(".")[0] + "==").decode()
    version, expiry, tid = body.split(":")
    assert (version, tid) == ("1", token_id)
    assert int(expiry) == int((NOW + DEFAULT_LIFETIME).timestamp())
    assert len(token) < 120


def test_refuses_bad_inputs_when_issuing() -> None:
    with pytest.raises(ValueError):
        issue_token(b"short", new_token_id(), NOW)
    with pytest.raises(ValueError):
        issue_token(SECRET, "case:42", NOW)
    with pytest.raises(ValueError):
        issue_token(SECRET, new_token_id(), NOW.replace(tzinfo=None))
    assert new_token_id() != new_token_id()
