"""`/recover digest [last|YYYY-Www]`: this week so far, or a past week."""

from __future__ import annotations

from datetime import timedelta

from teambot.core.cases.service import RecoveryService
from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import HandlerTable
from teambot.core.commands.replies import Reply
from teambot.core.errors import BadInput
from teambot.core.insights import digest as digests
from teambot.core.insights.replies import DigestReply


class InsightHandlers:
    def __init__(self, service: RecoveryService) -> None:
        self.s = service

    async def digest(self, intent: i.Digest, ctx: Context) -> Reply:
        action = (intent.action or "preview").lower()
        db, now = self.s.db, self.s.clock.now()
        policy = await self.s.policy(ctx.team_id, ctx.user_id, ctx.platform)
        monday = digests.current_monday(now, policy.digest_timezone)
        if action in ("preview", "this", "now"):
            d = await digests.compute(db, ctx.team_id, monday, now, preview=True)
        elif action in ("last", "previous"):
            d = await digests.compute(db, ctx.team_id, monday - timedelta(days=7), now)
        elif "-w" in action:
            week = digests.parse_week(action)
            d = await digests.compute(db, ctx.team_id, week, now, preview=week >= monday)
        else:
            raise BadInput(
                f"{action!r} is not a digest I know.", "Use /recover digest, digest last or digest 2026-W47."
            )
        return DigestReply(digest=d, text=digests.digest_text(d))

    def handlers(self) -> HandlerTable:
        return {i.Digest: self.digest}
