"""Standard Webhooks (standardwebhooks.com): the secret's shape, the three headers, the signature.

`webhook-signature` is `v1,` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")) where the key
is the base64 after `whsec_`. Receivers verify with any of the spec's libraries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

from teambot.core.errors import BadInput

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
        "content-type": "application/json",
        "user-agent": "Teambot-Webhooks/1",
    }


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def clean_url(url: str | None) -> str:
    """As typed, or as Slack sends a link (`<https://x|label>`)."""
    return (url or "").strip().strip("<>").split("|", 1)[0].strip()


def check_url(url: str) -> str:
    """`https://...`, or `http://` to this machine (local testing); anything else is refused."""
    raw = clean_url(url)
    if len(raw) > 2000:
        raise BadInput("That URL is longer than 2,000 characters.", "Give the endpoint's address.")
    try:
        parts = urlsplit(raw)
        host = parts.hostname or ""
        _ = parts.port  # a port that is no number raises here
    except ValueError:
        raise BadInput(f"{raw!r} is not a URL.", "Give it as https://example.com/hooks/teambot.") from None
    if parts.scheme == "https" and host:
        return raw
    if parts.scheme == "http" and host and is_loopback(host):
        return raw
    if parts.scheme == "http" and host:
        raise BadInput(
            "Webhooks go only to https URLs (http is allowed to this machine, for local testing).",
            f"Use https://{host}{parts.path or '/'}.",
        )
    raise BadInput(f"{raw!r} is not an https URL.", "Give it as https://example.com/hooks/teambot.")
