"""How an apology was made and how bad a case is: each defined once, here, for the core's checks,
every adapter's form and the texts that name them."""

from __future__ import annotations

from enum import StrEnum

from teambot.core.i18n import pgettext


class ApologyMethod(StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"

    @property
    def label(self) -> str:
        """As a sentence says it ("apologised by phone"), in the current language; forms capitalise it."""
        return {
            ApologyMethod.IN_PERSON: pgettext("apologised ...", "in person"),
            ApologyMethod.PHONE: pgettext("apologised ...", "by phone"),
            ApologyMethod.EMAIL: pgettext("apologised ...", "by email"),
            ApologyMethod.CHAT: pgettext("apologised ...", "by chat"),
        }[self]

    @property
    def short(self) -> str:
        """The way named on its own, as a case's reply and timeline show it ("apologised (phone)")."""
        return {
            ApologyMethod.IN_PERSON: pgettext("apology method", "in person"),
            ApologyMethod.PHONE: pgettext("apology method", "phone"),
            ApologyMethod.EMAIL: pgettext("apology method", "email"),
            ApologyMethod.CHAT: pgettext("apology method", "chat"),
        }[self]

    @property
    def choice(self) -> str:
        """As a form or a question offers it ("By phone"), in the current language."""
        return {
            ApologyMethod.IN_PERSON: pgettext("apology method", "In person"),
            ApologyMethod.PHONE: pgettext("apology method", "By phone"),
            ApologyMethod.EMAIL: pgettext("apology method", "By email"),
            ApologyMethod.CHAT: pgettext("apology method", "By chat"),
        }[self]


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def label(self) -> str:
        """The severity in words, in the current language ("severity high")."""
        return {
            Severity.LOW: pgettext("severity", "low"),
            Severity.MEDIUM: pgettext("severity", "medium"),
            Severity.HIGH: pgettext("severity", "high"),
            Severity.CRITICAL: pgettext("severity", "critical"),
        }[self]

    @property
    def choice(self) -> str:
        """As a form or a question offers it ("High"), in the current language."""
        return {
            Severity.LOW: pgettext("severity", "Low"),
            Severity.MEDIUM: pgettext("severity", "Medium"),
            Severity.HIGH: pgettext("severity", "High"),
            Severity.CRITICAL: pgettext("severity", "Critical"),
        }[self]


APOLOGY_METHODS: tuple[str, ...] = tuple(m.value for m in ApologyMethod)
SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)


def apology_short(method: str | None) -> str:
    """A recorded method named on its own ("phone"); a value no longer known is shown as stored."""
    return ApologyMethod(method).short if method in APOLOGY_METHODS else method or ""


def apology_label(method: str | None) -> str:
    """A recorded method as a sentence says it ("by phone"); a value no longer known as stored."""
    return ApologyMethod(method).label if method in APOLOGY_METHODS else method or ""


def severity_label(severity: str) -> str:
    """A recorded severity in words; a value no longer known is shown as stored."""
    return Severity(severity).label if severity in SEVERITIES else severity
