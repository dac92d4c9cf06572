"""The improvement commands: causes (file, rank, name), and actions followed to done."""

from __future__ import annotations

import asyncio

from teambot.core.cases.replies import CaseReply
from teambot.core.cases.service import RecoveryService
from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import CommandHandler, HandlerTable
from teambot.core.commands.replies import ChoiceReply, Reply, TextReply
from teambot.core.i18n import format_when
from teambot.core.i18n import gettext as _
from teambot.core.improvement import actions as act
from teambot.core.improvement import costs, meaning, render
from teambot.core.improvement import vocabulary as vocab
from teambot.core.improvement.home import person_home
from teambot.core.insights import spend as spending
from teambot.core.policy.rules import load_policy
from teambot.core.scheduling.deadlines import Deadlines
from teambot.core.scheduling.working_hours import snooze_until, zone_of
from teambot.core.when import parse_due

MAX_CHOICES = 10


class ImprovementHandlers:
    def __init__(
        self, service: RecoveryService, deadlines: Deadlines, case_resolve: CommandHandler, case_home: CommandHandler,
        case_flag: CommandHandler,
    ) -> None:  # fmt: skip
        self.s = service
        self.db = service.db
        self.dl = deadlines
        self.case_resolve = case_resolve
        self.case_home = case_home
        self.case_flag = case_flag

    async def flag(self, intent: i.Flag, ctx: Context) -> Reply:
        """A flag, with the button that makes it an action (owned by whoever presses it; no due date)."""
        reply = await self.case_flag(intent, ctx)
        if isinstance(reply, CaseReply) and intent.note:
            reply.choices = [(_("Make it an action"), f"action {intent.number} {intent.note[:200]}")]
        return reply

    async def home(self, intent: i.Home, ctx: Context) -> Reply:
        """The person's home, with the causes to fix (leads, managers, admins) and the actions they own."""
        return await person_home(self.db, ctx.team_id, ctx.user_id, self.s.clock.now(), ctx.tz)

    # ----- causes --------------------------------------------------------------------------

    async def resolve(self, intent: i.Resolve, ctx: Context) -> Reply:
        """The case's resolve, then where its root cause was filed, with a one-click change. A cause
        chosen in the form is filed in the resolve's own transaction (one request, one step)."""
        chosen = None
        if intent.cause:  # checked before anything changes
            async with self.db.read() as s:
                found = vocab.require(await vocab.causes_of(s, ctx.team_id), intent.cause)
                chosen = vocab.CauseInfo(found.id or 0, found.name)
        elif not meaning.loaded():
            async with self.db.read() as s:
                compares = bool(await vocab.causes_of(s, ctx.team_id))
            if compares:  # the resolve will compare by meaning: load the model off the event loop, once
                await asyncio.to_thread(meaning.model)
        token = vocab.CHOSEN.set(chosen)
        try:
            reply = await self.case_resolve(intent, ctx)
        finally:
            vocab.CHOSEN.reset(token)
        if not isinstance(reply, CaseReply) or reply.detail is None:
            return reply
        case, number = reply.detail.case, intent.number
        async with self.db.read() as s:
            cause = await vocab.cause_of(s, case)
            known = bool(await vocab.causes_of(s, ctx.team_id))
        if cause is not None:
            reply.message += " " + _("Root cause filed under *%(cause)s*.") % {"cause": cause.name}
            reply.choices = [(_("Change cause"), f"cause {number}")]
        elif known:
            reply.message += " " + _(
                "Its root cause is close to none of the team's causes, so it is not filed yet."
            )
            reply.choices = [(_("File the root cause"), f"cause {number}")]
        return reply

    async def file_cause(self, intent: i.FileCause, ctx: Context) -> Reply:
        nums = intent.numbers
        if not intent.cause:
            return await self._which_cause(ctx, nums)
        now = self.s.clock.now()
        async with self.db.session() as s:
            policy = await load_policy(s, ctx.team_id, ctx.user_id, now)
            numbers = [case.number for case in await vocab.case_numbers(s, ctx.team_id, nums)]
            created = False
            if intent.new:
                vocab.require_cause_keeper(policy, ctx.user_id)
                found = vocab.find(await vocab.causes_of(s, ctx.team_id), intent.cause)
                created = found is None
                found = found or await vocab.add(s, ctx.team_id, ctx.user_id, intent.cause, now)
            else:
                found = vocab.require(await vocab.causes_of(s, ctx.team_id), intent.cause)
            cause = vocab.CauseInfo(found.id or 0, found.name)  # plain values, kept past the session
            await s.commit()
        await vocab.file_cases(self.s, ctx.team_id, numbers, ctx.user_id, cause)
        values = {"cases": render.numbers(numbers), "cause": cause.name}
        if created:
            return TextReply(text="✓ " + _("%(cases)s filed under *%(cause)s* (a new cause).") % values)
        return TextReply(text="✓ " + _("%(cases)s filed under *%(cause)s*.") % values)

    async def _which_cause(self, ctx: Context, nums: list[int]) -> Reply:
        async with self.db.read() as s:
            cases = await vocab.case_numbers(s, ctx.team_id, nums)
            causes = await vocab.causes_of(s, ctx.team_id)
            now_under = {case.number: await vocab.cause_of(s, case) for case in cases}
        listed = ",".join(str(n) for n in nums)
        lines = []
        for case in cases:
            under = now_under[case.number]
            values = {"number": case.number, "words": case.root_cause or _("no root cause yet")}
            if under:
                lines.append(
                    _("#%(number)s: “%(words)s”, filed under *%(cause)s*") % {**values, "cause": under.name}
                )
            else:
                lines.append(_("#%(number)s: “%(words)s”, not filed") % values)
        if not causes:
            lines.append(_("The team has no causes yet. Admins and managers name one: /recover cause "
                           "%(cases)s new <name>, or /recover policy cause add <name>.") % {"cases": listed})  # fmt: skip
            return TextReply(text="\n".join(lines))
        lines.append(_("File under which cause? (or /recover cause %(cases)s <cause>)") % {"cases": listed})
        choices = [(cause.name, f"cause {listed} {cause.name}") for cause in causes[:MAX_CHOICES]]
        return ChoiceReply(text="\n".join(lines), choices=choices)

    async def causes(self, intent: i.Causes, ctx: Context) -> Reply:
        policy = await self.s.policy(ctx.team_id, ctx.user_id, ctx.platform)
        spending.require_spend_reader(policy, ctx.user_id)
        period = spending.parse_period(intent.period, self.s.clock.now(), policy.digest_timezone)
        report = await costs.report(self.db, policy, period)
        text = render.causes_text(report)
        if report.groups:
            return ChoiceReply(
                text=text, choices=[render.group_choice(g) for g in report.groups[:MAX_CHOICES]]
            )
        return TextReply(text=text, title=_("What to fix first, %(period)s") % {"period": period.label})

    async def change_causes(self, intent: i.ChangeCauses, ctx: Context) -> Reply:
        async with self.db.session() as s:
            policy = await load_policy(s, ctx.team_id, ctx.user_id, self.s.clock.now())
            message = await vocab.change_vocabulary(
                s, policy, ctx.user_id, intent.op, intent.args, self.s.clock.now()
            )
            await s.commit()
        return TextReply(text=f"✓ {message}")

    # ----- actions -------------------------------------------------------------------------

    async def create_action(self, intent: i.CreateAction, ctx: Context) -> Reply:
        now = self.s.clock.now()
        due = parse_due(intent.due, now, ctx.tz) if intent.due else None
        action = await act.create_action(
            self.s, ctx.team_id, intent.number, ctx.user_id, intent.what, intent.owner, due
        )
        values = {
            "number": action.number, "owner": f"<@{action.owner}>", "text": action.text,
            "due": render.when(action.due_at, ctx.tz), "case": action.case_number, "cause": action.cause,
        }  # fmt: skip
        if action.cause:
            said = _("Improvement action %(number)s for %(owner)s: %(text)s · %(due)s (case #%(case)s, cause "
                     "*%(cause)s*). Done: /recover action done %(number)s [what changed].") % values  # fmt: skip
        else:
            said = _("Improvement action %(number)s for %(owner)s: %(text)s · %(due)s (case #%(case)s (its case has "
                     "no cause yet)). Done: /recover action done %(number)s [what changed].") % values  # fmt: skip
        return TextReply(public=True, text="✓ " + said)

    async def actions(self, intent: i.Actions, ctx: Context) -> Reply:
        which = intent.which if intent.which in ("open", "mine", "done", "dropped", "all") else "open"
        status = None if which == "all" else ("open" if which == "mine" else which)
        found = await act.list_actions(self.db, ctx.team_id, status, ctx.user_id if which == "mine" else None)
        return TextReply(text=render.actions_text(found, which, self.s.clock.now(), ctx.tz))

    async def close_action(self, intent: i.CloseAction, ctx: Context) -> Reply:
        done = not isinstance(intent, i.DropAction)
        action = await act.close_action(
            self.s, ctx.team_id, intent.action, ctx.user_id, done=done, note=intent.note
        )
        values = {
            "who": f"<@{ctx.user_id}>",
            "number": action.number,
            "text": action.text,
            "outcome": action.outcome,
        }
        if done and action.outcome:
            said = _("%(who)s marked action %(number)s (%(text)s) done: %(outcome)s.") % values
        elif done:
            said = _("%(who)s marked action %(number)s (%(text)s) done.") % values
        elif action.outcome:
            said = _("%(who)s marked action %(number)s (%(text)s) dropped: %(outcome)s.") % values
        else:
            said = _("%(who)s marked action %(number)s (%(text)s) dropped.") % values
        return TextReply(public=True, text="✓ " + said)

    async def snooze_action(self, intent: i.SnoozeAction, ctx: Context) -> Reply:
        now = self.s.clock.now()
        policy = await self.s.policy(ctx.team_id, ctx.user_id, ctx.platform)
        until = snooze_until(intent.duration, now, policy, zone_of(policy, ctx.user_id))
        await act.snooze_action(self.dl, ctx.team_id, intent.action, until)
        moved = format_when(until, str(zone_of(policy, ctx.user_id)))
        return TextReply(text="✓ " + _("Action %(number)s's reminder moved to %(when)s.") % {
            "number": intent.action, "when": moved})  # fmt: skip

    def handlers(self) -> HandlerTable:
        return {
            i.Resolve: self.resolve, i.Home: self.home, i.Flag: self.flag, i.FileCause: self.file_cause, i.Causes: self.causes,
            i.ChangeCauses: self.change_causes, i.CreateAction: self.create_action, i.Actions: self.actions,
            i.CloseAction: self.close_action, i.DropAction: self.close_action, i.SnoozeAction: self.snooze_action,
        }  # fmt: skip
