"""Records kept clean: a case opened by mistake is cancelled, one filed wrongly recategorised."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.common import Card, CaseSteps, checked_text, mention
from teambot.core.cases.models import ApprovalRequest, ApprovalStatus, Case, CaseStatus
from teambot.core.errors import BadInput, InvalidStep, NotAllowed
from teambot.core.i18n import N_
from teambot.core.i18n import gettext as _
from teambot.core.policy.models import Policy
from teambot.core.policy.rules import require_category


class RecordSteps(CaseSteps):
    """Cancel and recategorise."""

    # ----- records kept clean ----------------------------------------------------------------

    async def cancel(
        self, team_id: str, number: int, actor: str, reason: str, duplicate_of: int | None = None, *,
        card: Card | None = None,
    ) -> Case:  # fmt: skip
        """Opened by mistake or twice: the case leaves every figure and nudge, stays in the timeline."""
        reason_text = checked_text(reason, "reason", required=True, limit=500)

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            if actor not in (case.opened_by, case.owner_id) and actor not in p.admins:
                raise NotAllowed(
                    _("Only whoever opened case #%(n)s (%(who)s), its owner or an admin can cancel it.")
                    % {"n": number, "who": mention(case.opened_by)},
                    _("Ask one of them; a case that is real but finished is resolved, not cancelled."),
                )
            if duplicate_of is not None:
                if duplicate_of == number:
                    raise BadInput(_("A case can't be a duplicate of itself."), _("Name the case that carries on."))
                other = await self.get_case(s, team_id, duplicate_of)
                if other.status == CaseStatus.CANCELLED:
                    raise InvalidStep(
                        _("Case #%(n)s is cancelled itself.") % {"n": duplicate_of}, _("Name the case that carries on.")
                    )
            withdrawn = []
            for req in (
                await s.exec(
                    select(ApprovalRequest).where(
                        ApprovalRequest.case_id == case.id, ApprovalRequest.status == ApprovalStatus.PENDING
                    )
                )
            ).all():
                req.status, req.decided_by, req.decided_at = ApprovalStatus.WITHDRAWN, actor, now
                req.decision_note = N_("case cancelled")  # recorded in the source language
                s.add(req)
                withdrawn.append(req.id)
            before = case.status.value
            case.status, case.cancelled_at = CaseStatus.CANCELLED, now
            case.cancel_reason, case.duplicate_of = reason_text, duplicate_of
            case.followup_due_at = None
            return "cancelled", {
                "reason": reason_text, "duplicate_of": duplicate_of, "was": before, "withdrawn": withdrawn,
            }  # fmt: skip

        return await self._change(team_id, number, actor, apply, card)

    async def recategorise(
        self, team_id: str, number: int, actor: str, category: str, *, card: Card | None = None
    ) -> Case:
        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            new = require_category(p, category)
            if new == case.category:
                raise InvalidStep(_("Case #%(n)s is already in %(category)s.") % {"n": number, "category": new},
                                  _("Nothing to do."))  # fmt: skip
            before, case.category = case.category, new
            return "recategorised", {"from": before, "to": new}

        return await self._change(team_id, number, actor, apply, card)
