"""`/recover policy` reads the team's settings; `/recover policy <setting> ...` changes one."""

from __future__ import annotations

from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import HandlerTable
from teambot.core.commands.replies import Reply
from teambot.core.policy.replies import PolicyReply
from teambot.core.policy.service import PolicyService
from teambot.core.policy.settings import PolicyChange


class PolicyHandlers:
    def __init__(self, service: PolicyService) -> None:
        self.s = service

    async def show(self, intent: i.ShowPolicy, ctx: Context) -> Reply:
        return PolicyReply(policy=await self.s.policy(ctx.team_id, ctx.user_id, ctx.platform), viewer=ctx.user_id)

    async def change(self, intent: i.ChangePolicy, ctx: Context) -> Reply:
        if intent.setting in ("schedule", "show"):  # the old way to read the scheduling part
            return await self.show(i.ShowPolicy(text=intent.text), ctx)
        change = PolicyChange(intent.setting, list(intent.values))
        message = await self.s.change_policy(ctx.team_id, ctx.user_id, change, ctx.platform)
        policy = await self.s.policy(ctx.team_id, ctx.user_id)
        return PolicyReply(public=False, policy=policy, viewer=ctx.user_id, message=message)

    def handlers(self) -> HandlerTable:
        return {i.ShowPolicy: self.show, i.ChangePolicy: self.change}
