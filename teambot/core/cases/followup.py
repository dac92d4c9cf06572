"""The written follow-up to the customer: it restates only what the case records."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from teambot.core.cases.kinds import ApologyMethod
from teambot.core.cases.queries import CaseDetail
from teambot.core.money import format_amount, from_minor

_HOW = {  # as the letter to the customer says it
    ApologyMethod.IN_PERSON: "in person", ApologyMethod.PHONE: "on the phone", ApologyMethod.EMAIL: "by email",
    ApologyMethod.CHAT: "in our chat",
}  # fmt: skip


def draft_followup(detail: CaseDetail, signer: str = "", tz: str = "UTC") -> str:
    """The whole letter: a greeting, the recorded facts (`draft_body`), a sign-off."""
    name = detail.case.customer_name or "there"
    if "@" in name or name.startswith("[erased]"):
        name = "there"
    lines = [f"Dear {name},", "", draft_body(detail, tz), "", "Kind regards,"]
    if signer:
        lines.append(signer)
    return "\n".join(lines)


def draft_body(detail: CaseDetail, tz: str = "UTC") -> str:
    """Every sentence comes from a recorded fact; nothing recorded means nothing promised.

    No greeting and no sign-off: the email adds them (with the owner's name and the feedback
    link), and the chat draft adds its own. Nothing asks the customer to reply to a chat.
    """
    c = detail.case
    zone = ZoneInfo(tz)
    lines: list[str] = []
    if c.apologised_at is not None:
        when = c.apologised_at.astimezone(zone).strftime("%d %B")
        lines.append(
            f"Thank you for your patience. As we said {_HOW.get(c.apology_method or '', '')} on {when}, "
            f"we are sorry that {c.problem.rstrip('.')}."
        )
    else:
        lines.append(f"We are sorry that {c.problem.rstrip('.')}.")
    if c.wants:
        lines.append(f"You told us what mattered most to you: {c.wants.rstrip('.')}.")
    if c.resolution:
        lines += ["", f"What we have done: {c.resolution.rstrip('.')}."]
    if detail.grants:
        lines += ["", "As a gesture of apology, we have given you:"]
        for g in detail.grants:
            lines.append(
                f"  - {g.gesture} ({format_amount(from_minor(g.amount_minor, g.currency), g.currency)})"
            )
    open_steps = [s for s in detail.steps if not s.done]
    done_steps = [s for s in detail.steps if s.done]
    if done_steps:
        lines += ["", "Already done:"]
        lines += [f"  - {s.text}" for s in done_steps]
    if open_steps:
        lines += ["", "What we agreed to do next:"]
        for s in open_steps:
            due = f" by {s.due_at.astimezone(zone).strftime('%A %d %B, %H:%M')}" if s.due_at else ""
            lines.append(f"  - {s.text}{due}")
    if detail.pending:
        lines += [
            "",
            "We are still confirming a further gesture and will write again once it is settled.",
        ]
    lines += ["", "If anything is still not right, please tell us."]
    return "\n".join(lines)
