"""Resolution and follow-up: resolving, the customer's verdict, reopening."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.common import MAX_TEXT, Card, CaseSteps, checked_text, mention
from teambot.core.cases.kinds import APOLOGY_METHODS
from teambot.core.cases.models import ApprovalRequest, ApprovalStatus, Case, CaseStatus
from teambot.core.errors import BadInput, InvalidStep, NotAllowed
from teambot.core.i18n import gettext as _
from teambot.core.i18n import pgettext
from teambot.core.policy.models import Policy


def status_word(status: CaseStatus) -> str:
    """A case's status in one word, as a sentence says it ("Case #3 is owned")."""
    return {
        CaseStatus.OPEN: pgettext("case is ...", "open"), CaseStatus.OWNED: pgettext("case is ...", "owned"),
        CaseStatus.RESOLVED: pgettext("case is ...", "resolved"), CaseStatus.CLOSED: pgettext("case is ...", "closed"),
        CaseStatus.CANCELLED: pgettext("case is ...", "cancelled"),
    }.get(status, str(status))  # fmt: skip


def _customer_answered(case: Case, satisfied: bool, score: int, comment: str | None) -> str:
    """What the owner reads when the customer answered the follow-up, in the owner's language."""
    said = {"customer": case.customer_name or _("The customer"), "score": score, "n": case.number,
            "verdict": _("satisfied") if satisfied else _("not satisfied"), "state": status_word(case.status)}  # fmt: skip
    after = {
        CaseStatus.CLOSED: _("%(customer)s answered the follow-up themselves: %(verdict)s, %(score)s/5; case #%(n)s is closed."),
        CaseStatus.OWNED: _("%(customer)s answered the follow-up themselves: %(verdict)s, %(score)s/5; case #%(n)s is back with you."),
    }.get(case.status, _("%(customer)s answered the follow-up themselves: %(verdict)s, %(score)s/5; case #%(n)s stays %(state)s."))  # fmt: skip
    text = after % said
    return text + " " + _("They wrote: “%(comment)s”") % {"comment": comment} if comment else text


