"""Platform-neutral facts about a case, so Block Kit, Adaptive Cards and the shell agree.

Mentions stay as `<@id>`; each renderer turns them into its own kind of mention.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from teambot.core.cases.kinds import ApologyMethod
from teambot.core.cases.models import CaseStatus
from teambot.core.cases.queries import CaseDetail
from teambot.core.money import format_amount, from_minor

ACTION_LABELS = {
    "claim": "Claim",
    "apologise": "Record apology",
    "grant": "Grant compensation",
    "step": "Add next step",
    "resolve": "Resolve",
    "followup": "Record follow-up",
    "handover": "Hand over",
    "flag": "Flag for improvement",
    "shoutout": "Shout out",
    "reopen": "Reopen",
    "draft": "Draft follow-up",
    "send": "Send follow-up",
    "category": "Change category",
    "cancel": "Cancel case",
    "withdraw": "Withdraw request",
}
STATUS_LABELS = {
    CaseStatus.OPEN: "Open, nobody owns it yet",
    CaseStatus.OWNED: "Being worked",
    CaseStatus.RESOLVED: "Resolved, follow-up pending",
    CaseStatus.CLOSED: "Closed",
    CaseStatus.CANCELLED: "Cancelled (counts in no figure)",
}
APOLOGY_LABELS = {m.value: m.label for m in ApologyMethod}


def authority_note(left: Decimal | None, currency: str) -> str:
    """What a grant form says about the person's authority left on this case."""
    if left is None:
        return "Your authority is unlimited; nothing you give here needs an approver."
    if left <= 0:
        return "You have no authority left on this case; an approver is asked for any amount."
    return (
        f"You can give up to {format_amount(left, currency)} more on this case; "
        "above that an approver is asked."
    )


def duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, mins = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{hours // 24} days"


def when(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M")


@dataclass(frozen=True)
class Deadline:
    """One hand of the 24-hour clock: what should happen by when, and when it did."""

    label: str  # "Own by", "Apologise by", "Resolve by"
    due: datetime
    met_at: datetime | None

    def overdue(self, now: datetime) -> bool:
        return self.met_at is None and now > self.due


def deadlines(detail: CaseDetail) -> list[Deadline]:
    """Own, apologise and resolve targets from the team's policy, counted from the open.

    The apology shares the own target: the first person on it says sorry at once.
    """
    c, p = detail.case, detail.policy
    own = timedelta(minutes=p.own_within_minutes)
    return [
        Deadline("Own by", c.opened_at + own, c.owned_at),
        Deadline("Apologise by", c.opened_at + own, c.apologised_at),
        Deadline("Resolve by", c.opened_at + timedelta(hours=p.resolve_within_hours), c.resolved_at),
    ]


def deadline_text(d: Deadline, now: datetime, stamp: Callable[[datetime], str]) -> str:
    """`<time> · in 12 min`, `<time> · overdue by 3 min`, or `<time> · done on time / 5 min late`."""
    if d.met_at is not None:
        late = d.met_at - d.due
        return f"{stamp(d.due)} · done " + (f"{duration(late)} late" if late > timedelta(0) else "on time")
    if now > d.due:
        return f"{stamp(d.due)} · overdue by {duration(now - d.due)}"
    return f"{stamp(d.due)} · in {duration(d.due - now)}"


def title(detail: CaseDetail) -> str:
    c = detail.case
    who = f"{c.customer_name}: " if c.customer_name else ""
    return f"Case #{c.number} · {who}{c.problem}"


def case_facts(
    detail: CaseDetail, now: datetime, tz: str = "UTC", *, stamp: Callable[[datetime], str] | None = None
) -> list[tuple[str, str]]:
    """(label, value) pairs in reading order; values may hold `<@id>` mentions.

    `stamp` writes the clock's deadlines (the adapter's live date; `when` in `tz` by default)."""
    c, cur = detail.case, detail.currency
    facts: list[tuple[str, str]] = [("Status", STATUS_LABELS[c.status])]
    if c.status == CaseStatus.CANCELLED:
        dup = f"duplicate of #{c.duplicate_of}; " if c.duplicate_of else ""
        facts.append(("Cancelled", f"{dup}{c.cancel_reason or ''}".strip("; ")))
    if c.customer_name:
        email = detail.customer.email if detail.customer is not None else None
        shown = c.customer_name if not email or email == c.customer_name else f"{c.customer_name} · {email}"
        facts.append(("Customer", shown))
    facts.append(("What went wrong", c.problem))
    if c.wants:
        facts.append(("What they want", c.wants))
    facts.append(("Category", f"{c.category} · severity {c.severity}"))
    end = c.closed_at or now
    facts.append(("Open for", f"{duration(end - c.opened_at)} (opened by <@{c.opened_by}>)"))
    if c.owner_id:
        took = duration(c.owned_at - c.opened_at) if c.owned_at else "?"
        facts.append(("Owner", f"<@{c.owner_id}> (owned {took} after opening)"))
    else:
        facts.append(("Owner", "nobody yet"))
    write = stamp or (lambda at: when(at, tz))
    for d in deadlines(detail):
        if c.status != CaseStatus.CLOSED or d.met_at is not None:
            facts.append((d.label, deadline_text(d, now, write)))
    if c.apologised_at:
        words = f": “{c.apology_words}”" if c.apology_words else ""
        how = APOLOGY_LABELS.get(c.apology_method or "", c.apology_method or "")
        facts.append(("Apology", f"made {how}, {when(c.apologised_at, tz)}{words}"))
    else:
        facts.append(("Apology", "not yet"))
    limit = format_amount(detail.owner_limit, cur) if c.owner_id else "n/a"
    totals = detail.granted_by_currency() or {cur: detail.total_granted}
    comp = " + ".join(format_amount(v, c) for c, v in totals.items()) + " given"
    earlier = [c for c in totals if c != cur]
    if earlier:  # never added into one total: the team's currency changed since
        comp += f" ({' and '.join(earlier)} from before the team's currency became {cur})"
    if c.owner_id:
        comp += f" (owner's authority {limit} per case)"
    if detail.grants:
        comp += "; " + ", ".join(
            f"{g.gesture} {format_amount(from_minor(g.amount_minor, g.currency), g.currency)}"
            + ("" if g.within_authority else " (approved)")
            for g in detail.grants
        )
    facts.append(("Compensation", comp))
    for req in detail.pending:
        amount = format_amount(from_minor(req.amount_minor, req.currency), req.currency)
        facts.append(
            (
                "Waiting for approval",
                f"{req.gesture} {amount}, asked by <@{req.requested_by}> (request {req.id})",
            )
        )
    for step in detail.steps:
        mark = "done" if step.done else "to do"
        due = f", due {when(step.due_at, tz)}" if step.due_at else ""
        late = " · overdue" if step.due_at and not step.done and step.due_at < now else ""
        facts.append((f"Next step {step.position}", f"[{mark}] {step.text} (<@{step.owner_id}>{due}){late}"))
    if c.resolution:
        facts.append(("Resolution", f"{c.resolution} (root cause: {c.root_cause})"))
    if c.followup_due_at:
        facts.append(("Follow-up due", when(c.followup_due_at, tz)))
    if c.followup_at:
        verdict = "satisfied" if c.satisfied else "not satisfied"
        won = {True: ", won back", False: ", lost", None: ""}[c.won_back]
        source = " (from the customer)" if c.followup_source == "customer" else ""
        facts.append(("Follow-up", f"{verdict}, {c.score}/5{won}{source}"))
    sent = [e for e in detail.events if e.kind == "followup_sent"]
    if sent:
        facts.append(("Follow-up email", f"sent {when(sent[-1].at, tz)} by <@{sent[-1].actor}>"))
    if detail.flags:
        facts.append(("Flagged", f"{len(detail.flags)}× for process improvement"))
    return facts


def event_line(kind: str, data: dict[str, object]) -> str:
    """One timeline event in words."""
    d = data
    texts = {
        "opened": lambda: f"opened the case: {d.get('problem')}",
        "claimed": lambda: "took ownership",
        "handed_over": lambda: f"handed the case from <@{d.get('from')}> to <@{d.get('to')}>",
        "apologised": lambda: (
            f"apologised ({d.get('method')})" + (f": “{d['words']}”" if d.get("words") else "")
        ),
        "granted": lambda: f"granted {d.get('gesture')} ({d.get('amount')} {d.get('currency')})",
        "approval_requested": lambda: (
            f"asked approval for {d.get('gesture')} ({d.get('amount')} {d.get('currency')})"
        ),
        "approved": lambda: f"approved {d.get('gesture')} after {d.get('wait_minutes')} min",
        "denied": lambda: f"denied {d.get('gesture')}" + (f": {d['note']}" if d.get("note") else ""),
        "step_added": lambda: f"added next step {d.get('position')}: {d.get('text')}",
        "step_done": lambda: f"finished next step {d.get('position')}: {d.get('text')}",
        "flagged": lambda: f"flagged for process improvement: {d.get('note')}",
        "resolved": lambda: f"resolved: {d.get('resolution')} (root cause: {d.get('root_cause')})",
        "followup_answered": lambda: (
            ("answered the follow-up themselves (from the customer)" if d.get("source") == "customer"
             else "recorded the follow-up")
            + f": {'satisfied' if d.get('satisfied') else 'not satisfied'}, {d.get('score')}/5"
            + (f": “{d['comment']}”" if d.get("comment") else "")
        ),
        "followup_sent": lambda: f"emailed the written follow-up: {d.get('text')}",
        "followup_send_failed": lambda: f"could not email the follow-up: {d.get('error')}",
        "reopened": lambda: "reopened the case" + (f": {d['reason']}" if d.get("reason") else ""),
        "snoozed": lambda: (
            f"snoozed the follow-up until {str(d.get('until', ''))[:16].replace('T', ' ')} UTC"
        ),
        "shoutout": lambda: f"gave <@{d.get('to')}> a shout-out: {d.get('message')}",
        "customer_erased": lambda: "erased the customer's name and words (figures kept)",
        "cancelled": lambda: (
            "cancelled the case"
            + (f" as a duplicate of #{d['duplicate_of']}" if d.get("duplicate_of") else "")
            + (f": {d['reason']}" if d.get("reason") else "")
        ),
        "recategorised": lambda: f"moved the case from {d.get('from')} to {d.get('to')}",
        "cause_filed": lambda: (
            f"filed the root cause under {d.get('cause')}" + (" (close in meaning)" if d.get("by") == "meaning" else "")
        ),
        "action_created": lambda: f"made improvement action {d.get('action')} for <@{d.get('owner')}>: {d.get('text')}",
        "action_done": lambda: f"finished improvement action {d.get('action')}: {d.get('text')}"
        + (f" ({d['outcome']})" if d.get("outcome") else ""),
        "action_dropped": lambda: f"dropped improvement action {d.get('action')}: {d.get('outcome')}",
        "withdrawn": lambda: f"withdrew request {d.get('approval_id')} ({d.get('gesture')})",
        "escalated": lambda: (
            f"asked backup approvers {', '.join(f'<@{u}>' for u in d.get('to') or [])} about request "  # type: ignore[union-attr]
            f"{d.get('approval_id')} after {d.get('waited')}"
        ),
    }
    return texts[kind]() if kind in texts else kind.replace("_", " ")
