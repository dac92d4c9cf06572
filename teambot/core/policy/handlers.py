"""`/recover policy` reads the team's settings; `/recover policy <setting> ...` changes one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from teambot.core.cases.service import RecoveryService
from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import HandlerTable
from teambot.core.commands.replies import Reply
from teambot.core.policy.replies import PolicyReply
from teambot.core.policy.settings import PolicyChange

Linked = Callable[[str], Awaitable[list[tuple[str, str]]]]


class PolicyHandlers:
    def __init__(self, service: RecoveryService, linked: Linked | None = None) -> None:
        self.s = service
        self.linked = linked  # what the team is linked to outside (Jira: site and project only)

    async def show(self, intent: i.ShowPolicy, ctx: Context) -> Reply:
        policy = await self.s.policy(ctx.team_id, ctx.user_id, ctx.platform)
        linked = await self.linked(ctx.team_id) if self.linked is not None else []
        return PolicyReply(policy=policy, viewer=ctx.user_id, linked=linked)

    async def change(self, intent: i.ChangePolicy, ctx: Context) -> Reply:
        if intent.setting in ("schedule", "show"):  # the old way to read the scheduling part
            return await self.show(i.ShowPolicy(text=intent.text), ctx)
        change = PolicyChange(intent.setting, list(intent.values))
        message = await self.s.change_policy(ctx.team_id, ctx.user_id, change, ctx.platform)
        policy = await self.s.policy(ctx.team_id, ctx.user_id)
        return PolicyReply(public=False, policy=policy, viewer=ctx.user_id, message=message)

    def handlers(self) -> HandlerTable:
        return {i.ShowPolicy: self.show, i.ChangePolicy: self.change}
