"""Replies about cases: a card, a list, the timeline, the draft, approvals waiting."""

from __future__ import annotations

from dataclasses import dataclass, field

from teambot.core.cases.models import ApprovalRequest, Case
from teambot.core.cases.opening import OpenedCase
from teambot.core.cases.queries import CaseDetail
from teambot.core.commands.replies import Reply
from teambot.core.i18n import gettext as _


@dataclass
class CaseReply(Reply):
    """A case card to show (or refresh in place), with a sentence about what just happened."""

    detail: CaseDetail | None = None
    message: str = ""
    opened: OpenedCase | None = None
    approval: ApprovalRequest | None = None
    # One-click follow-ups shown with the message (label, command after /recover): "Change cause".
    choices: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ListReply(Reply):
    title: str = ""
    cases: list[Case] = field(default_factory=list)
    empty: str = field(default_factory=lambda: _("No cases."))  # in the language it is made in


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
