"""How an apology was made and how bad a case is: each defined once, here, for the core's checks,
every adapter's form and the texts that name them."""

from __future__ import annotations

from enum import StrEnum


class ApologyMethod(StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"

    @property
    def label(self) -> str:
        """As a sentence says it ("apologised by phone"); forms capitalise it ("By phone")."""
        return _APOLOGY_LABELS[self]


_APOLOGY_LABELS = {
    ApologyMethod.IN_PERSON: "in person", ApologyMethod.PHONE: "by phone", ApologyMethod.EMAIL: "by email",
    ApologyMethod.CHAT: "by chat",
}  # fmt: skip


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


APOLOGY_METHODS: tuple[str, ...] = tuple(m.value for m in ApologyMethod)
SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)
