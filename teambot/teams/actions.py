"""Card submits to core Intents. Pure: the submitted data in, an Intent (or a refusal) out.

Card inputs are typed by people, so nothing is trusted: a missing or odd value becomes a
BadInput naming the field, which the adapter shows back on the form with what was typed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from teambot.core.commands import intents
from teambot.core.commands.grammar import parse
from teambot.core.commands.intents import Intent
from teambot.core.errors import BadInput
from teambot.core.i18n import N_
from teambot.core.i18n import gettext as _

ID_KEYS = ("number", "approval_id", "position")
# Every action a Teambot card can send, and the form it came from (None: a plain button).
FORMS = {
    "open": "open", "apologise": "apologise", "grant": "grant", "step": "step", "resolve": "resolve",
    "followup": "followup", "handover": "handover", "flag": "flag", "reopen": "reopen",
    "shoutout": "shoutout", "deny": "deny", "send": "send", "category": "category", "cancel": "cancel",
}  # fmt: skip
# What a card's missing or garbled number is, said whole (word order differs between languages).
CASE_NUMBER = N_("The case number on this card is missing or not a number.")
REQUEST_NUMBER = N_("The request number on this card is missing or not a number.")
STEP_NUMBER = N_("The step number on this card is missing or not a number.")
DUPLICATE_NUMBER = N_("The number of the case it duplicates is missing or not a number.")
BUTTONS = (
    "claim",
    "show",
    "timeline",
    "draft",
    "approve",
    "done",
    "snooze",
    "form",
    "send_form",
    "withdraw",
    "run",
)


def _int(value: Any, missing: str) -> int:
    """`value` as a number; `missing` (marked with N_) says which one when it is not."""
    try:
        return int(str(value).strip().lstrip("#"))
    except (TypeError, ValueError):
        raise BadInput(_(missing), _("Ask for a fresh card with recover show <case>.")) from None


def _str(value: Any) -> str:
    return "" if value is None else str(value).strip()


def amount_of(value: Any) -> str | None:
    """An Input.Number value (a JSON number, or its text) as the text parse_amount reads: a float's
    repr is its shortest exact form ("25.5", "1e-05"), which parse_amount reads or refuses."""
    if isinstance(value, float):
        return repr(value)
    return _str(value) or None


def due_of(data: dict[str, Any]) -> str | None:
    """The due time as parse_due reads it in the person's zone: Input.Date and Input.Time combined
    to "YYYY-MM-DD HH:MM" (a date alone is 17:00 that day; a time alone its next occurrence), or
    the free text of an older card's "due" box."""
    day, at = _str(data.get("due_date")), _str(data.get("due_time"))
    if day or at:
        return " ".join(x for x in (day, at[:5] if re.fullmatch(r"\d{2}:\d{2}(:\d{2})?", at) else at) if x)
    return _str(data.get("due")) or None


def ids_of(data: dict[str, Any]) -> dict[str, Any]:
    return {k: data[k] for k in ID_KEYS if data.get(k) not in (None, "")}


def echo(action: str, data: dict[str, Any]) -> str:
    """What the person entered, as one readable line (shown with a refusal)."""
    shown = {
        k: v for k, v in data.items() if k not in ("teambot", "form_card", "msteams", "home") and _str(v)
    }
    return f"{action}: " + ", ".join(f"{k}={_str(v)}" for k, v in shown.items())


def intent_from_submit(action: str, data: dict[str, Any]) -> Intent:
    """The Intent a card button means; raises BadInput when the card data can't make one."""
    if action == "run":  # "did you mean": the command the button offers, run as whoever presses it
        return parse(_str(data.get("command")))
    reader = READERS.get(action)
    if reader is None:
        raise BadInput(_("This card's button (%(action)r) is not one Teambot knows.") % {"action": action},
                       _("Ask for a fresh card."))  # fmt: skip
    return reader(data, echo(action, data))


Reader = Callable[[dict[str, Any], str], Intent]


def _open(data: dict[str, Any], text: str) -> Intent:
    optional = {
        k: _str(data.get(k)) or None
        for k in ("customer", "wants", "category", "severity", "email", "language")
    }
    return intents.Open(problem=_str(data.get("problem")), **optional, text=text)


def _withdraw(data: dict[str, Any], text: str) -> Intent:
    return intents.Withdraw(approval_id=_int(data.get("approval_id"), REQUEST_NUMBER), text=text)


def _decision(cls: type[intents.Approve]) -> Reader:
    def read(data: dict[str, Any], text: str) -> Intent:
        approval_id = _int(data.get("approval_id"), REQUEST_NUMBER)
        return cls(approval_id=approval_id, note=_str(data.get("note")) or None, text=text)

    return read


def _shoutout(data: dict[str, Any], text: str) -> Intent:
    to, number = _str(data.get("to")), data.get("number")
    if not to:
        raise BadInput(_("Who is the shout-out for?"), _("Pick a person."), field="to")
    about = None if number in (None, "") else _int(number, CASE_NUMBER)
    return intents.Shoutout(to=to, message=_str(data.get("message")), number=about, text=text)


def _case(data: dict[str, Any]) -> int:
    return _int(data.get("number"), CASE_NUMBER)


