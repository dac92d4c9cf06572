"""Resolution and follow-up: resolving, the customer's verdict, reopening."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.common import MAX_TEXT, Card, CaseSteps, checked_text, mention
from teambot.core.cases.models import ApprovalRequest, ApprovalStatus, Case, CaseStatus
from teambot.core.errors import BadInput, InvalidStep, NotAllowed
from teambot.core.policy.models import Policy


class ResolutionSteps(CaseSteps):
    """Resolve, answer the follow-up, reopen."""

    # ----- resolution and follow-up --------------------------------------------------------

    async def resolve(
        self, team_id: str, number: int, actor: str, summary: str, root_cause: str, *, card: Card | None = None
    ) -> Case:
        summary_text = checked_text(summary, "resolution", required=True)
        cause = checked_text(root_cause, "root cause", limit=500)
        if cause is None:
            raise BadInput(
                "The root cause is missing; it is what the weekly digest learns from.",
                f"Add it after a '|': /recover resolve {number} <what you did> | <root cause>",
                field="root_cause",
            )

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            self._not_closed(case, "resolve it")
            if case.status == CaseStatus.RESOLVED:
                raise InvalidStep(
                    f"Case #{number} is already resolved; it waits for the customer's follow-up.",
                    f"Record it with /recover followup {number} satisfied|not <score 1-5>.",
                )
            self._needs_owner(case, "resolve it")
            if actor != case.owner_id:
                raise NotAllowed(
                    f"Only the owner ({mention(case.owner_id)}) can resolve case #{number}.",
                    f"Ask them, or ask for a handover: /recover handover {number} @you.",
                )
            if case.apologised_at is None:
                raise InvalidStep(
                    f"No apology is recorded on case #{number}; a recovery starts with one.",
                    f"Record it first: /recover apologise {number} in_person|phone|email|chat [words].",
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
                    f"Case #{number} has a compensation request waiting for an approver "
                    f"(request {req.id}, {req.gesture}).",
                    "Resolve it once the approver has answered, so you promise only what was agreed, "
                    f"or withdraw the request: /recover withdraw {req.id}.",
                    offer=(f"Withdraw request {req.id}", f"withdraw {req.id}"),
                )
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
                f"{score!r} is not a score.", "Give the customer's score from 1 to 5.", field="score"
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
                    f"Case #{number} is {state}; the follow-up comes after it is resolved.",
                    f"Resolve it first: /recover resolve {number} <what you did> | <root cause>."
                    if state != "closed"
                    else f"Reopen it with /recover reopen {number} if there is more to do.",
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
            verdict = "satisfied" if satisfied else "not satisfied"
            after = {
                CaseStatus.CLOSED: f"case #{number} is closed.",
                CaseStatus.OWNED: f"case #{number} is back with you.",
            }.get(case.status, f"case #{number} stays {case.status.value}.")
            said = f" They wrote: “{comment_text}”" if comment_text else ""
            await self._tell_user(
                case, case.owner_id, "customer_feedback",
                f"{case.customer_name or 'The customer'} answered the follow-up themselves: {verdict}, "
                f"{score}/5; {after}{said}",
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
                    f"Case #{number} is {case.status.value}, not closed.", "It is still being worked."
                )
            case.status = CaseStatus.OWNED if case.owner_id else CaseStatus.OPEN
            case.closed_at, case.reopened_count = None, case.reopened_count + 1
            # The old verdict stays in the timeline; the card, CSV, stats and leaderboard use the latest.
            superseded = {"satisfied": case.satisfied, "score": case.score, "won_back": case.won_back}
            case.followup_at, case.satisfied, case.score, case.won_back = None, None, None, None
            return "reopened", {"reason": reason_text, "superseded": superseded}

        return await self._change(team_id, number, actor, apply, card)
