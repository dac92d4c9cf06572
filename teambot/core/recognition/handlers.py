"""`/recover shoutout @person [case] <why>` and `/recover leaderboard`."""

from __future__ import annotations

from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import HandlerTable
from teambot.core.commands.replies import Reply, TextReply
from teambot.core.i18n import format_number, ngettext
from teambot.core.i18n import gettext as _
from teambot.core.recognition.replies import LeaderboardReply
from teambot.core.recognition.shoutouts import LeaderRow, Shoutouts

LEADERBOARD_DAYS = 30


def leaderboard_text(rows: list[LeaderRow], days: int) -> str:
    if not rows:
        return ngettext(
            "No recoveries or shout-outs in the last %(count)s day yet.",
            "No recoveries or shout-outs in the last %(count)s days yet.",
            days,
        ) % {"count": days}
    lines = [ngettext("*Top recoverers, last %(count)s day*", "*Top recoverers, last %(count)s days*", days)
             % {"count": days}]  # fmt: skip
    for rank, row in enumerate(rows, 1):
        values = {"person": f"<@{row.user}>", "recovered": row.recovered, "shoutouts": row.shoutouts}
        if row.avg_score is not None:
            said = _("%(person)s: %(recovered)s recovered, %(shoutouts)s shout-outs, average score %(score)s/5") % {
                **values, "score": format_number(row.avg_score)}  # fmt: skip
        else:
            said = _("%(person)s: %(recovered)s recovered, %(shoutouts)s shout-outs") % values
        lines.append(f"{rank}. {said}")
    return "\n".join(lines)


class RecognitionHandlers:
    def __init__(self, shoutouts: Shoutouts) -> None:
        self.shoutouts = shoutouts

    async def shoutout(self, intent: i.Shoutout, ctx: Context) -> Reply:
        shout, case = await self.shoutouts.give(
            ctx.team_id, ctx.user_id, intent.to, intent.message, number=intent.number,
            channel_id=ctx.channel_id, platform=ctx.platform,
        )  # fmt: skip
        if case:
            said = _("Shout-out to %(person)s for case #%(number)s posted. Thank you for noticing.") % {
                "person": f"<@{shout.recipient}>", "number": case.number}  # fmt: skip
        else:
            said = _("Shout-out to %(person)s posted. Thank you for noticing.") % {
                "person": f"<@{shout.recipient}>"
            }
        return TextReply(text=said)

    async def leaderboard(self, intent: i.Leaderboard, ctx: Context) -> Reply:
        rows = await self.shoutouts.leaderboard(ctx.team_id)
        return LeaderboardReply(
            rows=rows, days=LEADERBOARD_DAYS, text=leaderboard_text(rows, LEADERBOARD_DAYS)
        )

    def handlers(self) -> HandlerTable:
        return {i.Shoutout: self.shoutout, i.Leaderboard: self.leaderboard}
