"""`/recover shoutout @person [case] <why>` and `/recover leaderboard`."""

from __future__ import annotations

from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import HandlerTable
from teambot.core.commands.replies import Reply, TextReply
from teambot.core.recognition.replies import LeaderboardReply
from teambot.core.recognition.shoutouts import LeaderRow, Shoutouts

LEADERBOARD_DAYS = 30


def leaderboard_text(rows: list[LeaderRow], days: int) -> str:
    if not rows:
        return f"No recoveries or shout-outs in the last {days} days yet."
    lines = [f"*Top recoverers, last {days} days*"]
    for n, row in enumerate(rows, 1):
        score = f", average score {row.avg_score:g}/5" if row.avg_score is not None else ""
        lines.append(f"{n}. <@{row.user}>: {row.recovered} recovered, {row.shoutouts} shout-outs{score}")
    return "\n".join(lines)


class RecognitionHandlers:
    def __init__(self, shoutouts: Shoutouts) -> None:
        self.shoutouts = shoutouts

    async def shoutout(self, intent: i.Shoutout, ctx: Context) -> Reply:
        shout, case = await self.shoutouts.give(
            ctx.team_id, ctx.user_id, intent.to, intent.message, number=intent.number,
            channel_id=ctx.channel_id, platform=ctx.platform,
        )  # fmt: skip
        about = f" for case #{case.number}" if case else ""
        return TextReply(text=f"Shout-out to <@{shout.recipient}>{about} posted. Thank you for noticing.")

    async def leaderboard(self, intent: i.Leaderboard, ctx: Context) -> Reply:
        rows = await self.shoutouts.leaderboard(ctx.team_id)
        return LeaderboardReply(rows=rows, days=LEADERBOARD_DAYS, text=leaderboard_text(rows, LEADERBOARD_DAYS))

    def handlers(self) -> HandlerTable:
        return {i.Shoutout: self.shoutout, i.Leaderboard: self.leaderboard}
