"""`/recover snooze <case> [for 2h|1d]`: hold the follow-up nudge back."""

from __future__ import annotations

from teambot.core.cases.handlers import case_card
from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import HandlerTable
from teambot.core.commands.replies import Reply
from teambot.core.i18n import format_when
from teambot.core.i18n import gettext as _
from teambot.core.scheduling.deadlines import Deadlines


class SchedulingHandlers:
    def __init__(self, deadlines: Deadlines) -> None:
        self.deadlines = deadlines

    async def snooze(self, intent: i.Snooze, ctx: Context) -> Reply:
        number = intent.number
        until = (await self.deadlines.snooze(ctx.team_id, number, ctx.user_id, intent.duration))[1]
        message = _("Follow-up nudge for case #%(number)s snoozed until %(when)s.") % {
            "number": number, "when": format_when(until, ctx.tz)}  # fmt: skip
        return await case_card(self.deadlines.db, ctx.team_id, number, message, public=False)

    def handlers(self) -> HandlerTable:
        return {i.Snooze: self.snooze}
