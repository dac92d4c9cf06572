"""What a command produces, platform-neutral; each adapter renders these its own way."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from teambot.core.cases import OpenedCase
from teambot.core.errors import DomainError
from teambot.core.models import ApprovalRequest, Case, Policy
from teambot.core.queries import CaseDetail


@dataclass
class Reply:
    """`public` replies go to the channel; the rest only to the person who asked."""

    public: bool = False


@dataclass
class TextReply(Reply):
    text: str = ""
    title: str | None = None


@dataclass
class FormReply(Reply):
    """The guided form: an adapter shows a modal, a card or a question-by-question prompt."""

    form: str = "open"
    prefill: dict[str, Any] = field(default_factory=dict)


@dataclass
class CaseReply(Reply):
    """A case card to show (or refresh in place), with a sentence about what just happened."""

    detail: CaseDetail | None = None
    message: str = ""
    opened: OpenedCase | None = None
    approval: ApprovalRequest | None = None


@dataclass
class ListReply(Reply):
    title: str = ""
    cases: list[Case] = field(default_factory=list)
    empty: str = "No cases."


@dataclass
class PolicyReply(Reply):
    policy: Policy | None = None
    viewer: str = ""
    message: str = ""


@dataclass
class ApprovalsReply(Reply):
    approvals: list[ApprovalRequest] = field(default_factory=list)


@dataclass
class TimelineReply(Reply):
    detail: CaseDetail | None = None


@dataclass
class DraftReply(Reply):
    detail: CaseDetail | None = None
    text: str = ""


@dataclass
class ErrorReply(Reply):
    """A refusal; `echo` is what the person typed, so they can fix it rather than retype it."""

    error: DomainError | None = None
    echo: str = ""

    @property
    def text(self) -> str:
        assert self.error is not None
        return str(self.error)


@dataclass
class DigestReply(Reply):
    """A weekly digest (or this week's so far); `digest` is teambot.core.digest.Digest."""

    digest: Any = None
    text: str = ""


@dataclass
class LeaderboardReply(Reply):
    """Top recoverers; rows are teambot.core.shoutouts.LeaderRow."""

    rows: list[Any] = field(default_factory=list)
    days: int = 30
    text: str = ""
