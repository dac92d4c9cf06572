"""Plugs the scheduling work into a Container: the case hook, the due-item handlers, the
scheduler, and the `/recover shoutout | leaderboard | digest | snooze` commands."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from teambot.core import digest as digest_mod
from teambot.core import patterns
from teambot.core.commands import Context
from teambot.core.deadlines import Deadlines, on_case_event
from teambot.core.errors import BadInput
from teambot.core.grammar import Intent
from teambot.core.replies import DigestReply, LeaderboardReply, Reply, TextReply
from teambot.core.scheduler import Scheduler
from teambot.core.shoutouts import LeaderRow, Shoutouts
from teambot.core.summary import when

if TYPE_CHECKING:
    from teambot.bootstrap import Container


def leaderboard_text(rows: list[LeaderRow], days: int) -> str:
    if not rows:
        return f"No recoveries or shout-outs in the last {days} days yet."
    lines = [f"*Top recoverers, last {days} days*"]
    for i, r in enumerate(rows, 1):
        score = f", average score {r.avg_score:g}/5" if r.avg_score is not None else ""
        lines.append(f"{i}. <@{r.user}>: {r.recovered} recovered, {r.shoutouts} shout-outs{score}")
    return "\n".join(lines)


class SchedulingCommands:
    """The intents the grammar already parses and this module owns."""

    def __init__(self, container: Container, deadlines: Deadlines, shoutouts: Shoutouts) -> None:
        self.c = container
        self.deadlines = deadlines
        self.shoutouts = shoutouts

    async def shoutout(self, intent: Intent, ctx: Context) -> Reply:
        a = intent.args
        shout, case = await self.shoutouts.give(
            ctx.team_id, ctx.user_id, a["to"], a.get("message", ""), number=a.get("number"),
            channel_id=ctx.channel_id, platform=ctx.platform,
        )  # fmt: skip
        about = f" for case #{case.number}" if case else ""
        return TextReply(text=f"Shout-out to <@{shout.recipient}>{about} posted. Thank you for noticing.")

    async def leaderboard(self, intent: Intent, ctx: Context) -> Reply:
        rows = await self.shoutouts.leaderboard(ctx.team_id)
        return LeaderboardReply(rows=rows, days=30, text=leaderboard_text(rows, 30))

    async def digest(self, intent: Intent, ctx: Context) -> Reply:
        action = str(intent.args.get("action") or "preview").lower()
        now = self.c.clock.now()
        policy = await self.c.service.policy(ctx.team_id, ctx.user_id, ctx.platform)
        monday = digest_mod.current_monday(now, policy.digest_timezone)
        if action in ("preview", "this", "now"):
            d = await digest_mod.compute(self.c.db, ctx.team_id, monday, now, preview=True)
        elif action in ("last", "previous"):
            d = await digest_mod.compute(self.c.db, ctx.team_id, monday - timedelta(days=7), now)
        elif "-w" in action:
            week = digest_mod.parse_week(action)
            d = await digest_mod.compute(self.c.db, ctx.team_id, week, now, preview=week >= monday)
        else:
            raise BadInput(
                f"{action!r} is not a digest I know.", "Use /recover digest, digest last or digest 2026-W47."
            )
        return DigestReply(digest=d, text=digest_mod.digest_text(d))

    async def snooze(self, intent: Intent, ctx: Context) -> Reply:
        n = intent.args["number"]
        _, until = await self.deadlines.snooze(ctx.team_id, n, ctx.user_id, intent.args.get("for"))
        return await self.c.commands.card(
            ctx.team_id,
            n,
            f"Follow-up nudge for case #{n} snoozed until {when(until, ctx.tz)}.",
            public=False,
        )

    def table(self) -> dict[str, Any]:
        return {
            "shoutout": self.shoutout,
            "leaderboard": self.leaderboard,
            "digest": self.digest,
            "snooze": self.snooze,
        }


def install(container: Container) -> None:
    """Called by bootstrap.build: everything lives in `container.extras`."""
    dl = Deadlines(container.db, container.clock, container.notifier)
    patterns.install(dl)
    digest_mod.install(dl)
    container.service.hooks.append(on_case_event)
    shouts = Shoutouts(container.db, container.clock, container.notifier)

    async def plan(now: Any) -> None:
        await digest_mod.plan_digests(dl, now)

    settings = container.settings
    sched = Scheduler(
        dl,
        [plan],
        sweep_seconds=getattr(settings, "sweep_seconds", 15),
        plan_seconds=getattr(settings, "plan_seconds", 300),
    )
    container.extras.update({"deadlines": dl, "scheduler": sched, "shoutouts": shouts})
    container.commands.extensions.update(SchedulingCommands(container, dl, shouts).table())
