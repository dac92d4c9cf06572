"""Slack buttons and modal submissions to core Intents, one small typed reader per action (the
mirror of `teams/actions.py`). Pure: what Slack sent in, an Intent (or None / a refusal) out.

A modal's values come from `modals.values` ({block_id: value}); its case number from the
view's private metadata, which Teambot wrote when it opened the form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from teambot.core.commands import intents
from teambot.core.commands.grammar import parse
from teambot.core.commands.intents import Intent, intent_for
from teambot.slack import modals

# ----- card buttons (`case:<step>`, the value names the case) ------------------------------------

MODAL_STEPS = {"apologise", "grant", "step", "resolve", "followup", "followup_yes", "followup_no", "handover",
               "flag", "shoutout", "reopen", "send"}  # fmt: skip


def opens_form(step: str) -> bool:
    """A card button whose answer is a modal (its trigger_id lives about 3 s)."""
    return step in MODAL_STEPS or step == "view"



def button_intent(step: str, number: int, raw: str) -> Intent:
    """The intent a card button that needs no form means; `raw` is the button's value."""
    reader = BUTTONS.get(step)
    if reader is not None:
        return reader(number, raw)
    return intent_for(step, {"number": number}, text=f"{step} {number}")  # claim, show, draft...: the case only


def _category(number: int, raw: str) -> Intent:  # the card's category menu: "12|delivery"
    category = raw.partition("|")[2]
    return intents.Recategorise(number=number, category=category, text=f"category {number} {category}")


def _cancel(number: int, raw: str) -> Intent:  # the card's overflow: "12|mistake" or "12|withdraw 7"
    what = raw.partition("|")[2]
    if what.startswith("withdraw "):
        return parse(what)
    return intents.Cancel(number=number, reason=what, text=f"cancel {number} {what}")


def _done(number: int, raw: str) -> Intent:  # "12.3": case 12, step 3
    step = re.fullmatch(r"(\d+)\.(\d+)", raw)
    return intents.CompleteStep(number=number, position=int(step.group(2)) if step else 0, text=f"done {raw}")


def _snooze(number: int, raw: str) -> Intent:  # "12|2h"
    span = raw.partition("|")[2]
    return intents.Snooze(number=number, duration=span or None, text=f"snooze {number} for {span}")


BUTTONS: dict[str, Callable[[int, str], Intent]] = {
    "category": _category, "cancel": _cancel, "done": _done, "snooze": _snooze,
}  # fmt: skip


# ----- modal submissions ---------------------------------------------------------------------


def submitted_intent(name: str, values: dict[str, Any], meta: dict[str, Any], tz: str = "UTC") -> Intent | None:
    """The intent a submitted form means; None when a case form has lost its case number.
    `tz`: the person's zone, in which a picked due time is read."""
    if name == "open":
        return _open(values)
    if name == "deny":
        return intents.Deny(approval_id=meta.get("approval_id"), note=values.get("note"), text="deny")  # type: ignore[arg-type]
    number = meta.get("n")
    reader = FORMS.get(name)
    if not isinstance(number, int) or reader is None:
        return None
    return reader(number, values, tz)


def _open(v: dict[str, Any]) -> Intent:
    return intents.Open(problem=v.get("problem") or "", customer=v.get("customer"), wants=v.get("wants"),
                        category=v.get("category"), severity=v.get("severity"), own="own" in (v.get("own") or []),
                        email=v.get("email"), language=v.get("language"), text=v.get("problem") or "")  # fmt: skip


def _apologise(number: int, v: dict[str, Any], tz: str) -> Intent:
    return intents.Apologise(number=number, method=v.get("method") or "", words=v.get("words"))


def _grant(number: int, v: dict[str, Any], tz: str) -> Intent:
    amount = (v.get("amount") or "").strip() or None
    return intents.Grant(number=number, gesture=modals.grant_gesture(v), amount=amount, note=v.get("note"))


def _step(number: int, v: dict[str, Any], tz: str) -> Intent:
    due = modals.due_text(v.get("due"), tz)  # a picked time, read in the person's zone
    return intents.AddStep(number=number, what=v.get("text") or "", owner=v.get("owner"), due=due)


def _resolve(number: int, v: dict[str, Any], tz: str) -> Intent:
    return intents.Resolve(number=number, summary=v.get("summary") or "", root_cause=v.get("root_cause") or "",
                           cause=v.get("cause") or None)  # fmt: skip


def _followup(number: int, v: dict[str, Any], tz: str) -> Intent:
    won = {"won": True, "lost": False}.get(v.get("won_back") or "")
    return intents.Followup(number=number, satisfied=v.get("satisfied") == "yes", score=int(v.get("score") or 0),
                            won_back=won)  # fmt: skip


def _handover(number: int, v: dict[str, Any], tz: str) -> Intent:
    return intents.Handover(number=number, to=v.get("to") or "")


def _flag(number: int, v: dict[str, Any], tz: str) -> Intent:
    return intents.Flag(number=number, note=v.get("note") or "")


def _shoutout(number: int, v: dict[str, Any], tz: str) -> Intent:
    return intents.Shoutout(number=number, to=v.get("to") or "", message=v.get("message") or "")


def _reopen(number: int, v: dict[str, Any], tz: str) -> Intent:
    return intents.Reopen(number=number, note=v.get("reason"))


def _send(number: int, v: dict[str, Any], tz: str) -> Intent:
    return intents.SendFollowup(number=number, body=v.get("body"))


FORMS: dict[str, Callable[[int, dict[str, Any], str], Intent]] = {
    "apologise": _apologise, "grant": _grant, "step": _step, "resolve": _resolve, "followup": _followup,
    "handover": _handover, "flag": _flag, "shoutout": _shoutout, "reopen": _reopen, "send": _send,
}  # fmt: skip
