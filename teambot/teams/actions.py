"""Card submits to core Intents. Pure: the submitted data in, an Intent (or a refusal) out.

Card inputs are typed by people, so nothing is trusted: a missing or odd value becomes a
BadInput naming the field, which the adapter shows back on the form with what was typed.
"""

from __future__ import annotations

import html
import re
from typing import Any

from teambot.core.commands.grammar import parse
from teambot.core.commands.intents import Intent, intent_for
from teambot.core.errors import BadInput

ID_KEYS = ("number", "approval_id", "position")
# Every action a Teambot card can send, and the form it came from (None: a plain button).
FORMS = {
    "open": "open", "apologise": "apologise", "grant": "grant", "step": "step", "resolve": "resolve",
    "followup": "followup", "handover": "handover", "flag": "flag", "reopen": "reopen",
    "shoutout": "shoutout", "deny": "deny", "send": "send", "category": "category", "cancel": "cancel",
}  # fmt: skip
BUTTONS = ("claim", "show", "timeline", "draft", "approve", "done", "snooze", "form", "send_form", "withdraw", "run")


def _int(value: Any, name: str) -> int:
    try:
        return int(str(value).strip().lstrip("#"))
    except (TypeError, ValueError):
        raise BadInput(f"The {name} on this card is missing or not a number.",
                       "Ask for a fresh card with recover show <case>.") from None  # fmt: skip


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
    shown = {k: v for k, v in data.items() if k not in ("teambot", "form_card", "msteams", "home") and _str(v)}
    return f"{action}: " + ", ".join(f"{k}={_str(v)}" for k, v in shown.items())


def intent_from_submit(action: str, data: dict[str, Any]) -> Intent:
    """The Intent a card button means; raises BadInput when the card data can't make one."""
    text = echo(action, data)
    if action == "open":
        args = {k: _str(data.get(k)) or None for k in ("customer", "wants", "category", "severity", "email", "language")}
        return intent_for("open", {"problem": _str(data.get("problem")), **args}, text=text)
    if action == "run":  # "did you mean": the command the button offers, run as whoever presses it
        return parse(_str(data.get("command")))
    if action == "withdraw":
        return intent_for("withdraw", {"approval_id": _int(data.get("approval_id"), "request number")}, text=text)
    if action in ("approve", "deny"):
        note = _str(data.get("note")) or None
        return intent_for(action, {"approval_id": _int(data.get("approval_id"), "request number"), "note": note},
                      text=text)  # fmt: skip
    if action == "shoutout":
        number = data.get("number")
        args: dict[str, Any] = {"to": _str(data.get("to")), "message": _str(data.get("message"))}
        if not args["to"]:
            raise BadInput("Who is the shout-out for?", "Pick a person.", field="to")
        if number not in (None, ""):
            args["number"] = _int(number, "case number")
        return intent_for("shoutout", args, text=text)
    if action == "form":
        return intent_for("form", {}, text=text)
    n = _int(data.get("number"), "case number")
    if action in ("claim", "show", "timeline", "draft", "send_form"):
        return intent_for(action, {"number": n}, text=text)
    if action == "send":  # the editable draft, as the owner left it
        return intent_for("send", {"number": n, "body": _str(data.get("body")) or None}, text=text)
    if action == "snooze":
        return intent_for("snooze", {"number": n, "for": _str(data.get("for")) or None}, text=text)
    if action == "done":
        return intent_for("done", {"number": n, "position": _int(data.get("position"), "step number")}, text=text)
    if action == "apologise":
        return intent_for("apologise", {"number": n, "method": _str(data.get("method")),
                                    "words": _str(data.get("words")) or None}, text=text)  # fmt: skip
    if action == "grant":
        gesture = _str(data.get("gesture_other")) or _str(data.get("gesture"))
        if not gesture:
            raise BadInput("Which gesture?", "Pick one from the list or type another.", field="gesture")
        return intent_for("grant", {"number": n, "gesture": gesture, "amount": amount_of(data.get("amount")),
                                "note": _str(data.get("note")) or None}, text=text)  # fmt: skip
    if action == "step":
        return intent_for("step", {"number": n, "text": _str(data.get("text")), "owner": _str(data.get("owner")) or None,
                               "due": due_of(data)}, text=text)  # fmt: skip
    if action == "resolve":
        return intent_for("resolve", {"number": n, "summary": _str(data.get("summary")),
                                  "root_cause": _str(data.get("root_cause")), "cause": _str(data.get("cause")) or None},
                          text=text)  # fmt: skip
    if action == "followup":
        satisfied = _str(data.get("satisfied")).lower()
        if satisfied not in ("yes", "no"):
            raise BadInput("Was the customer satisfied?", "Choose Satisfied or Not yet.", field="satisfied")
        raw_score = _str(data.get("score"))
        if not raw_score:
            raise BadInput("The score is missing.", "Give the customer's score from 1 to 5.", field="score")
        score: Any = int(raw_score) if raw_score.isdecimal() else raw_score  # the core refuses a bad one
        won = {"won": True, "lost": False}.get(_str(data.get("won_back")).lower())
        return intent_for("followup", {"number": n, "satisfied": satisfied == "yes", "score": score,
                                   "won_back": won}, text=text)  # fmt: skip
    if action == "handover":
        to = _str(data.get("to"))
        if not to:
            raise BadInput("Who should own the case?", "Pick the new owner.", field="to")
        return intent_for("handover", {"number": n, "to": to}, text=text)
    if action == "category":
        category = _str(data.get("category"))
        if not category:
            raise BadInput("Which category?", "Pick one from the list.", field="category")
        return intent_for("category", {"number": n, "category": category}, text=text)
    if action == "cancel":
        why = _str(data.get("why")).lower() or "mistake"
        if why == "duplicate":
            other = _int(data.get("duplicate_of"), "case it duplicates")
            return intent_for("cancel", {"number": n, "reason": f"duplicate of {other}", "duplicate_of": other},
                              text=text)  # fmt: skip
        reason = "mistake" if why == "mistake" else _str(data.get("reason"))
        if not reason:
            raise BadInput("Say why the case is cancelled.", "Write a reason.", field="reason")
        return intent_for("cancel", {"number": n, "reason": reason}, text=text)
    if action in ("flag", "reopen"):
        return intent_for(action, {"number": n, "note": _str(data.get("note")) or None}, text=text)
    raise BadInput(f"This card's button ({action!r}) is not one Teambot knows.", "Ask for a fresh card.")


_TAGS = re.compile(r"<[^>]+>")


def html_to_text(content: str) -> str:
    """A Teams message body (HTML) as plain text, for opening a case from a message."""
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", content or "")
    text = html.unescape(_TAGS.sub("", text)).replace("\xa0", " ")
    return "\n".join(line.strip() for line in text.splitlines()).strip()
