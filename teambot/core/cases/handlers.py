"""The case commands: each a small function from a typed intent to a reply."""

from __future__ import annotations

import re
from datetime import datetime

from teambot.core.cases import replies as r
from teambot.core.cases.followup import customer_language, draft_followup
from teambot.core.cases.home import home
from teambot.core.cases.queries import case_detail, list_cases
from teambot.core.cases.service import Card, NearMissCategory, RecoveryService
from teambot.core.commands import intents as i
from teambot.core.commands.context import Context
from teambot.core.commands.dispatch import HandlerTable
from teambot.core.commands.replies import ChoiceReply, FormReply, Reply, TextReply
from teambot.core.db import Database
from teambot.core.i18n import use_locale
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
        text=f"There is no category #{typed}, so nothing was opened. Did you mean {tag}?",
        choices=[(f"Open it in {tag}", fixed), ("Open it without a category", plain)],
    )


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
        msg = f"<@{me}> opened case #{opened.case.number}."
        return r.CaseReply(public=True, detail=detail, message=msg, opened=opened)

    async def list_open(self, intent: i.ListOpen, ctx: Context) -> Reply:
        cases = await list_cases(self.db, ctx.team_id)
        return r.ListReply(title="Open recovery cases", cases=cases, empty="No open cases. Nice.")

    async def mine(self, intent: i.Mine, ctx: Context) -> Reply:
        cases = await list_cases(self.db, ctx.team_id, owner=ctx.user_id)
        return r.ListReply(title="Cases you own", cases=cases, empty="You own no open cases.")

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
        verdict = "approved" if approve else "denied"
        return self.shown(card, f"<@{ctx.user_id}> {verdict} {req.gesture} (request {req.id}).")

    async def customer(self, intent: i.CustomerHistory, ctx: Context) -> Reply:
        cust, cases = await self.s.customer(ctx.team_id, intent.customer)
        notes = "\n".join(f"• {n['text']} (<@{n['by']}>)" for n in cust.notes) or "No notes yet."
        return r.ListReply(title=f"{cust.name}: notes\n{notes}\nCases", cases=cases, empty="No cases.")

    async def note(self, intent: i.NoteCustomer, ctx: Context) -> Reply:
        cust = await self.s.note_customer(ctx.team_id, ctx.user_id, intent.customer, intent.note)
        return TextReply(text=f"Noted for {cust.name}: {intent.note}")

    # ----- steps on one case -----------------------------------------------------------------

    async def claim(self, intent: i.Claim, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        await self.s.claim(ctx.team_id, n, me, card=(card := Card()))
        return self.shown(card, f"<@{me}> owns case #{n} now.")

    async def handover(self, intent: i.Handover, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        await self.s.handover(ctx.team_id, n, me, intent.to, card=(card := Card()))
        return self.shown(card, f"<@{me}> handed case #{n} to <@{intent.to}>.")

    async def apologise(self, intent: i.Apologise, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        case = await self.s.apologise(ctx.team_id, n, me, intent.method, intent.words, card=(card := Card()))
        how = (case.apology_method or "").replace("_", " ")
        return self.shown(card, f"<@{me}> apologised ({how}) on case #{n}.")

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
        return self.shown(card, f"Next step {n}.{step.position} for <@{step.owner_id}>: {step.text}")

    async def complete_step(self, intent: i.CompleteStep, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        step = await self.s.complete_step(ctx.team_id, n, intent.position, me, card=(card := Card()))
        return self.shown(card, f"<@{me}> finished step {n}.{step.position}: {step.text}")

    async def flag(self, intent: i.Flag, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        await self.s.flag(ctx.team_id, n, me, intent.note or "", card=(card := Card()))
        return self.shown(card, f"<@{me}> flagged case #{n} for process improvement.")

    async def resolve(self, intent: i.Resolve, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        await self.s.resolve(ctx.team_id, n, me, intent.summary, intent.root_cause, card=(card := Card()))
        return self.shown(card, f"<@{me}> resolved case #{n}. Follow-up is due later.")

    async def followup(self, intent: i.Followup, ctx: Context) -> Reply:
        n = intent.number
        case = await self.s.answer_followup(
            ctx.team_id, n, ctx.user_id, intent.satisfied, intent.score, intent.won_back, card=(card := Card())
        )
        if case.status.value == "closed":
            msg = f"Customer satisfied ({intent.score}/5); case #{n} is closed."
        else:
            msg = f"Customer not satisfied yet ({intent.score}/5); case #{n} is back with its owner."
        return self.shown(card, msg)

    async def reopen(self, intent: i.Reopen, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        await self.s.reopen(ctx.team_id, n, me, intent.note, card=(card := Card()))
        return self.shown(card, f"<@{me}> reopened case #{n}.")

    async def cancel(self, intent: i.Cancel, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        await self.s.cancel(ctx.team_id, n, me, intent.reason, intent.duplicate_of, card=(card := Card()))
        dup = f" as a duplicate of #{intent.duplicate_of}" if intent.duplicate_of else ""
        return self.shown(card, f"<@{me}> cancelled case #{n}{dup}: it counts in no figure.")

    async def recategorise(self, intent: i.Recategorise, ctx: Context) -> Reply:
        n, me = intent.number, ctx.user_id
        case = await self.s.recategorise(ctx.team_id, n, me, intent.category, card=(card := Card()))
        return self.shown(card, f"<@{me}> moved case #{n} to {case.category}.")

    async def withdraw(self, intent: i.Withdraw, ctx: Context) -> Reply:
        req, _ = await self.s.withdraw(ctx.team_id, intent.approval_id, ctx.user_id, card=(card := Card()))
        return self.shown(card, f"<@{ctx.user_id}> withdrew request {req.id} ({req.gesture}).")

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
