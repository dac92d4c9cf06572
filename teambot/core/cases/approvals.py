"""Approvals: the request for compensation above a granter's authority, answered once."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.common import Card, CaseSteps, Change, StepRead, checked_text, mention
from teambot.core.cases.models import ApprovalRequest, ApprovalStatus, Case, Grant
from teambot.core.errors import Conflict, InvalidStep, NotAllowed, NotFound
from teambot.core.money import format_amount, from_minor
from teambot.core.policy.rules import approvers_of, backups_of, load_policy, may_approve


async def _request_and_case(s: AsyncSession, team_id: str, approval_id: int) -> tuple[ApprovalRequest, Case]:
    """An approval request of this team and the case it is for, or the refusal a person reads."""
    req = await s.get(ApprovalRequest, approval_id)
    if req is None or req.team_id != team_id:
        raise NotFound(
            f"There is no approval request {approval_id} in this team.",
            "Pending requests are listed with /recover approvals.",
        )
    case = await s.get(Case, req.case_id)
    assert case is not None
    return req, case


class ApprovalSteps(CaseSteps):
    """Requests above someone's authority: listed, approved or denied, withdrawn."""

    # ----- approvals -----------------------------------------------------------------------

    async def pending_approvals(self, team_id: str) -> list[ApprovalRequest]:
        async with self.db.session() as s:
            rows = await s.exec(
                select(ApprovalRequest)
                .where(ApprovalRequest.team_id == team_id, ApprovalRequest.status == ApprovalStatus.PENDING)
                .order_by(col(ApprovalRequest.requested_at))
            )
            return list(rows.all())

    async def decide(
        self, team_id: str, approval_id: int, actor: str, approve: bool, note: str | None = None, *,
        card: Card | None = None,
    ) -> tuple[ApprovalRequest, Case]:  # fmt: skip
        """Only an approver decides, once; the wait is recorded with the outcome."""
        note_text = checked_text(note, "note", limit=1000)
        kind = "approved" if approve else "denied"

        async def attempt(s: AsyncSession, now: datetime) -> Change:
            policy = await load_policy(s, team_id, actor, now)
            req, case = await _request_and_case(s, team_id, approval_id)
            if not may_approve(policy, actor):
                who = ", ".join(mention(a) for a in approvers_of(policy))
                backups = ", ".join(mention(a) for a in backups_of(policy))
                raise NotAllowed(
                    "Only an approver can answer this request.", f"Approvers: {who}; backups: {backups}."
                )
            if actor == req.requested_by:
                raise NotAllowed(
                    "You can't answer your own request; that is what the approval is for.",
                    "Another approver must answer it; an admin adds one with /recover policy approver add @name.",
                )
            if req.status != ApprovalStatus.PENDING:
                raise InvalidStep(
                    f"Request {approval_id} was already {req.status.value} by {mention(req.decided_by)}.",
                    "Nothing more to do.",
                )
            if approve:
                self._not_closed(case, "approve compensation on it")
            req.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.DENIED
            req.decided_by, req.decided_at, req.decision_note = actor, now, note_text
            s.add(req)
            if approve:
                s.add(
                    Grant(
                        team_id=team_id, case_id=case.id or 0, granted_by=req.requested_by,
                        gesture=req.gesture, amount_minor=req.amount_minor, currency=req.currency,
                        within_authority=False, approval_id=req.id, granted_at=now,
                    )
                )  # fmt: skip
            wait = round((now - req.requested_at).total_seconds() / 60, 1)
            data = {"approval_id": req.id, "gesture": req.gesture, "amount": from_minor(req.amount_minor, req.currency),
                    "currency": req.currency, "wait_minutes": wait, "note": note_text}  # fmt: skip
            published = {"approval_id": req.id}
            return Change(StepRead(case, policy, None), kind, data, published=published, result=req)

        change = await self._in_turns(attempt, actor, card, _answered_at_once)
        req, case = change.result, change.read.case
        amount = format_amount(from_minor(req.amount_minor, req.currency), req.currency)
        verdict = "approved" if approve else "denied"
        reason = f" ({note_text})" if note_text else ""
        await self._tell_user(
            case, req.requested_by, "approval_decided",
            f"{mention(actor)} {verdict} {req.gesture} ({amount}) on case #{case.number}{reason}.",
            approval_id=req.id, approved=approve,
        )  # fmt: skip
        return req, case

    async def withdraw(
        self, team_id: str, approval_id: int, actor: str, *, card: Card | None = None
    ) -> tuple[ApprovalRequest, Case]:
        """The requester takes back a request nobody has answered; the approvers stop being asked."""

        async def attempt(s: AsyncSession, now: datetime) -> Change:
            policy = await load_policy(s, team_id, actor, now)
            req, case = await _request_and_case(s, team_id, approval_id)
            if actor != req.requested_by:
                raise NotAllowed(
                    f"Only {mention(req.requested_by)}, who asked, can withdraw request {approval_id}.",
                    "An approver answers it instead: /recover approve or /recover deny.",
                )
            if req.status != ApprovalStatus.PENDING:
                raise InvalidStep(f"Request {approval_id} is already {req.status.value}.", "Nothing to do.")
            req.status, req.decided_by, req.decided_at = ApprovalStatus.WITHDRAWN, actor, now
            s.add(req)
            data = {"approval_id": req.id, "gesture": req.gesture}
            return Change(StepRead(case, policy, None), "withdrawn", data, result=req)

        change = await self._in_turns(attempt, actor, card, _answered_at_once)
        req, case, policy = change.result, change.read.case, change.read.policy
        for approver in [a for a in approvers_of(policy) if a != actor]:
            await self._tell_user(
                case, approver, "approval_withdrawn",
                f"{mention(actor)} withdrew request {req.id} ({req.gesture}) on case #{case.number}; "
                "nothing to answer.", approval_id=req.id,
            )  # fmt: skip
        return req, case


def _answered_at_once() -> Exception:
    return Conflict("Someone answered this request at the same moment.", "Look at the case again.")
