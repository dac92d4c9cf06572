"""What a command produces, platform-neutral; each adapter renders these its own way.

Feature packages add their own Reply subclasses beside their handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from teambot.core.errors import DomainError


@dataclass
class Reply:
    """`public` replies go to the channel; the rest only to the person who asked."""

    public: bool = False


@dataclass
class TextReply(Reply):
    text: str = ""
    title: str | None = None


@dataclass
class ChoiceReply(TextReply):
    """A question with one-click answers: each choice is a (label, command) pair, the command
    being what the person would type after `/recover`; pressing it runs that command as them."""

    choices: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class FormReply(Reply):
    """The guided form: an adapter shows a modal, a card or a question-by-question prompt."""

    form: str = "open"
    prefill: dict[str, Any] = field(default_factory=dict)


@dataclass
class ErrorReply(Reply):
    """A refusal; `echo` is what the person typed, so they can fix it rather than retype it."""

    error: DomainError | None = None
    echo: str = ""

    @property
    def text(self) -> str:
        assert self.error is not None
        return str(self.error)
