"""Secrets Teambot must use again later (a webhook's signing secret, a Jira API token) are kept
encrypted at rest, with a key derived from TEAMBOT_SECRET (or the site secret made in its place).

Fernet (AES-128-CBC with an HMAC-SHA256, from `cryptography`) over a key from HKDF-SHA256: a
database dump alone reveals none of them, and a wrong key is a clear error, never garbage.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from teambot.core.errors import InvalidStep


class SecretBox:
    """Encrypts and decrypts short secrets; `purpose` separates the keys of unrelated uses."""

    def __init__(self, secret: bytes, purpose: str = "teambot at-rest secrets") -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(secret)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            raise InvalidStep(
                "A stored secret cannot be read with this server's TEAMBOT_SECRET.",
                "Set TEAMBOT_SECRET back to the value it had when the secret was stored, or add it again.",
            ) from None
