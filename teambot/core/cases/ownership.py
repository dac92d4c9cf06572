"""Who owns a case: claiming it and handing it over."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.common import Card, CaseSteps, mention, user_ref
from teambot.core.cases.models import Case, CaseStatus
from teambot.core.errors import BadInput, InvalidStep, NotAllowed
from teambot.core.i18n import gettext as _
from teambot.core.policy.models import Policy


def _handed(actor: str, case: Case) -> str:
    """What the new owner reads, in their language (`_tell_user` enters it)."""
    return _("%(who)s handed case #%(n)s to you: %(problem)s") % {
        "who": mention(actor), "n": case.number, "problem": case.problem}  # fmt: skip


class OwnershipSteps(CaseSteps):
    """Claim and handover."""

    async def claim(self, team_id: str, number: int, actor: str, *, card: Card | None = None) -> Case:
        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            self._not_closed(case, "claim")
            if case.owner_id == actor:
                raise InvalidStep(_("You already own case #%(n)s.") % {"n": number}, _("Nothing to do."))
            if case.owner_id is not None:
                raise InvalidStep(
                    _("Case #%(n)s is already owned by %(who)s.") % {"n": number, "who": mention(case.owner_id)},
                    _("Ask them to hand it over: /recover handover %(n)s @you.") % {"n": number},
                )
            case.owner_id = actor
            case.owned_at = case.owned_at or now
            if case.status == CaseStatus.OPEN:
                case.status = CaseStatus.OWNED
            return "claimed", {"minutes_to_own": round((now - case.opened_at).total_seconds() / 60, 1)}

        return await self._change(team_id, number, actor, apply, card)

    async def handover(self, team_id: str, number: int, actor: str, to: str, *, card: Card | None = None) -> Case:
        target = user_ref(to)
        if not target:
            raise BadInput(_("Who should own it?"), _("Usage: /recover handover %(n)s @person") % {"n": number})

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            self._not_closed(case, "handover")
            self._needs_owner(case, "handover")
            if actor != case.owner_id and actor not in p.admins:
                raise NotAllowed(
                    _("Only the owner (%(who)s) or an admin can hand case #%(n)s over.")
                    % {"who": mention(case.owner_id), "n": number},
                    _("Ask the owner to hand it to you."),
                )
            if target == case.owner_id:
                raise InvalidStep(_("%(who)s already owns case #%(n)s.") % {"who": mention(target), "n": number},
                                  _("Nothing to do."))  # fmt: skip
            previous = case.owner_id
            case.owner_id = target
            return "handed_over", {"from": previous, "to": target}

        case = await self._change(team_id, number, actor, apply, card)
        await self._tell_user(case, target, "handover", partial(_handed, actor, case))
        return case