class ResolutionSteps(CaseSteps):
    """Resolve, answer the follow-up, reopen."""

    # ----- resolution and follow-up --------------------------------------------------------

    async def resolve(
        self, team_id: str, number: int, actor: str, summary: str, root_cause: str, *, card: Card | None = None
    ) -> Case:
        summary_text = checked_text(summary, "resolution", required=True)
        cause = checked_text(root_cause, "root_cause", limit=500)
        if cause is None:
            raise BadInput(
                _("The root cause is missing; it is what the weekly digest learns from."),
                _("Add it after a '|': /recover resolve %(n)s <what you did> | <root cause>") % {"n": number},
                field="root_cause",
            )

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            self._not_closed(case, "resolve")
            if case.status == CaseStatus.RESOLVED:
                raise InvalidStep(
                    _("Case #%(n)s is already resolved; it waits for the customer's follow-up.") % {"n": number},
                    _("Record it with /recover followup %(n)s satisfied|not <score 1-5>.") % {"n": number},
                )
            self._needs_owner(case, "resolve")
            if actor != case.owner_id:
                raise NotAllowed(
                    _("Only the owner (%(who)s) can resolve case #%(n)s.") % {"who": mention(case.owner_id), "n": number},
                    _("Ask them, or ask for a handover: /recover handover %(n)s @you.") % {"n": number},
                )
            if case.apologised_at is None:
                raise InvalidStep(
                    _("No apology is recorded on case #%(n)s; a recovery starts with one.") % {"n": number},
                    _("Record it first: /recover apologise %(n)s %(methods)s [words].")
                    % {"n": number, "methods": "|".join(APOLOGY_METHODS)},
                )
            pending = (
                await s.exec(
                    select(func.count()).where(
                        ApprovalRequest.case_id == case.id, ApprovalRequest.status == ApprovalStatus.PENDING
                    )
                )
            ).one()
            if pending:
                req = (
                    await s.exec(
                        select(ApprovalRequest).where(
                            ApprovalRequest.case_id == case.id, ApprovalRequest.status == ApprovalStatus.PENDING
                        )
                    )
                ).first()
                assert req is not None
                raise InvalidStep(
                    _("Case #%(n)s has a compensation request waiting for an approver (request %(id)s, %(gesture)s).")
                    % {"n": number, "id": req.id, "gesture": req.gesture},
                    _("Resolve it once the approver has answered, so you promise only what was agreed, or withdraw "
                      "the request: /recover withdraw %(id)s.") % {"id": req.id},
                    offer=(_("Withdraw request %(id)s") % {"id": req.id}, f"withdraw {req.id}"),
                )  # fmt: skip
            case.status = CaseStatus.RESOLVED
            case.resolved_at, case.resolution, case.root_cause = now, summary_text, cause
            case.followup_due_at = now + timedelta(hours=p.followup_after_hours)
            hours = round((now - case.opened_at).total_seconds() / 3600, 2)
            return "resolved", {
                "resolution": summary_text, "root_cause": cause, "hours_to_resolve": hours,
                "followup_due_at": case.followup_due_at,
            }  # fmt: skip

        return await self._change(team_id, number, actor, apply, card)

    async def answer_followup(
        self, team_id: str, number: int, actor: str, satisfied: bool, score: int, won_back: bool | None = None,
        *, by_customer: bool = False, comment: str | None = None,
        guard: Callable[[AsyncSession, Case, datetime], Awaitable[None]] | None = None,
        card: Card | None = None,
    ) -> Case:  # fmt: skip
        """Satisfied closes the case; not satisfied sends it back to its owner to work on.

        `by_customer`: the customer answered themselves (the feedback page). Their word is
        recorded whatever the case's state: on a resolved case it closes or reopens work as a
        staff answer does; on a closed case a "not satisfied" reopens it; on a case still being
        worked it is recorded and the work goes on. `guard` runs first in the same transaction
        (the feedback link's single-use UPDATE), so the answer and the used link commit together.
        """
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise BadInput(
                _("%(score)s is not a score.") % {"score": repr(score)}, _("Give the customer's score from 1 to 5."),
                field="score",
            )
        comment_text = checked_text(comment, "comment", limit=MAX_TEXT)

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            if guard is not None:
                await guard(s, case, now)
            if by_customer:
                return self._customer_verdict(case, now, satisfied, score, won_back, comment_text)
            if case.status != CaseStatus.RESOLVED:
                state = case.status.value
                raise InvalidStep(
                    _("Case #%(n)s is %(state)s; the follow-up comes after it is resolved.")
                    % {"n": number, "state": status_word(case.status)},
                    _("Resolve it first: /recover resolve %(n)s <what you did> | <root cause>.") % {"n": number}
                    if state != "closed"
                    else _("Reopen it with /recover reopen %(n)s if there is more to do.") % {"n": number},
                )
            case.followup_at, case.satisfied, case.score, case.won_back = now, satisfied, score, won_back
            case.followup_source = "staff"
            case.followup_due_at = None
            if satisfied:
                case.status, case.closed_at = CaseStatus.CLOSED, now
            else:
                case.status = CaseStatus.OWNED
            return "followup_answered", {
                "satisfied": satisfied, "score": score, "won_back": won_back, "source": "staff",
            }  # fmt: skip

        case = await self._change(team_id, number, actor, apply, card)
        if by_customer and case.owner_id:
            await self._tell_user(
                case, case.owner_id, "customer_feedback", partial(_customer_answered, case, satisfied, score, comment_text),
                satisfied=satisfied, score=score,
            )  # fmt: skip
        return case

    @staticmethod
    def _customer_verdict(
        case: Case, now: datetime, satisfied: bool, score: int, won_back: bool | None, comment: str | None
    ) -> tuple[str, dict[str, Any]]:
        was = case.status
        case.followup_at, case.satisfied, case.score, case.won_back = now, satisfied, score, won_back
        case.followup_source = "customer"
        if was == CaseStatus.RESOLVED:
            case.followup_due_at = None
            if satisfied:
                case.status, case.closed_at = CaseStatus.CLOSED, now
            else:
                case.status = CaseStatus.OWNED
        elif was == CaseStatus.CLOSED and not satisfied:
            case.status = CaseStatus.OWNED if case.owner_id else CaseStatus.OPEN
            case.closed_at, case.reopened_count = None, case.reopened_count + 1
        return "followup_answered", {
            "satisfied": satisfied, "score": score, "won_back": won_back, "source": "customer",
            "comment": comment, "status_before": was.value,
        }  # fmt: skip

    async def reopen(
        self, team_id: str, number: int, actor: str, reason: str | None = None, *, card: Card | None = None
    ) -> Case:
        reason_text = checked_text(reason, "reason", limit=1000)

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            if case.status != CaseStatus.CLOSED:
                raise InvalidStep(
                    _("Case #%(n)s is %(state)s, not closed.") % {"n": number, "state": status_word(case.status)},
                    _("It is still being worked."),
                )
            case.status = CaseStatus.OWNED if case.owner_id else CaseStatus.OPEN
            case.closed_at, case.reopened_count = None, case.reopened_count + 1
            # The old verdict stays in the timeline; the card, CSV, stats and leaderboard use the latest.
            superseded = {"satisfied": case.satisfied, "score": case.score, "won_back": case.won_back}
            case.followup_at, case.satisfied, case.score, case.won_back = None, None, None, None
            return "reopened", {"reason": reason_text, "superseded": superseded}

        return await self._change(team_id, number, actor, apply, card)
