"""The case commands: each a small function from a typed intent to a reply.

What a step says on the case's card goes to the channel, so it is said in the team's language
(`said`); lists, notes and questions answer the person who asked, in theirs.
"""

from __future__ import annotations

import re
from datetime import datetime

from teambot.core.cases import replies as r
from teambot.core.cases.common import Card
from teambot.core.cases.followup import customer_language, draft_followup
from teambot.core.cases.home import home
from teambot.core.cases.opening import NearMissCategory
from teambot.core.cases.queries import case_detail, list_cases
from teambot.core.cases.service import RecoveryService
from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import HandlerTable
from teambot.core.commands.replies import ChoiceReply, FormReply, Reply, TextReply
from teambot.core.db import Database
from teambot.core.i18n import N_, use_locale
from teambot.core.i18n import gettext as _
from teambot.core.when import parse_due


async def case_card(db: Database, team_id: str, number: int, message: str = "", public: bool = True) -> r.CaseReply:
    """The card every case step answers with, read after the step committed."""
    return r.CaseReply(public=public, detail=await case_detail(db, team_id, number), message=message)


def near_miss_reply(text: str, typed: str, meant: str) -> Reply:
    """`#delivry`: ask rather than open a case in a category nobody meant (or none at all)."""
    tag = "#" + meant.replace(" ", "-")
    fixed = re.sub(rf"(?<!\S)#{re.escape(typed)}(?![\w-])", tag, text, count=1)
    plain = re.sub(rf"(?<!\S)#{re.escape(typed)}(?![\w-])", typed, text, count=1)
    return ChoiceReply(
        text=_("There is no category #%(typed)s, so nothing was opened. Did you mean %(tag)s?")
        % {"typed": typed, "tag": tag},
        choices=[(_("Open it in %(tag)s") % {"tag": tag}, fixed), (_("Open it without a category"), plain)],
    )


_HOW = {"in_person": N_("in person"), "phone": N_("phone"), "email": N_("email"), "chat": N_("chat")}


