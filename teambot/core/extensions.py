"""Plugs the scheduling work into a Container: the case hook, the due-item handlers, the
scheduler, and the `/recover shoutout | leaderboard | digest | snooze` commands."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError

from teambot.core import digest as digest_mod
from teambot.core import patterns
from teambot.core.commands import Commands, Context
from teambot.core.deadlines import Deadlines, on_case_event
from teambot.core.errors import BadInput, Conflict, NotAllowed
from teambot.core.grammar import Intent
from teambot.core.models_scheduling import TeamSchedule
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


SCHEDULE_SETTINGS = ("workhours", "targetclock", "patterns", "shoutouts", "timezone", "schedule")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_SETS = {"mon-fri": [0, 1, 2, 3, 4], "mon-sat": [0, 1, 2, 3, 4, 5], "all": [0, 1, 2, 3, 4, 5, 6]}


def _hhmm(text: str, usage: str) -> str:
    try:
        hh, mm = (int(x) for x in text.split(":"))
        if 0 <= hh < 24 and 0 <= mm < 60:
            return f"{hh:02d}:{mm:02d}"
    except ValueError:
        pass
    raise BadInput(f"{text!r} is not a time of day.", f"Use 24-hour HH:MM. Usage: {usage}")


def _count(text: str, low: int, high: int, what: str, usage: str) -> int:
    if not text.isdecimal() or not low <= int(text) <= high:
        raise BadInput(f"{text!r} is not a valid {what} ({low} to {high}).", f"Usage: {usage}")
    return int(text)


def apply_schedule_change(row: TeamSchedule, actor: str, is_admin: bool, setting: str, a: list[str]) -> str:
    """Edit the team's scheduling settings in place; a sentence saying what changed."""
    if setting not in ("timezone", "schedule") and not is_admin:
        raise NotAllowed(
            "Only a Teambot admin can change this setting.", "Anyone can read it: /recover policy schedule."
        )
    if setting == "workhours":
        usage = "/recover policy workhours 09:00 18:00 [mon-fri|mon-sat|all|mon,tue,...]"
        if len(a) < 2:
            raise BadInput("Give the start and end of the working day.", f"Usage: {usage}")
        start, end = _hhmm(a[0], usage), _hhmm(a[1], usage)
        if end <= start:
            raise BadInput("The working day must end after it starts.", f"Usage: {usage}")
        days = row.work_days
        if len(a) > 2:
            spec = a[2].lower()
            days = _DAY_SETS.get(spec) or []
            if not days:
                names = [d.strip()[:3] for d in spec.split(",")]
                if not names or any(n not in _DAYS for n in names):
                    raise BadInput(f"{a[2]!r} is not a list of days.", f"Usage: {usage}")
                days = sorted({_DAYS.index(n) for n in names})
        row.work_start, row.work_end, row.work_days = start, end, list(days)
        return f"Working hours are {start}–{end} on {', '.join(_DAYS[d] for d in row.work_days)}."
    if setting == "targetclock":
        if not a or a[0].lower() not in ("working", "wall"):
            raise BadInput("Say working or wall.", "Usage: /recover policy targetclock working|wall")
        row.targets_in_working_hours = a[0].lower() == "working"
        return "Time targets count " + (
            "working hours only." if row.targets_in_working_hours else "wall-clock hours."
        )
    if setting == "patterns":
        usage = "/recover policy patterns <cases per week> <rise %> <repeat-customer days>"
        if len(a) < 3:
            raise BadInput("Give three numbers.", f"Usage: {usage}")
        row.pattern_min_cases = _count(a[0], 2, 1000, "number of cases", usage)
        row.pattern_rise_percent = _count(a[1].rstrip("%"), 101, 10000, "rise in percent", usage)
        row.repeat_customer_days = _count(a[2], 1, 365, "number of days", usage)
        return (
            f"A pattern is {row.pattern_min_cases} cases in 7 days or {row.pattern_rise_percent}% of the usual; "
            f"a repeat customer has two cases within {row.repeat_customer_days} days."
        )
    if setting == "shoutouts":
        usage = "/recover policy shoutouts <per person per day>"
        row.shoutouts_per_day = _count(a[0] if a else "", 1, 50, "daily allowance", usage)
        return f"Each person may give {row.shoutouts_per_day} shout-outs a day."
    if setting == "timezone":
        usage = "/recover policy timezone @person Area/City"
        if len(a) < 2:
            raise BadInput("Name the person and their time zone.", f"Usage: {usage}")
        who = a[0].strip("<>@").lstrip("@")
        if who != actor and not is_admin:
            raise NotAllowed(
                "You can set only your own time zone.", f"Usage: /recover policy timezone @{actor} Area/City"
            )
        try:
            ZoneInfo(a[1])
        except (ZoneInfoNotFoundError, ValueError):
            raise BadInput(
                f"{a[1]!r} is not a time zone.", "Use an IANA name such as Europe/London."
            ) from None
        row.timezones = {**row.timezones, who: a[1]}
        return f"<@{who}> is in {a[1]}: their nudges wait for their working day there."
    return schedule_text(row)


def schedule_text(row: TeamSchedule) -> str:
    zones = (
        ", ".join(f"<@{u}> {z}" for u, z in sorted(row.timezones.items())) or "team time zone for everyone"
    )
    return "\n".join(
        [
            "Scheduling",
            f"  Working hours: {row.work_start}–{row.work_end} on {', '.join(_DAYS[d] for d in row.work_days)}",
            "  Time targets count: "
            + ("working hours" if row.targets_in_working_hours else "wall-clock hours"),
            f"  Patterns: {row.pattern_min_cases} cases in 7 days, or {row.pattern_rise_percent}% of the "
            f"previous 4 weeks' average; repeat customer within {row.repeat_customer_days} days",
            f"  Shout-outs: {row.shoutouts_per_day} per person per day",
            f"  Time zones: {zones}",
        ]
    )


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

    async def policy_set(self, intent: Intent, ctx: Context) -> Reply:
        """Scheduling settings live beside the policy; any other setting goes to the core as before."""
        setting = intent.args["setting"]
        if setting not in SCHEDULE_SETTINGS:
            return await Commands(self.c.service).run(intent, ctx)
        policy = await self.c.service.policy(ctx.team_id, ctx.user_id, ctx.platform)
        for _ in range(2):  # the second pass is for two admins creating the team's row at once
            async with self.c.db.session() as s:
                now = self.c.clock.now()
                row = await s.get(TeamSchedule, ctx.team_id) or TeamSchedule(
                    team_id=ctx.team_id, updated_at=now
                )
                message = apply_schedule_change(
                    row, ctx.user_id, ctx.user_id in policy.admins, setting, list(intent.args["values"])
                )
                if setting != "schedule":
                    row.updated_at = now
                    s.add(row)
                    try:
                        await s.commit()
                    except IntegrityError:
                        await s.rollback()
                        continue
                summary = schedule_text(row)
            return TextReply(text=summary if setting == "schedule" else f"{message}\n{summary}")
        raise Conflict("Another admin changed these settings at the same moment.", "Send the change again.")

    def table(self) -> dict[str, Any]:
        return {
            "policy_set": self.policy_set,
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
        sweep_seconds=settings.sweep_seconds,
        plan_seconds=300,  # planning digests is cheap and idempotent; the sweep does the sending
    )
    container.extras.update({"deadlines": dl, "scheduler": sched, "shoutouts": shouts})
    container.commands.extensions.update(SchedulingCommands(container, dl, shouts).table())
