"""Approvals: the request for compensation above a granter's authority, answered once."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.common import Card, CaseSteps, Change, StepRead, checked_text, mention
from teambot.core.cases.models import ApprovalRequest, ApprovalStatus, Case, Grant
from teambot.core.errors import Conflict, InvalidStep, NotAllowed, NotFound
from teambot.core.i18n import format_money
from teambot.core.i18n import gettext as _
from teambot.core.money import from_minor
from teambot.core.policy.rules import approvers_of, backups_of, load_policy, may_approve


async def _request_and_case(s: AsyncSession, team_id: str, approval_id: int) -> tuple[ApprovalRequest, Case]:
    """An approval request of this team and the case it is for, or the refusal a person reads."""
    req = await s.get(ApprovalRequest, approval_id)
    if req is None or req.team_id != team_id:
        raise NotFound(
            _("There is no approval request %(id)s in this team.") % {"id": approval_id},
            _("Pending requests are listed with /recover approvals."),
        )
    case = await s.get(Case, req.case_id)
    assert case is not None
    return req, case


def _already(status: ApprovalStatus, approval_id: int, by: str | None = None) -> str:
    """The refusal for a request already answered (`by` whom, when known), one sentence per outcome."""
    said = {"id": approval_id, "who": by}
    if by is None:
        return {
            ApprovalStatus.APPROVED: _("Request %(id)s is already approved."),
            ApprovalStatus.DENIED: _("Request %(id)s is already denied."),
            ApprovalStatus.WITHDRAWN: _("Request %(id)s is already withdrawn."),
        }.get(status, _("Request %(id)s is already answered.")) % said
    return {
        ApprovalStatus.APPROVED: _("Request %(id)s was already approved by %(who)s."),
        ApprovalStatus.DENIED: _("Request %(id)s was already denied by %(who)s."),
        ApprovalStatus.WITHDRAWN: _("Request %(id)s was already withdrawn by %(who)s."),
    }.get(status, _("Request %(id)s was already answered by %(who)s.")) % said


def _decided(approve: bool, actor: str, req: ApprovalRequest, number: int, note: str | None) -> str:
    """What the requester reads about the answer, in their language (`_tell_user` enters it)."""
    said = {
        "who": mention(actor), "gesture": req.gesture, "n": number, "note": note,
        "amount": format_money(from_minor(req.amount_minor, req.currency), req.currency),
    }  # fmt: skip
    if approve:
        return (_("%(who)s approved %(gesture)s (%(amount)s) on case #%(n)s (%(note)s).") if note
                else _("%(who)s approved %(gesture)s (%(amount)s) on case #%(n)s.")) % said  # fmt: skip
    return (_("%(who)s denied %(gesture)s (%(amount)s) on case #%(n)s (%(note)s).") if note
            else _("%(who)s denied %(gesture)s (%(amount)s) on case #%(n)s.")) % said  # fmt: skip


def _withdrawn(actor: str, req: ApprovalRequest, number: int) -> str:
    return _("%(who)s withdrew request %(id)s (%(gesture)s) on case #%(n)s; nothing to answer.") % {
        "who": mention(actor), "id": req.id, "gesture": req.gesture, "n": number}  # fmt: skip


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
                    _("Only an approver can answer this request."),
                    _("Approvers: %(who)s; backups: %(backups)s.") % {"who": who, "backups": backups},
                )
            if actor == req.requested_by:
                raise NotAllowed(
                    _("You can't answer your own request; that is what the approval is for."),
                    _("Another approver must answer it; an admin adds one with /recover policy approver add @name."),
                )
            if req.status != ApprovalStatus.PENDING:
                raise InvalidStep(
                    _already(req.status, approval_id, mention(req.decided_by)), _("Nothing more to do.")
                )
            if approve:
                self._not_closed(case, "approve")
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
        await self._tell_user(
            case, req.requested_by, "approval_decided",
            partial(_decided, approve, actor, req, case.number, note_text),
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
                    _("Only %(who)s, who asked, can withdraw request %(id)s.")
                    % {"who": mention(req.requested_by), "id": approval_id},
                    _("An approver answers it instead: /recover approve or /recover deny."),
                )
            if req.status != ApprovalStatus.PENDING:
                raise InvalidStep(_already(req.status, approval_id), _("Nothing to do."))
            req.status, req.decided_by, req.decided_at = ApprovalStatus.WITHDRAWN, actor, now
            s.add(req)
            data = {"approval_id": req.id, "gesture": req.gesture}
            return Change(StepRead(case, policy, None), "withdrawn", data, result=req)

        change = await self._in_turns(attempt, actor, card, _answered_at_once)
        req, case, policy = change.result, change.read.case, change.read.policy
        for approver in [a for a in approvers_of(policy) if a != actor]:
            await self._tell_user(
                case, approver, "approval_withdrawn",
                partial(_withdrawn, actor, req, case.number), approval_id=req.id,
            )  # fmt: skip
        return req, case


def _answered_at_once() -> Exception:
    return Conflict(_("Someone answered this request at the same moment."), _("Look at the case again."))
