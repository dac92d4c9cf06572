"""Work in progress on a case: its next steps and its improvement flags."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.common import Card, CaseSteps, checked_text, user_ref
from teambot.core.cases.models import Case, ImprovementFlag, NextStep
from teambot.core.errors import InvalidStep, NotFound
from teambot.core.policy.models import Policy


class ProgressSteps(CaseSteps):
    """Next steps and flags."""

    # ----- next steps, flags ---------------------------------------------------------------

    async def add_step(
        self, team_id: str, number: int, actor: str, text: str, owner: str | None = None,
        due: datetime | None = None, *, card: Card | None = None,
    ) -> NextStep:  # fmt: skip
        step_text = checked_text(text, "next step", required=True, limit=1000)
        made: list[NextStep] = []

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            self._not_closed(case, "add a next step")
            count = (await s.exec(select(func.count()).where(NextStep.case_id == case.id))).one()
            who = user_ref(owner) if owner else (case.owner_id or actor)
            step = NextStep(
                team_id=team_id, case_id=case.id or 0, position=int(count) + 1, text=step_text or "",
                owner_id=who, due_at=due, created_by=actor, created_at=now,
            )  # fmt: skip
            s.add(step)
            made.append(step)
            return "step_added", {"position": step.position, "text": step_text, "owner": who, "due_at": due}

        await self._change(team_id, number, actor, apply, card)
        return made[-1]

    async def complete_step(
        self, team_id: str, number: int, position: int, actor: str, *, card: Card | None = None
    ) -> NextStep:
        done: list[NextStep] = []

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            step = (
                await s.exec(
                    select(NextStep).where(NextStep.case_id == case.id, NextStep.position == position)
                )
            ).first()
            if step is None:
                raise NotFound(
                    f"Case #{number} has no next step {position}.",
                    f"See its steps with /recover show {number}.",
                )
            if step.done:
                raise InvalidStep(f"Step {position} of case #{number} is already done.", "Nothing to do.")
            step.done, step.done_at, step.done_by = True, now, actor
            s.add(step)
            done.append(step)
            return "step_done", {"position": position, "text": step.text}

        await self._change(team_id, number, actor, apply, card)
        return done[-1]

    async def flag(self, team_id: str, number: int, actor: str, note: str, *, card: Card | None = None) -> Case:
        note_text = checked_text(note, "note", required=True, limit=1000)

        async def apply(s: AsyncSession, case: Case, p: Policy, now: datetime) -> tuple[str, dict[str, Any]]:
            s.add(
                ImprovementFlag(
                    team_id=team_id,
                    case_id=case.id or 0,
                    flagged_by=actor,
                    note=note_text or "",
                    flagged_at=now,
                )
            )
            return "flagged", {"note": note_text}

        return await self._change(team_id, number, actor, apply, card)
