"""`/recover snooze <case> [for 2h|1d]`: hold the follow-up nudge back."""

from __future__ import annotations

from teambot.core.cases.handlers import case_card
from teambot.core.cases.summary import when
from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import HandlerTable
from teambot.core.commands.replies import Reply
from teambot.core.scheduling.deadlines import Deadlines


class SchedulingHandlers:
    def __init__(self, deadlines: Deadlines) -> None:
        self.deadlines = deadlines

    async def snooze(self, intent: i.Snooze, ctx: Context) -> Reply:
        n = intent.number
        _, until = await self.deadlines.snooze(ctx.team_id, n, ctx.user_id, intent.duration)
        message = f"Follow-up nudge for case #{n} snoozed until {when(until, ctx.tz)}."
        return await case_card(self.deadlines.db, ctx.team_id, n, message, public=False)

    def handlers(self) -> HandlerTable:
        return {i.Snooze: self.snooze}
