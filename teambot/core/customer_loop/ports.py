"""What closing the loop needs from the outside: a feedback store and a mail sender.

Both are Protocols so the core stays free of SQLAlchemy, aiohttp and SMTP. The web form
(teambot.web.feedback) and the mail adapters (teambot.mail) depend on these, never the
other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from teambot.core.errors import BadInput
from teambot.core.i18n import gettext as _

if TYPE_CHECKING:
    from teambot.core.customer_loop.mail import FollowupMail

FeedbackState = Literal["open", "used", "expired"]
ComingBack = Literal["yes", "no", "not_sure"]
COMING_BACK_CHOICES: tuple[ComingBack, ...] = ("yes", "no", "not_sure")
COMMENT_MAX_CHARS = 2000
"""Room for a real paragraph; the form's maxlength says the same so nothing is cut silently."""




@dataclass(frozen=True)
class FeedbackView:
    """All the feedback page may show: a first name and a team name, nothing from the case,
    and which language to speak."""

    first_name: str
    team_name: str
    state: FeedbackState
    language: str | None = None  # the customer's, when the case names it
    team_language: str | None = None  # the team's default, after the browser's Accept-Language


@dataclass(frozen=True)
class FeedbackAnswer:
    """The customer's verdict, as the case's close-out records it (satisfied, score, won back)."""

    satisfied: bool
    score: int
    coming_back: ComingBack
    comment: str = ""

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> FeedbackAnswer:
        """Read the posted form; BadInput (with `field`) names the first question left wrong."""
        satisfied = form.get("satisfied", "")
        if satisfied not in ("yes", "no"):
            raise BadInput(_("Please tell us whether you are satisfied."), field="satisfied")
        score_text = form.get("score", "")
        if score_text not in ("1", "2", "3", "4", "5"):
            raise BadInput(_("Please choose a score from 1 to 5."), field="score")
        coming_back = form.get("coming_back", "")
        if coming_back not in COMING_BACK_CHOICES:
            raise BadInput(_("Please tell us whether you will come back."), field="coming_back")
        comment = (form.get("comment") or "").replace("\r\n", "\n").strip()
        if len(comment) > COMMENT_MAX_CHARS:
            raise BadInput(
                _("Your comment is %(length)s characters long; please keep it under %(limit)s.")
                % {"length": len(comment), "limit": COMMENT_MAX_CHARS},
                field="comment",
            )
        return cls(satisfied == "yes", int(score_text), coming_back, comment)  # type: ignore[arg-type]


class FeedbackStore(Protocol):
    """Maps an opaque token_id to its case; the DB-backed version enforces single use."""

    async def lookup(self, token_id: str) -> FeedbackView | None:
        """The view for this token, or None if no such token was ever issued."""
        ...

    async def answer(self, token_id: str, answer: FeedbackAnswer, now: datetime) -> bool:
        """Record the answer atomically; False (and nothing written) if it was already used."""
        ...


class MailSender(Protocol):
    """Sends one composed mail; returns an id to keep on the case (Message-ID or file path)."""

    async def send(self, mail: FollowupMail, mail_from: str) -> str: ...
