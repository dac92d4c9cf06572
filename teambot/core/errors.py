"""Domain errors carry the sentence a user should read: what was wrong and what to do."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal. `message` says why; `hint` says what to do instead; `field` names the input;
    `offer` is a (label, command) the person can run in one click to get past it."""

    def __init__(
        self, message: str, hint: str | None = None, *, field: str | None = None,
        offer: tuple[str, str] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.field = field
        self.offer = offer

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class InvalidStep(DomainError):
    """The case is not in a state where this step makes sense."""


class NotAllowed(DomainError):
    """The person may not do this (not an admin, not an approver, not the owner)."""


class BadInput(DomainError):
    """The input could not be understood (amount, score, date, text too long...)."""


class NotFound(DomainError):
    """No such case, step or request in this team."""


class Conflict(DomainError):
    """Someone else changed the same thing at the same moment; looking again will show it."""
