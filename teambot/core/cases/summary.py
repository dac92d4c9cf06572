"""Platform-neutral facts about a case, so Block Kit, Adaptive Cards and the shell agree.

Mentions stay as `<@id>`; each renderer turns them into its own kind of mention.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

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
APOLOGY_LABELS = {"in_person": "in person", "phone": "by phone", "email": "by email", "chat": "by chat"}


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


def title(detail: CaseDetail) -> str:
    c = detail.case
    who = f"{c.customer_name}: " if c.customer_name else ""
    return f"Case #{c.number} · {who}{c.problem}"


def case_facts(detail: CaseDetail, now: datetime, tz: str = "UTC") -> list[tuple[str, str]]:
    """(label, value) pairs in reading order; values may hold `<@id>` mentions."""
    c, cur = detail.case, detail.currency
    facts: list[tuple[str, str]] = [("Status", STATUS_LABELS[c.status])]
    if c.status == CaseStatus.CANCELLED:
        dup = f"duplicate of #{c.duplicate_of}; " if c.duplicate_of else ""
        facts.append(("Cancelled", f"{dup}{c.cancel_reason or ''}".strip("; ")))
    if c.customer_name:
        facts.append(("Customer", c.customer_name))
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
    if c.apologised_at:
        words = f": “{c.apology_words}”" if c.apology_words else ""
        how = APOLOGY_LABELS.get(c.apology_method or "", c.apology_method or "")
        facts.append(("Apology", f"made {how}, {when(c.apologised_at, tz)}{words}"))
    else:
        facts.append(("Apology", "not yet"))
    limit = format_amount(detail.owner_limit, cur) if c.owner_id else "n/a"
    comp = f"{format_amount(detail.total_granted, cur)} given"
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
        facts.append(("Follow-up", f"{verdict}, {c.score}/5{won}"))
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
            f"recorded the follow-up: {'satisfied' if d.get('satisfied') else 'not satisfied'}, {d.get('score')}/5"
        ),
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
        "withdrawn": lambda: f"withdrew request {d.get('approval_id')} ({d.get('gesture')})",
        "escalated": lambda: (
            f"asked backup approvers {', '.join(f'<@{u}>' for u in d.get('to') or [])} about request "  # type: ignore[union-attr]
            f"{d.get('approval_id')} after {d.get('waited')}"
        ),
    }
    return texts[kind]() if kind in texts else kind.replace("_", " ")