class CaseHandlers:
    def __init__(self, service: RecoveryService) -> None:
        self.s = service
        self.db = service.db

    async def card(self, team_id: str, number: int, message: str = "", public: bool = True) -> r.CaseReply:
        return await case_card(self.db, team_id, number, message, public)

    @staticmethod
    def shown(card: Card, message: str) -> r.CaseReply:
        """The card a step answers with: its detail was read in the step's own transaction."""
        assert card.detail is not None
        return r.CaseReply(public=True, detail=card.detail, message=message)

    def said(self, ctx: Context, card: Card, message: str, **values: object) -> r.CaseReply:
        """`shown`, with `message` (marked with N_) said in the team's language: it goes to the channel."""
        with use_locale(ctx.team_language):
            return self.shown(card, _(message) % values)

    # ----- reading -------------------------------------------------------------------------

    async def form(self, intent: i.OpenForm, ctx: Context) -> Reply:
        return FormReply(form="open")

    async def open(self, intent: i.Open, ctx: Context) -> Reply:
        me = ctx.user_id
        try:
            # `#category` words are read against the team's vocabulary inside the opening transaction.
            opened = await self.s.open_case(
                ctx.team_id, ctx.channel_id, me, intent.problem, platform=ctx.platform,
                customer=intent.customer, wants=intent.wants, category=intent.category,
                severity=intent.severity, own=intent.own, source_ref=ctx.source_ref, email=intent.email,
                direct=ctx.direct, tag=True, language=intent.language,
            )  # fmt: skip
        except NearMissCategory as miss:
            return near_miss_reply(intent.text, miss.typed, miss.meant)
        detail = opened.detail or await case_detail(self.db, ctx.team_id, opened.case.number)
        with use_locale(ctx.team_language):
            msg = _("%(who)s opened case #%(n)s.") % {"who": f"<@{me}>", "n": opened.case.number}
        return r.CaseReply(public=True, detail=detail, message=msg, opened=opened)

    async def list_open(self, intent: i.ListOpen, ctx: Context) -> Reply:
        cases = await list_cases(self.db, ctx.team_id)
        return r.ListReply(title=_("Open recovery cases"), cases=cases, empty=_("No open cases. Nice."))

    async def mine(self, intent: i.Mine, ctx: Context) -> Reply:
        cases = await list_cases(self.db, ctx.team_id, owner=ctx.user_id)
        return r.ListReply(title=_("Cases you own"), cases=cases, empty=_("You own no open cases."))

    async def home(self, intent: i.Home, ctx: Context) -> Reply:
        return await home(self.db, ctx.team_id, ctx.user_id)

    async def show(self, intent: i.Show, ctx: Context) -> Reply:
        return await self.card(ctx.team_id, intent.number, public=False)

    async def timeline(self, intent: i.Timeline, ctx: Context) -> Reply:
        return r.TimelineReply(detail=await case_detail(self.db, ctx.team_id, intent.number))

    async def draft(self, intent: i.Draft, ctx: Context) -> Reply:
        detail = await case_detail(self.db, ctx.team_id, intent.number)
        with use_locale(customer_language(detail.case, detail.policy)):  # the letter is the customer's
            text = draft_followup(detail, tz=ctx.tz)
        return r.DraftReply(detail=detail, text=text)

    async def approvals(self, intent: i.Approvals, ctx: Context) -> Reply:
        return r.ApprovalsReply(approvals=await self.s.pending_approvals(ctx.team_id))

    async def decide(self, intent: i.Approve, ctx: Context) -> Reply:
        approve = not isinstance(intent, i.Deny)
        card = Card()
        req, _ = await self.s.decide(ctx.team_id, intent.approval_id, ctx.user_id, approve, intent.note, card=card)
        said = N_("%(who)s approved %(gesture)s (request %(id)s).") if approve else N_(
            "%(who)s denied %(gesture)s (request %(id)s)."
        )
        return self.said(ctx, card, said, who=f"<@{ctx.user_id}>", gesture=req.gesture, id=req.id)

    async def customer(self, intent: i.CustomerHistory, ctx: Context) -> Reply:
        cust, cases = await self.s.customer(ctx.team_id, intent.customer)
        notes = "\n".join(f"• {n['text']} (<@{n['by']}>)" for n in cust.notes) or _("No notes yet.")
        title = "\n".join([_("%(name)s: notes") % {"name": cust.name}, notes, _("Cases")])
        return r.ListReply(title=title, cases=cases, empty=_("No cases."))

    async def note(self, intent: i.NoteCustomer, ctx: Context) -> Reply:
        cust = await self.s.note_customer(ctx.team_id, ctx.user_id, intent.customer, intent.note)
        return TextReply(text=_("Noted for %(name)s: %(note)s") % {"name": cust.name, "note": intent.note})

    # ----- steps on one case -----------------------------------------------------------------

    async def claim(self, intent: i.Claim, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        await self.s.claim(ctx.team_id, n, me, card=(card := Card()))
        return self.said(ctx, card, N_("%(who)s owns case #%(n)s now."), who=f"<@{me}>", n=n)

    async def handover(self, intent: i.Handover, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        await self.s.handover(ctx.team_id, n, me, intent.to, card=(card := Card()))
        return self.said(ctx, card, N_("%(who)s handed case #%(n)s to %(to)s."), who=f"<@{me}>", n=n,
                         to=f"<@{intent.to}>")  # fmt: skip

    async def apologise(self, intent: i.Apologise, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        case = await self.s.apologise(ctx.team_id, n, me, intent.method, intent.words, card=(card := Card()))
        with use_locale(ctx.team_language):
            how = _(_HOW[case.apology_method]) if case.apology_method in _HOW else case.apology_method or ""
        return self.said(ctx, card, N_("%(who)s apologised (%(how)s) on case #%(n)s."), who=f"<@{me}>", how=how, n=n)

    async def grant(self, intent: i.Grant, ctx: Context) -> Reply:
        n = intent.number
        card = Card()
        outcome = await self.s.grant(
            ctx.team_id, n, ctx.user_id, intent.gesture, intent.amount, intent.note, card=card
        )
        reply = self.shown(card, outcome.message)
        reply.approval = outcome.approval
        return reply

    async def add_step(self, intent: i.AddStep, ctx: Context) -> Reply:
        n = intent.number
        due: datetime | None = parse_due(intent.due, self.s.clock.now(), ctx.tz) if intent.due else None
        step = await self.s.add_step(ctx.team_id, n, ctx.user_id, intent.what, intent.owner, due, card=(card := Card()))
        return self.said(ctx, card, N_("Next step %(n)s.%(position)s for %(owner)s: %(text)s"), n=n,
                         position=step.position, owner=f"<@{step.owner_id}>", text=step.text)  # fmt: skip

    async def complete_step(self, intent: i.CompleteStep, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        step = await self.s.complete_step(ctx.team_id, n, intent.position, me, card=(card := Card()))
        return self.said(ctx, card, N_("%(who)s finished step %(n)s.%(position)s: %(text)s"), who=f"<@{me}>", n=n,
                         position=step.position, text=step.text)  # fmt: skip

    async def flag(self, intent: i.Flag, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        await self.s.flag(ctx.team_id, n, me, intent.note or "", card=(card := Card()))
        return self.said(ctx, card, N_("%(who)s flagged case #%(n)s for process improvement."), who=f"<@{me}>", n=n)

    async def resolve(self, intent: i.Resolve, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        await self.s.resolve(ctx.team_id, n, me, intent.summary, intent.root_cause, card=(card := Card()))
        return self.said(ctx, card, N_("%(who)s resolved case #%(n)s. Follow-up is due later."), who=f"<@{me}>", n=n)

    async def followup(self, intent: i.Followup, ctx: Context) -> Reply:
        n = intent.number
        case = await self.s.answer_followup(
            ctx.team_id, n, ctx.user_id, intent.satisfied, intent.score, intent.won_back, card=(card := Card())
        )
        if case.status.value == "closed":
            msg = N_("Customer satisfied (%(score)s/5); case #%(n)s is closed.")
        else:
            msg = N_("Customer not satisfied yet (%(score)s/5); case #%(n)s is back with its owner.")
        return self.said(ctx, card, msg, score=intent.score, n=n)

    async def reopen(self, intent: i.Reopen, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        await self.s.reopen(ctx.team_id, n, me, intent.note, card=(card := Card()))
        return self.said(ctx, card, N_("%(who)s reopened case #%(n)s."), who=f"<@{me}>", n=n)

    async def cancel(self, intent: i.Cancel, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        await self.s.cancel(ctx.team_id, n, me, intent.reason, intent.duplicate_of, card=(card := Card()))
        if intent.duplicate_of:
            return self.said(ctx, card, N_("%(who)s cancelled case #%(n)s as a duplicate of #%(dup)s: it counts in "
                                           "no figure."), who=f"<@{me}>", n=n, dup=intent.duplicate_of)  # fmt: skip
        return self.said(ctx, card, N_("%(who)s cancelled case #%(n)s: it counts in no figure."), who=f"<@{me}>", n=n)

    async def recategorise(self, intent: i.Recategorise, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        case = await self.s.recategorise(ctx.team_id, n, me, intent.category, card=(card := Card()))
        return self.said(ctx, card, N_("%(who)s moved case #%(n)s to %(category)s."), who=f"<@{me}>", n=n,
                         category=case.category)  # fmt: skip

    async def withdraw(self, intent: i.Withdraw, ctx: Context) -> Reply:
        req, _ = await self.s.withdraw(ctx.team_id, intent.approval_id, ctx.user_id, card=(card := Card()))
        return self.said(ctx, card, N_("%(who)s withdrew request %(id)s (%(gesture)s)."), who=f"<@{ctx.user_id}>",
                         id=req.id, gesture=req.gesture)  # fmt: skip

    def handlers(self) -> HandlerTable:
        return {
            i.OpenForm: self.form, i.Open: self.open, i.ListOpen: self.list_open, i.Mine: self.mine, i.Home: self.home,
            i.Show: self.show, i.Timeline: self.timeline, i.Draft: self.draft,
            i.Approvals: self.approvals, i.Approve: self.decide, i.Deny: self.decide,
            i.CustomerHistory: self.customer, i.NoteCustomer: self.note,
            i.Claim: self.claim, i.Handover: self.handover, i.Apologise: self.apologise,
            i.Grant: self.grant, i.AddStep: self.add_step, i.CompleteStep: self.complete_step,
            i.Flag: self.flag, i.Resolve: self.resolve, i.Followup: self.followup, i.Reopen: self.reopen,
            i.Cancel: self.cancel, i.Recategorise: self.recategorise, i.Withdraw: self.withdraw,
        }  # fmt: skip
