"""The Actions port over the improvement loop's actions: what a Jira issue carries, and marking an
action done when its issue is done in Jira (as the `jira` actor, with the loop's timeline event)."""

from __future__ import annotations

from sqlmodel import col, select

from teambot.core.cases.models import Case
from teambot.core.cases.service import RecoveryService
from teambot.core.errors import NotFound
from teambot.core.i18n import gettext as _
from teambot.core.improvement.actions import close_action
from teambot.core.improvement.models import ActionStatus, Cause, ImprovementAction
from teambot.core.jira.ports import ActionInfo


class LoopActions:
    def __init__(self, service: RecoveryService, public_url: str) -> None:
        self.service = service
        self.public_url = public_url.rstrip("/")

    async def by_number(self, team_id: str, number: int) -> ImprovementAction:
        async with self.service.db.session() as s:
            row = (await s.exec(select(ImprovementAction).where(ImprovementAction.team_id == team_id,
                                                                ImprovementAction.number == number))).first()  # fmt: skip
        if row is None:
            raise NotFound(_("There is no action %(number)s in this team.") % {"number": number},
                           _("Open ones are listed with /recover actions."))  # fmt: skip
        return row

    async def get(self, team_id: str, action_id: int) -> ActionInfo:
        async with self.service.db.session() as s:
            a = await s.get(ImprovementAction, action_id)
            if a is None or a.team_id != team_id:
                raise NotFound(
                    _("There is no such action in this team."),
                    _("Open ones are listed with /recover actions."),
                )
            case = await s.get(Case, a.case_id)
            cause = await s.get(Cause, a.cause_id) if a.cause_id else None
        link = f"{self.public_url}/api/v1/cases/{case.number}" if case else ""
        why = cause.name if cause else (case.root_cause if case else None)
        return ActionInfo(a.id or 0, team_id, _("Action %(number)s: %(text)s") % {"number": a.number, "text": a.text}, why,
                          [(case.number, link)] if case else [], a.status != ActionStatus.OPEN)  # fmt: skip

    async def newest_by(self, team_id: str, actor: str) -> int | None:
        """The number of the newest action `actor` made in the team (the one their command just made)."""
        async with self.service.db.session() as s:
            return (await s.exec(
                select(ImprovementAction.number).where(ImprovementAction.team_id == team_id,
                                                       ImprovementAction.created_by == actor)
                .order_by(col(ImprovementAction.id).desc()).limit(1)
            )).first()  # fmt: skip

    async def mark_done(self, team_id: str, action_id: int, actor: str, note: str) -> None:
        async with self.service.db.session() as s:
            a = await s.get(ImprovementAction, action_id)
        if a is None or a.status != ActionStatus.OPEN:
            return
        await close_action(self.service, team_id, a.number, actor, done=True, note=note, system=True)
