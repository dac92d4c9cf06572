"""`/recover digest [last|YYYY-Www]` (this week so far, or a past week) and `/recover spend`."""

from __future__ import annotations

from datetime import timedelta

from teambot.core.cases.service import RecoveryService
from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import HandlerTable
from teambot.core.commands.replies import Reply, TextReply
from teambot.core.errors import BadInput
from teambot.core.i18n import gettext as _
from teambot.core.insights import digest as digests
from teambot.core.insights import spend as spending
from teambot.core.insights.replies import DigestReply
from teambot.core.policy.rules import require_admin


class InsightHandlers:
    def __init__(self, service: RecoveryService) -> None:
        self.s = service

    async def digest(self, intent: i.Digest, ctx: Context) -> Reply:
        action = (intent.action or "preview").lower()
        db, now = self.s.db, self.s.clock.now()
        policy = await self.s.policy(ctx.team_id, ctx.user_id, ctx.platform)
        monday = digests.current_monday(now, policy.digest_timezone)
        if action in ("preview", "this", "now"):
            digest = await digests.compute(db, ctx.team_id, monday, now, preview=True)
        elif action in ("last", "previous"):
            digest = await digests.compute(db, ctx.team_id, monday - timedelta(days=7), now)
        elif "-w" in action:
            week = digests.parse_week(action)
            digest = await digests.compute(db, ctx.team_id, week, now, preview=week >= monday)
        else:
            raise BadInput(
                _("%(action)r is not a digest I know.") % {"action": action},
                _("Use /recover digest, digest last or digest 2026-W47."),
            )
        return DigestReply(digest=digest, text=digests.digest_text(digest))

    async def spend(self, intent: i.Spend, ctx: Context) -> Reply:
        policy = await self.s.policy(ctx.team_id, ctx.user_id, ctx.platform)
        spending.require_spend_reader(policy, ctx.user_id)
        period = spending.parse_period(intent.period, self.s.clock.now(), policy.digest_timezone)
        sp = await spending.compute_spend(self.s.db, policy, period)
        return TextReply(
            text=spending.spend_text(sp), title=_("Compensation, %(period)s") % {"period": period.label}
        )

    async def export(self, intent: i.Export, ctx: Context) -> Reply:
        """The CSV is a file for a spreadsheet, written where Teambot runs: say how to get it."""
        policy = await self.s.policy(ctx.team_id, ctx.user_id, ctx.platform)
        require_admin(policy, ctx.user_id, _("export the team's case records"))
        return TextReply(
            title=_("Export the case records"),
            text=_(
                "Every case with its figures, one row each, comes as a CSV file from the command line "
                "where Teambot runs:\n`teambot export --csv -o cases.csv --team %(team)s`\n"
                "Cells that a spreadsheet would run as a formula are written as text. One customer's "
                "data: /recover export-customer <name>."
            )
            % {"team": ctx.team_id},
        )

    def handlers(self) -> HandlerTable:
        return {i.Digest: self.digest, i.Spend: self.spend, i.Export: self.export}
