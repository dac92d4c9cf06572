"""Modals: pure view builders, reading their submitted values, and mapping core errors to inputs.

Each modal's `callback_id` names the step; `private_metadata` carries where it came from
(case number, channel, the response_url to answer through) so the submission needs no lookup.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from teambot.core.cases.common import MAX_SHORT, MAX_TEXT
from teambot.core.cases.kinds import APOLOGY_METHODS, SEVERITIES
from teambot.core.cases.queries import CaseDetail
from teambot.core.cases.summary import APOLOGY_LABELS, authority_note
from teambot.core.i18n import LANGUAGES, language_name
from teambot.core.money import MAX_AMOUNT, amount_input_hint, format_amount, step_for
from teambot.core.policy.rules import gesture_value, limit_for
from teambot.slack.blocks import (
    OPTION_VALUE,
    SELECT_OPTIONS,
    VIEW_BLOCKS,
    Block,
    clip,
    context,
    inert,
    option,
    plain_text,
    safe,
    section,
)

TITLE = 24
LABEL = 2000
PLACEHOLDER = 150
METADATA = 3000

# Which input shows a core error, per modal: DomainError.field -> block_id.
FIELD_BLOCKS: dict[str, dict[str, str | tuple[str, ...]]] = {
    "open": {"customer": "customer", "problem": "problem", "wish": "wants", "category": "category",
             "severity": "severity", "channel": "channel", "email": "email", "language": "language"},
    "apologise": {"method": "method", "apology": "words"},
    "grant": {"gesture": ("gesture_text", "gesture"), "amount": "amount", "note": "note"},
    "step": {"next step": "text", "due": "due", "owner": "owner"},
    "resolve": {"resolution": "summary", "root_cause": "root_cause", "root cause": "root_cause"},
    "followup": {"score": "score", "satisfied": "satisfied"},
    "handover": {"to": "to"},
    "flag": {"note": "note"},
    "shoutout": {"to": "to", "message": "message", "note": "message"},
    "deny": {"note": "note"},
    "reopen": {"reason": "reason"},
    "send": {"body": "body"},
}  # fmt: skip


def metadata(data: dict[str, Any]) -> str:
    """JSON under the 3000-character limit; a long response_url is the first thing dropped."""
    raw = json.dumps(data, separators=(",", ":"))
    if len(raw) > METADATA:
        raw = json.dumps({k: v for k, v in data.items() if k != "response_url"}, separators=(",", ":"))
    return raw[:METADATA]


def read_metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def values(view: dict[str, Any]) -> dict[str, Any]:
    """{block_id: value} for every input: text, selected option value, user, channel, checkboxes."""
    out: dict[str, Any] = {}
    for block_id, inputs in (view.get("state") or {}).get("values", {}).items():
        for item in inputs.values():
            kind = item.get("type")
            if kind == "plain_text_input":
                out[block_id] = item.get("value")
            elif kind in ("static_select", "radio_buttons"):
                sel = item.get("selected_option")
                out[block_id] = sel.get("value") if sel else None
            elif kind == "users_select":
                out[block_id] = item.get("selected_user")
            elif kind in ("conversations_select", "channels_select"):
                out[block_id] = item.get("selected_conversation") or item.get("selected_channel")
            elif kind == "datetimepicker":  # seconds since the epoch, chosen in the person's own zone
                out[block_id] = item.get("selected_date_time")
            elif kind == "checkboxes":
                out[block_id] = [o.get("value") for o in item.get("selected_options") or []]
            else:
                out[block_id] = item.get("value")
    return out


def field_errors(modal: str, field: str | None, message: str, present: set[str]) -> dict[str, str] | None:
    """`response_action: errors` content when the error names an input this modal has."""
    target = FIELD_BLOCKS.get(modal, {}).get(field or "")
    candidates = (target,) if isinstance(target, str) else (target or ())
    block = next((b for b in candidates if b in present), None)
    return {block: clip(message, LABEL)} if block else None


def input_ids(view: dict[str, Any]) -> set[str]:
    return {b.get("block_id", "") for b in view.get("blocks", []) if b.get("type") == "input"}


# ----- building blocks ---------------------------------------------------------------------------


def text_input(
    block_id: str, label: str, *, multiline: bool = False, optional: bool = False, max_length: int | None = None,
    initial: str | None = None, placeholder: str | None = None, hint: str | None = None,
) -> Block:  # fmt: skip
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "multiline": multiline}
    if max_length:
        element["max_length"] = min(max_length, MAX_TEXT)
    if initial:
        element["initial_value"] = clip(initial, element.get("max_length", MAX_TEXT))
    if placeholder:
        element["placeholder"] = plain_text(placeholder, PLACEHOLDER)
    return _input(block_id, label, element, optional, hint)


def amount_input(
    block_id: str, label: str, currency: str, *, optional: bool = False, placeholder: str | None = None,
    hint: str | None = None,
) -> Block:  # fmt: skip
    """Slack's own number input: decimals only where the currency has them, never zero or less."""
    step = step_for(currency)
    element: dict[str, Any] = {
        "type": "number_input", "action_id": "value", "is_decimal_allowed": step < 1,
        "min_value": str(step), "max_value": str(MAX_AMOUNT),
    }  # fmt: skip
    if placeholder:
        element["placeholder"] = plain_text(placeholder, PLACEHOLDER)
    return _input(block_id, label, element, optional, hint)