def _plain(cls: type[intents.CaseIntent]) -> Reader:
    return lambda data, text: cls(number=_case(data), text=text)


def _send(data: dict[str, Any], text: str) -> Intent:  # the editable draft, as the owner left it
    return intents.SendFollowup(number=_case(data), body=_str(data.get("body")) or None, text=text)


def _snooze(data: dict[str, Any], text: str) -> Intent:
    return intents.Snooze(number=_case(data), duration=_str(data.get("for")) or None, text=text)


def _done(data: dict[str, Any], text: str) -> Intent:
    number = _case(data)
    return intents.CompleteStep(number=number, position=_int(data.get("position"), STEP_NUMBER), text=text)


def _apologise(data: dict[str, Any], text: str) -> Intent:
    number = _case(data)
    return intents.Apologise(number=number, method=_str(data.get("method")), words=_str(data.get("words")) or None,
                             text=text)  # fmt: skip


def _grant(data: dict[str, Any], text: str) -> Intent:
    number = _case(data)
    gesture = _str(data.get("gesture_other")) or _str(data.get("gesture"))
    if not gesture:
        raise BadInput(_("Which gesture?"), _("Pick one from the list or type another."), field="gesture")
    return intents.Grant(number=number, gesture=gesture, amount=amount_of(data.get("amount")),
                         note=_str(data.get("note")) or None, text=text)  # fmt: skip


def _step(data: dict[str, Any], text: str) -> Intent:
    number = _case(data)
    return intents.AddStep(number=number, what=_str(data.get("text")), owner=_str(data.get("owner")) or None,
                           due=due_of(data), text=text)  # fmt: skip


def _resolve(data: dict[str, Any], text: str) -> Intent:
    number = _case(data)
    return intents.Resolve(number=number, summary=_str(data.get("summary")), root_cause=_str(data.get("root_cause")),
                           cause=_str(data.get("cause")) or None, text=text)  # fmt: skip


def _followup(data: dict[str, Any], text: str) -> Intent:
    number = _case(data)
    satisfied = _str(data.get("satisfied")).lower()
    if satisfied not in ("yes", "no"):
        raise BadInput(_("Was the customer satisfied?"), _("Choose Satisfied or Not yet."), field="satisfied")
    raw_score = _str(data.get("score"))
    if not raw_score:
        raise BadInput(_("The score is missing."), _("Give the customer's score from 1 to 5."), field="score")
    score: Any = int(raw_score) if raw_score.isdecimal() else raw_score  # the core refuses a bad one
    won = {"won": True, "lost": False}.get(_str(data.get("won_back")).lower())
    return intents.Followup(number=number, satisfied=satisfied == "yes", score=score, won_back=won, text=text)


def _handover(data: dict[str, Any], text: str) -> Intent:
    number, to = _case(data), _str(data.get("to"))
    if not to:
        raise BadInput(_("Who should own the case?"), _("Pick the new owner."), field="to")
    return intents.Handover(number=number, to=to, text=text)


def _category(data: dict[str, Any], text: str) -> Intent:
    number, category = _case(data), _str(data.get("category"))
    if not category:
        raise BadInput(_("Which category?"), _("Pick one from the list."), field="category")
    return intents.Recategorise(number=number, category=category, text=text)


def _cancel(data: dict[str, Any], text: str) -> Intent:
    number = _case(data)
    why = _str(data.get("why")).lower() or "mistake"
    if why == "duplicate":
        other = _int(data.get("duplicate_of"), DUPLICATE_NUMBER)
        reason = _("duplicate of %(number)s") % {"number": other}
        return intents.Cancel(number=number, reason=reason, duplicate_of=other, text=text)
    reason = "mistake" if why == "mistake" else _str(data.get("reason"))
    if not reason:
        raise BadInput(_("Say why the case is cancelled."), _("Write a reason."), field="reason")
    return intents.Cancel(number=number, reason=reason, text=text)


def _noted(cls: type[intents.Flag | intents.Reopen]) -> Reader:
    return lambda data, text: cls(number=_case(data), note=_str(data.get("note")) or None, text=text)


READERS: dict[str, Reader] = {
    "open": _open, "withdraw": _withdraw, "approve": _decision(intents.Approve), "deny": _decision(intents.Deny),
    "shoutout": _shoutout, "form": lambda data, text: intents.OpenForm(text=text),
    "claim": _plain(intents.Claim), "show": _plain(intents.Show), "timeline": _plain(intents.Timeline),
    "draft": _plain(intents.Draft), "send_form": _plain(intents.SendForm), "send": _send, "snooze": _snooze,
    "done": _done, "apologise": _apologise, "grant": _grant, "step": _step, "resolve": _resolve,
    "followup": _followup, "handover": _handover, "category": _category, "cancel": _cancel,
    "flag": _noted(intents.Flag), "reopen": _noted(intents.Reopen),
}  # fmt: skip


_TAGS = re.compile(r"<[^>]+>")


def html_to_text(content: str) -> str:
    """A Teams message body (HTML) as plain text, for opening a case from a message."""
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", content or "")
    text = html.unescape(_TAGS.sub("", text)).replace("\xa0", " ")
    return "\n".join(line.strip() for line in text.splitlines()).strip()
