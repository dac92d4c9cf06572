"""What each kind of notice offers under it, decided once for every platform.

A notice (a nudge, an approval request, a follow-up due...) carries buttons for what its reader most
likely does next. Slack's blocks and Teams' cards render these neutral actions their own way (a
button, a form under a button); neither decides which actions a kind gets.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from teambot.core.i18n import N_
from teambot.core.i18n import gettext as _
from teambot.core.ports import Notice

Style = Literal["primary", "danger"] | None


@dataclass(frozen=True)
class NoticeAction:
    """One button. `action` is a case action (`claim`, `resolve`, `step`, `apologise`, `show`,
    `snooze`, `done`), a follow-up answer (`followup_yes`, `followup_no`) or an approval decision
    (`approve`, `deny`); `style` marks the one to press (`primary`) or a refusal (`danger`)."""

    action: str
    label: str
    style: Style = None
    command: str = ""  # for `run`: the command one click runs, as whoever presses (a digest flag made an action)


SNOOZE = NoticeAction("snooze", N_("Snooze a day"))
SNOOZE_FOR = "1d"  # how long the Snooze button under a notice snoozes

# Labels are marked (N_) here and translated by `notice_actions`, in the language the notice is rendered in.
NOTICE_ACTIONS: dict[str, tuple[NoticeAction, ...]] = {
    "approval_request": (NoticeAction("approve", N_("Approve"), "primary"), NoticeAction("deny", N_("Deny"), "danger")),
    "nudge_unowned": (NoticeAction("claim", N_("Claim"), "primary"), SNOOZE),
    "nudge_resolve": (NoticeAction("resolve", N_("Resolve"), "primary"), NoticeAction("step", N_("Add next step")), SNOOZE),
    "followup_due": (
        NoticeAction("followup_yes", N_("Customer satisfied"), "primary"), NoticeAction("followup_no", N_("Not yet")),
        SNOOZE,
    ),
    "step_due": (NoticeAction("done", N_("Mark done"), "primary"), SNOOZE),
    "handover": (NoticeAction("apologise", N_("Record apology")),),
}  # fmt: skip
_NEEDS = {"approve": "approval_id", "deny": "approval_id", "done": "position"}  # beyond the case number


def notice_actions(notice: Notice) -> list[NoticeAction]:
    """The buttons under `notice`, in order: its kind's own (those its data can carry), then the case;
    labelled in the current language (the adapter renders the notice inside its reader's)."""
    data = notice.data or {}
    number = data.get("number")
    out: list[NoticeAction] = []
    for a in NOTICE_ACTIONS.get(notice.kind, ()):
        needs = _NEEDS.get(a.action)
        if needs is not None and data.get(needs) is None:
            continue
        if a.action not in ("approve", "deny") and number is None:
            continue
        out.append(replace(a, label=_(a.label)))
    if number is not None:
        out.append(NoticeAction("show", _("Open case #%(n)s") % {"n": number}))
    out += [NoticeAction("run", label, command=command) for label, command in (data.get("choices") or [])[:5]]
    return out