def due_input(block_id: str, label: str, *, optional: bool = True, hint: str | None = None) -> Block:
    """Slack's date-and-time picker, shown in the person's own time zone; it sends epoch seconds."""
    element: dict[str, Any] = {"type": "datetimepicker", "action_id": "value"}
    return _input(block_id, label, element, optional, hint)


def due_text(epoch: Any, tz: str) -> str | None:
    """A picked due time as the "YYYY-MM-DD HH:MM" the core reads (parse_due) in the person's zone."""
    if epoch in (None, ""):
        return None
    try:
        at = datetime.fromtimestamp(int(epoch), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return str(epoch)  # not a time: parse_due refuses it, naming what came
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _input(
    block_id: str, label: str, element: dict[str, Any], optional: bool, hint: str | None = None
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain_text(label, LABEL),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain_text(hint, LABEL)
    return block


def select(
    block_id: str, label: str, choices: list[tuple[str, str]], *, initial: str | None = None,
    optional: bool = False, radio: bool = False, hint: str | None = None,
) -> Block:  # fmt: skip
    opts = [option(lbl, val) for lbl, val in choices[:SELECT_OPTIONS]]
    element: dict[str, Any] = {
        "type": "radio_buttons" if radio else "static_select",
        "action_id": "value",
        "options": opts,
    }
    if not radio:
        element["placeholder"] = plain_text("Choose…", PLACEHOLDER)
    chosen = next((o for o in opts if o["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return _input(block_id, label, element, optional, hint)


def user_select(block_id: str, label: str, *, initial: str | None = None, optional: bool = False) -> Block:
    element: dict[str, Any] = {
        "type": "users_select",
        "action_id": "value",
        "placeholder": plain_text("Choose a person", PLACEHOLDER),
    }
    if initial:
        element["initial_user"] = initial
    return _input(block_id, label, element, optional)


def modal(
    callback_id: str, title: str, blocks: list[Block], meta: dict[str, Any], submit: str = "Save"
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain_text(title, TITLE),
        "submit": plain_text(submit, TITLE),
        "close": plain_text("Cancel", TITLE),
        "private_metadata": metadata(meta),
        "blocks": blocks[:VIEW_BLOCKS],
    }


# ----- the modals ------------------------------------------------------------------------------


def open_case(
    categories: list[str],
    meta: dict[str, Any],
    *,
    prefill: dict[str, Any] | None = None,
    ask_channel: bool = False,
) -> dict[str, Any]:
    """The guided form: customer, what went wrong, what they want, category, severity, own it."""
    p = prefill or {}
    blocks: list[Block] = []
    if p.get("quote_note"):
        blocks.append(context(p["quote_note"]))
    if ask_channel:
        picker = {
            "type": "conversations_select",
            "action_id": "value",
            "filter": {"include": ["public", "private"], "exclude_bot_users": True},
            "placeholder": plain_text("Choose a channel", PLACEHOLDER),
        }
        blocks.append(_input("channel", "Post the case card in", picker, False))
    blocks += [
        text_input("customer", "Customer", optional=True, max_length=MAX_SHORT, initial=p.get("customer"),
                   placeholder="Who was let down? e.g. Mrs Patel, room 412"),
        text_input("email", "Customer's email", optional=True, max_length=254, initial=p.get("email"),
                   placeholder="jane@example.com", hint="For the written follow-up; only the team sees it."),
        select("language", "Customer's language", [(language_name(c), c) for c in LANGUAGES],
               initial=p.get("language"), optional=True,
               hint="The follow-up email and feedback page use it; the team's language if left empty."),
        text_input("problem", "What went wrong", multiline=True, max_length=MAX_TEXT, initial=p.get("problem"),
                   placeholder="In the customer's words, if you can"),
        text_input("wants", "What they want", multiline=True, optional=True, max_length=MAX_TEXT,
                   initial=p.get("wants"), placeholder="What would put it right for them?"),
        select("category", "Category", [(c, c) for c in categories if c and len(c) <= OPTION_VALUE],
               initial=p.get("category"), optional=True)
        if categories else text_input("category", "Category", optional=True, max_length=64),
        select("severity", "Severity", [(s.title(), s) for s in SEVERITIES], initial=p.get("severity") or "medium"),
        {
            "type": "input", "block_id": "own", "optional": True, "label": plain_text("Owner", LABEL),
            "element": {"type": "checkboxes", "action_id": "value",
                        "options": [option("I'll own this", "own")]},
        },
    ]  # fmt: skip
    return modal("open", "Open a recovery case", blocks, meta, submit="Open case")


def apologise(detail: CaseDetail, meta: dict[str, Any]) -> dict[str, Any]:
    c = detail.case
    methods = [(APOLOGY_LABELS.get(m, m).capitalize(), m) for m in APOLOGY_METHODS]
    blocks = [
        section(f"*Case #{c.number}:* {inert(clip(c.problem, 2800))}"),
        select("method", "How did you apologise?", methods, initial=c.apology_method or "in_person", radio=True),
        text_input("words", "What you said (optional)", multiline=True, optional=True, max_length=1000,
                   initial=c.apology_words, placeholder="e.g. I'm sorry your evening was spoiled; that's not what we want for you."),
    ]  # fmt: skip
    return modal("apologise", f"Apology · #{c.number}", blocks, meta)


def grant(detail: CaseDetail, meta: dict[str, Any], user: str) -> dict[str, Any]:
    c, cur = detail.case, detail.currency
    catalogue = detail.policy.catalogue
    choices = []
    for g in catalogue:
        value = str(g["name"])[:OPTION_VALUE]  # catalogue names are at most 120 characters
        choices.append((f"{g['name']} · {format_amount(gesture_value(g), cur)}", value))
    limit = limit_for(detail.policy, user)
    authority = format_amount(limit, cur) if limit is not None else "unlimited"
    blocks: list[Block] = [
        section(f"*Case #{c.number}:* {inert(clip(c.problem, 2000))}\n"
                f"{authority_note(detail.authority_left(user), cur)} (Your authority: {authority} per case.)"),
    ]  # fmt: skip
    if choices:
        blocks.append(select("gesture", "Gesture", choices, initial=choices[0][1],
                             hint="The catalogue value is used unless you type an amount."))  # fmt: skip
    blocks += [
        text_input("other", "Or another gesture", optional=True, max_length=120,
                   placeholder="Only if it is not in the list") if choices else
        text_input("gesture_text", "Gesture", max_length=120, placeholder="e.g. Free dessert"),
        amount_input("amount", f"Amount ({cur})", cur, optional=bool(choices),
                     placeholder="Empty: the catalogue value" if choices else amount_input_hint(cur),
                     hint=f"In {cur}, such as {amount_input_hint(cur)}."),
        text_input("note", "Note for the approver (if one is needed)", multiline=True, optional=True, max_length=1000),
    ]  # fmt: skip
    return modal("grant", f"Compensation · #{c.number}", blocks, meta, submit="Grant")


def grant_gesture(vals: dict[str, Any]) -> str:
    """The gesture named by the form: a typed one wins over the list."""
    typed = (vals.get("other") or vals.get("gesture_text") or "").strip()
    return typed or (vals.get("gesture") or "")


def step(detail: CaseDetail, meta: dict[str, Any], actor: str) -> dict[str, Any]:
    c = detail.case
    blocks = [
        text_input("text", "Next step", multiline=True, max_length=1000, placeholder="What was agreed with the customer?"),
        user_select("owner", "Who does it", initial=c.owner_id or actor),
        due_input("due", "Due (optional)", hint="In your own time zone."),
    ]  # fmt: skip
    return modal("step", f"Next step · #{c.number}", blocks, meta, submit="Add step")


def resolve(detail: CaseDetail, meta: dict[str, Any], causes: list[str] | None = None,
            current: str | None = None) -> dict[str, Any]:  # fmt: skip
    """`causes`: the team's, offered with the case's current one preselected (a case resolved again);
    left empty, Teambot files the root cause under the nearest cause by meaning and says so."""
    c = detail.case
    blocks = [
        section(f"*Case #{c.number}:* {inert(clip(c.problem, 2800))}"),
        text_input("summary", "What you did to put it right", multiline=True, max_length=MAX_TEXT),
        text_input("root_cause", "Root cause", multiline=True, max_length=500,
                   hint="What let the customer down in the first place; the weekly digest learns from it."),
    ]  # fmt: skip
    if causes:
        blocks.append(select("cause", "Cause", [(name, name) for name in causes], initial=current, optional=True,
                             hint="Empty: Teambot files it under the closest cause by meaning, and says which."))  # fmt: skip
    return modal("resolve", f"Resolve · #{c.number}", blocks, meta, submit="Resolve")


def send(detail: CaseDetail, meta: dict[str, Any], body: str) -> dict[str, Any]:
    """The follow-up email's draft, editable before it goes to the customer."""
    c = detail.case
    blocks = [
        text_input("body", "The email", multiline=True, max_length=MAX_TEXT, initial=body,
                   hint="Teambot adds the greeting, your name and the one-click feedback link."),
    ]  # fmt: skip
    return modal("send", f"Send follow-up · #{c.number}", blocks, meta, submit="Send")


def followup(detail: CaseDetail, meta: dict[str, Any], satisfied: bool | None = None) -> dict[str, Any]:
    c = detail.case
    initial = None if satisfied is None else ("yes" if satisfied else "no")
    blocks = [
        section(f"*Case #{c.number}:* {inert(clip(c.problem, 2800))}"),
        select("satisfied", "Is the customer satisfied?", [("Yes, satisfied", "yes"), ("Not yet", "no")],
               initial=initial, radio=True),
        select("score", "Their score", [(f"{i} / 5", str(i)) for i in range(5, 0, -1)]),
        select("won_back", "Will they come back?", [("Won back", "won"), ("Lost", "lost"), ("Don't know", "unknown")],
               initial="unknown", radio=True, optional=True),
    ]  # fmt: skip
    return modal("followup", f"Follow-up · #{c.number}", blocks, meta)


def handover(detail: CaseDetail, meta: dict[str, Any]) -> dict[str, Any]:
    c = detail.case
    blocks = [
        section(f"*Case #{c.number}* is owned by <@{c.owner_id}>." if c.owner_id else f"*Case #{c.number}*"),
        user_select("to", "Hand it to"),
    ]
    return modal("handover", f"Hand over · #{c.number}", blocks, meta, submit="Hand over")


def flag(detail: CaseDetail, meta: dict[str, Any]) -> dict[str, Any]:
    blocks = [
        text_input("note", "What should change in the process?", multiline=True, max_length=1000,
                   placeholder="So the next customer is not let down the same way"),
    ]  # fmt: skip
    return modal("flag", f"Flag · #{detail.case.number}", blocks, meta, submit="Flag")


def shoutout(detail: CaseDetail, meta: dict[str, Any]) -> dict[str, Any]:
    c = detail.case
    blocks = [
        user_select("to", "Who deserves it", initial=c.owner_id),
        text_input("message", "Why", multiline=True, max_length=1000, placeholder="What they did that made the difference"),
    ]  # fmt: skip
    return modal("shoutout", f"Shout out · #{c.number}", blocks, meta, submit="Send")


def deny(approval_id: int, gesture: str, meta: dict[str, Any]) -> dict[str, Any]:
    blocks = [
        section(f"Deny {safe(clip(gesture, 200))} (request {approval_id})?"),
        text_input("note", "Reason (optional)", multiline=True, optional=True, max_length=1000),
    ]
    return modal("deny", f"Deny request {approval_id}", blocks, meta, submit="Deny")


def reopen(detail: CaseDetail, meta: dict[str, Any]) -> dict[str, Any]:
    blocks = [
        text_input("reason", "Why reopen it? (optional)", multiline=True, optional=True, max_length=1000)
    ]
    return modal("reopen", f"Reopen · #{detail.case.number}", blocks, meta, submit="Reopen")


def show(message: dict[str, Any], number: int) -> dict[str, Any]:
    """A read-only card in a modal (from App Home, where there is no channel to answer in)."""
    blocks = [b for b in message["blocks"] if b.get("type") != "actions"]
    blocks.append(context(f"Act on it from its card, or with `/recover <step> {number}`."))
    return {
        "type": "modal",
        "title": plain_text(f"Case #{number}", TITLE),
        "close": plain_text("Close", TITLE),
        "blocks": blocks[:VIEW_BLOCKS],
    }
