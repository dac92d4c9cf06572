"""Who owns a case: claiming it and handing it over."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.common import Card, CaseSteps, mention, user_ref
from teambot.core.cases.models import Case, CaseStatus
from teambot.core.errors import BadInput, InvalidStep, NotAllowed
from teambot.core.policy.models import Policy


class OwnershipSteps(CaseSteps):
    """Claim and handover."""

    async def claim(self, team_id: str, number: int, actor: str, *, card: Card | None = None) -> Case:
        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            self._not_closed(case, "claim it")
            if case.owner_id == actor:
                raise InvalidStep(f"You already own case #{number}.", "Nothing to do.")
            if case.owner_id is not None:
                raise InvalidStep(
                    f"Case #{number} is already owned by {mention(case.owner_id)}.",
                    f"Ask them to hand it over: /recover handover {number} @you.",
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
            raise BadInput("Who should own it?", f"Usage: /recover handover {number} @person")

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            self._not_closed(case, "hand it over")
            self._needs_owner(case, "hand it over")
            if actor != case.owner_id and actor not in p.admins:
                raise NotAllowed(
                    f"Only the owner ({mention(case.owner_id)}) or an admin can hand case #{number} over.",
                    "Ask the owner to hand it to you.",
                )
            if target == case.owner_id:
                raise InvalidStep(f"{mention(target)} already owns case #{number}.", "Nothing to do.")
            previous = case.owner_id
            case.owner_id = target
            return "handed_over", {"from": previous, "to": target}

        case = await self._change(team_id, number, actor, apply, card)
        await self._tell_user(
            case, target, "handover", f"{mention(actor)} handed case #{number} to you: {case.problem}"
        )
        return case
