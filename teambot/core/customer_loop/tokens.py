"""Signed feedback links: the link proves who may answer, and says nothing about the case.

A token is ``base64url(body) "." base64url(HMAC-SHA256(secret, body))`` where body is
``"1:<expiry unix seconds>:<token_id>"``. The token_id is an opaque random id that only the
database maps to a case, so a forwarded or leaked link reveals no customer or case data;
single use is the database row's job, not the token's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta

from teambot.core.errors import DomainError
from teambot.core.i18n import N_
from teambot.core.i18n import gettext as _

DEFAULT_LIFETIME = timedelta(days=14)
"""Long enough for a customer back from a trip; short enough that old mail goes stale."""

MIN_SECRET_BYTES = 16
_VERSION = "1"
_MAX_TOKEN_CHARS = 256  # anything longer is not ours; refuse before decoding or hashing it
_TOKEN_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")


class TokenError(DomainError):
    """The feedback link cannot be used; subclasses say whether it is forged or just old."""

    default_message = N_("This feedback link is not valid.")

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _(self.default_message))


class TokenInvalid(TokenError):
    """Malformed, truncated or tampered with (or signed with another secret)."""


class TokenExpired(TokenError):
    """Genuine, but past its expiry."""

    default_message = N_("This feedback link has expired.")


def new_token_id() -> str:
    """A fresh opaque id (128 random bits) for the database to map to a case."""
    return secrets.token_urlsafe(16)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise TokenInvalid()
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenInvalid() from exc


def _mac(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, body, hashlib.sha256).digest()


def _check_secret(secret: bytes) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the feedback secret must be at least {MIN_SECRET_BYTES} bytes")


def issue_token(secret: bytes, token_id: str, expires_at: datetime) -> str:
    """Sign `token_id` until `expires_at` (timezone-aware) for use in a feedback URL."""
    _check_secret(secret)
    if not _TOKEN_ID.fullmatch(token_id):
        raise ValueError("token_id must be 8-64 URL-safe characters (use new_token_id())")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    body = f"{_VERSION}:{int(expires_at.timestamp())}:{token_id}".encode("ascii")
    return f"{_b64encode(body)}.{_b64encode(_mac(secret, body))}"


def read_token(secret: bytes, token: str, now: datetime) -> str:
    """Return the token_id of a genuine, unexpired token; raise TokenInvalid or TokenExpired.

    The signature is checked before anything in the body is trusted, so a forged token is
    always TokenInvalid, never TokenExpired.
    """
    _check_secret(secret)
    if not isinstance(token, str) or len(token) > _MAX_TOKEN_CHARS or token.count(".") != 1:
        raise TokenInvalid()
    body_part, mac_part = token.split(".")
    body, mac = _b64decode(body_part), _b64decode(mac_part)
    if not hmac.compare_digest(mac, _mac(secret, body)):
        raise TokenInvalid()
    try:
        version, expiry, token_id = body.decode("ascii").split(":")
        expires = datetime.fromtimestamp(int(expiry), UTC)
    except (UnicodeDecodeError, ValueError, OverflowError, OSError) as exc:
        raise TokenInvalid() from exc
    if version != _VERSION or not _TOKEN_ID.fullmatch(token_id):
        raise TokenInvalid()
    if now >= expires:
        raise TokenExpired()
    return token_id
