"""Runs an Intent against the core and returns a Reply; shared by shell, Slack and Teams."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from teambot.core.cases import RecoveryService
from teambot.core.errors import BadInput, DomainError
from teambot.core.followup import draft_followup
from teambot.core.grammar import Intent, parse
from teambot.core.policy import PolicyChange
from teambot.core.privacy import export_customer, forget_customer
from teambot.core.queries import case_detail, list_cases
from teambot.core.replies import (
    ApprovalsReply,
    CaseReply,
    DraftReply,
    ErrorReply,
    FormReply,
    ListReply,
    PolicyReply,
    Reply,
    TextReply,
    TimelineReply,
)
from teambot.core.text import clean_text
from teambot.core.when import parse_due

log = logging.getLogger(__name__)

HELP = """*Teambot: service recovery*
`/recover` open a case with a guided form
`/recover [customer:] what went wrong [wants: what they want] [#category] [!high]` open a case at once
`/recover list` open cases in this team · `/recover mine` cases you own
`/recover show <case>` the case card · `/recover timeline <case>` everything that happened
`/recover claim <case>` · `/recover handover <case> @person`
`/recover apologise <case> in_person|phone|email|chat [words]`
`/recover grant <case> <gesture> [amount]` (above your limit an approver is asked)
`/recover approvals` · `/recover approve <request>` · `/recover deny <request> [reason]`
`/recover step <case> <what> [@owner] [due <when>]` · `/recover done <case>.<step>`
`/recover resolve <case> <what you did> | <root cause>`
`/recover followup <case> satisfied|not <score 1-5> [won|lost]` · `/recover reopen <case>`
`/recover flag <case> <what should change>` · `/recover draft <case>` (written follow-up)
`/recover customer <name>` · `/recover note <customer>: <preference>`
`/recover shoutout @person [case] <why>` · `/recover leaderboard` · `/recover digest`
`/recover policy` read the recovery policy; admins: `/recover policy <setting> ...`
Admins: `/recover export-customer <name>` · `/recover forget-customer <name>` (erases name and words, keeps figures)"""


@dataclass
class Context:
    """Who is asking, from where."""

    team_id: str
    channel_id: str
    user_id: str
    platform: str = "shell"
    tz: str = "UTC"
    source_ref: str | None = None


Extension = Any  # a callable (intent, ctx) -> Reply for intents another module owns


class Commands:
    def __init__(self, service: RecoveryService, extensions: dict[str, Extension] | None = None) -> None:
        self.service = service
        self.db = service.db
        # Intents owned by other modules (shout-outs, digest...) register here.
        self.extensions: dict[str, Extension] = dict(extensions or {})

    async def run_text(self, text: str, ctx: Context) -> Reply:
        try:
            intent = parse(text)
        except DomainError as err:
            return ErrorReply(error=err, echo=clean_text(text).strip())
        return await self.run(intent, ctx)

    async def run(self, intent: Intent, ctx: Context) -> Reply:
        try:
            return await self._dispatch(intent, ctx)
        except DomainError as err:
            return ErrorReply(error=err, echo=intent.text)

    async def card(self, team_id: str, number: int, message: str = "", public: bool = True) -> CaseReply:
        return CaseReply(public=public, detail=await case_detail(self.db, team_id, number), message=message)

    async def _dispatch(self, intent: Intent, ctx: Context) -> Reply:
        a, s, t, me = intent.args, self.service, ctx.team_id, ctx.user_id
        name = intent.name
        if name in self.extensions:
            return await self.extensions[name](intent, ctx)
        if name == "help":
            unknown = a.get("unknown")
            lead = (
                f"I don't know `{unknown}`. To open a case, describe what went wrong in a few words.\n\n"
                if unknown
                else ""
            )
            return TextReply(text=lead + HELP, title="Help")
        if name == "form":
            return FormReply(form="open")
        if name == "open":
            opened = await s.open_case(
                t, ctx.channel_id, me, a.get("problem", ""), platform=ctx.platform,
                customer=a.get("customer"), wants=a.get("wants"), category=a.get("category"),
                severity=a.get("severity"), own=bool(a.get("own")), source_ref=ctx.source_ref,
            )  # fmt: skip
            detail = await case_detail(self.db, t, opened.case.number)
            msg = f"<@{me}> opened case #{opened.case.number}."
            return CaseReply(public=True, detail=detail, message=msg, opened=opened)
        if name == "list":
            cases = await list_cases(self.db, t)
            return ListReply(title="Open recovery cases", cases=cases, empty="No open cases. Nice.")
        if name == "mine":
            cases = await list_cases(self.db, t, owner=me)
            return ListReply(title="Cases you own", cases=cases, empty="You own no open cases.")
        if name == "show":
            return await self.card(t, a["number"], public=False)
        if name == "timeline":
            return TimelineReply(detail=await case_detail(self.db, t, a["number"]))
        if name == "draft":
            detail = await case_detail(self.db, t, a["number"])
            return DraftReply(detail=detail, text=draft_followup(detail, tz=ctx.tz))
        if name == "policy":
            return PolicyReply(policy=await s.policy(t, me, ctx.platform), viewer=me)
        if name == "policy_set":
            message = await s.change_policy(
                t, me, PolicyChange(a["setting"], list(a["values"])), ctx.platform
            )
            return PolicyReply(public=False, policy=await s.policy(t, me), viewer=me, message=message)
        if name == "approvals":
            return ApprovalsReply(approvals=await s.pending_approvals(t))
        if name in ("approve", "deny"):
            req, case = await s.decide(t, a["approval_id"], me, name == "approve", a.get("note"))
            verdict = "approved" if name == "approve" else "denied"
            return await self.card(t, case.number, f"<@{me}> {verdict} {req.gesture} (request {req.id}).")
        if name == "customer":
            cust, cases = await s.customer(t, a["customer"])
            notes = "\n".join(f"• {n['text']} (<@{n['by']}>)" for n in cust.notes) or "No notes yet."
            return ListReply(title=f"{cust.name}: notes\n{notes}\nCases", cases=cases, empty="No cases.")
        if name == "export-customer":
            data = await export_customer(s, t, me, a["customer"])
            return TextReply(
                text=json.dumps(data, indent=2, ensure_ascii=False), title=f"Data held on {a['customer']}"
            )
        if name == "forget-customer":
            count = await forget_customer(s, t, me, a["customer"])
            return TextReply(
                text=f"Erased {a['customer']}'s name and words from {count} case(s); the figures stay."
            )
        if name == "note":
            cust = await s.note_customer(t, me, a["customer"], a["note"])
            return TextReply(text=f"Noted for {cust.name}: {a['note']}")
        return await self._case_step(intent, ctx)

    async def _case_step(self, intent: Intent, ctx: Context) -> Reply:
        a, s, t, me, n = intent.args, self.service, ctx.team_id, ctx.user_id, intent.args.get("number")
        name = intent.name
        if name == "claim":
            await s.claim(t, n, me)
            return await self.card(t, n, f"<@{me}> owns case #{n} now.")
        if name == "handover":
            await s.handover(t, n, me, a["to"])
            return await self.card(t, n, f"<@{me}> handed case #{n} to <@{a['to']}>.")
        if name == "apologise":
            case = await s.apologise(t, n, me, a["method"], a.get("words"))
            how = (case.apology_method or "").replace("_", " ")
            return await self.card(t, n, f"<@{me}> apologised ({how}) on case #{n}.")
        if name == "grant":
            outcome = await s.grant(t, n, me, a["gesture"], a.get("amount"), a.get("note"))
            reply = await self.card(t, n, outcome.message)
            reply.approval = outcome.approval
            return reply
        if name == "step":
            due: datetime | None = parse_due(a["due"], s.clock.now(), ctx.tz) if a.get("due") else None
            step = await s.add_step(t, n, me, a["text"], a.get("owner"), due)
            return await self.card(t, n, f"Next step {n}.{step.position} for <@{step.owner_id}>: {step.text}")
        if name == "done":
            step = await s.complete_step(t, n, a["position"], me)
            return await self.card(t, n, f"<@{me}> finished step {n}.{step.position}: {step.text}")
        if name == "flag":
            await s.flag(t, n, me, a.get("note") or "")
            return await self.card(t, n, f"<@{me}> flagged case #{n} for process improvement.")
        if name == "resolve":
            await s.resolve(t, n, me, a["summary"], a["root_cause"])
            return await self.card(t, n, f"<@{me}> resolved case #{n}. Follow-up is due later.")
        if name == "followup":
            case = await s.answer_followup(t, n, me, a["satisfied"], a["score"], a.get("won_back"))
            if case.status.value == "closed":
                msg = f"Customer satisfied ({a['score']}/5); case #{n} is closed."
            else:
                msg = f"Customer not satisfied yet ({a['score']}/5); case #{n} is back with its owner."
            return await self.card(t, n, msg)
        if name == "reopen":
            await s.reopen(t, n, me, a.get("note"))
            return await self.card(t, n, f"<@{me}> reopened case #{n}.")
        raise BadInput(f"`{name}` is not available here yet.", "See /recover help for what is.")
