"""The written follow-up to the customer: it restates only what the case records.

It is written in the current language (`use_locale(<the customer's>)` around the call): the
sentences come from the catalogue, the dates and amounts from Babel for that language; what
staff typed (the problem, the steps, the gestures) stays in their words.
"""

from __future__ import annotations

from teambot.core.cases.models import Case
from teambot.core.cases.queries import CaseDetail
from teambot.core.i18n import first_supported, format_day, format_money, format_when
from teambot.core.i18n import gettext as _
from teambot.core.money import from_minor
from teambot.core.policy.models import Policy


def customer_language(case: Case, policy: Policy | None) -> str:
    """What the customer reads: the case's language, else the team's, else English."""
    return first_supported(case.customer_language, policy.language if policy else None)


def _sorry(method: str | None, day: str | None, problem: str) -> str:
    """The apology restated: how and when it was made, in one sentence a translator can reorder."""
    if day is None:
        return _("We are sorry that %(problem)s.") % {"problem": problem}
    said = {
        "in_person": _(
            "Thank you for your patience. As we said in person on %(day)s, we are sorry that %(problem)s."
        ),
        "phone": _(
            "Thank you for your patience. As we said on the phone on %(day)s, we are sorry that %(problem)s."
        ),
        "email": _("Thank you for your patience. As we wrote on %(day)s, we are sorry that %(problem)s."),
        "chat": _(
            "Thank you for your patience. As we said in our chat on %(day)s, we are sorry that %(problem)s."
        ),
    }.get(method or "", _("Thank you for your patience. As we said on %(day)s, we are sorry that %(problem)s."))
    return said % {"day": day, "problem": problem}


def draft_followup(detail: CaseDetail, signer: str = "", tz: str = "UTC") -> str:
    """The whole letter: a greeting, the recorded facts (`draft_body`), a sign-off."""
    name = detail.case.customer_name or ""
    if "@" in name or name.startswith("[erased]"):
        name = ""
    greeting = _("Dear %(name)s,") % {"name": name} if name else _("Hello,")
    lines = [greeting, "", draft_body(detail, tz), "", _("Kind regards,")]
    if signer:
        lines.append(signer)
    return "\n".join(lines)


def draft_body(detail: CaseDetail, tz: str = "UTC") -> str:
    """Every sentence comes from a recorded fact; nothing recorded means nothing promised.

    No greeting and no sign-off: the email adds them (with the owner's name and the feedback
    link), and the chat draft adds its own. Nothing asks the customer to reply to a chat.
    """
    c = detail.case
    day = format_day(c.apologised_at, tz) if c.apologised_at is not None else None
    lines: list[str] = [_sorry(c.apology_method, day, c.problem.rstrip("."))]
    if c.wants:
        lines.append(_("You told us what mattered most to you: %(wants)s.") % {"wants": c.wants.rstrip(".")})
    if c.resolution:
        lines += ["", _("What we have done: %(resolution)s.") % {"resolution": c.resolution.rstrip(".")}]
    if detail.grants:
        lines += ["", _("As a gesture of apology, we have given you:")]
        for g in detail.grants:
            amount = format_money(from_minor(g.amount_minor, g.currency), g.currency)
            lines.append(f"  - {g.gesture} ({amount})")
    open_steps = [s for s in detail.steps if not s.done]
    done_steps = [s for s in detail.steps if s.done]
    if done_steps:
        lines += ["", _("Already done:")]
        lines += [f"  - {s.text}" for s in done_steps]
    if open_steps:
        lines += ["", _("What we agreed to do next:")]
        for s in open_steps:
            if s.due_at is None:
                lines.append(f"  - {s.text}")
            else:
                step = _("%(step)s by %(when)s") % {"step": s.text, "when": format_when(s.due_at, tz)}
                lines.append(f"  - {step}")
    if detail.pending:
        lines += ["", _("We are still confirming a further gesture and will write again once it is settled.")]
    lines += ["", _("If anything is still not right, please tell us.")]
    return "\n".join(lines)
