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
from teambot.core.cases.kinds import APOLOGY_METHODS, SEVERITIES, ApologyMethod, Severity
from teambot.core.cases.queries import CaseDetail
from teambot.core.cases.summary import authority_note
from teambot.core.i18n import LANGUAGES, format_money, language_name
from teambot.core.i18n import gettext as _
from teambot.core.money import MAX_AMOUNT, amount_input_hint, step_for
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

# Which input shows a core error, per modal: DomainError.field (spaces read as "_") -> block_id.
FIELD_BLOCKS: dict[str, dict[str, str | tuple[str, ...]]] = {
    "open": {"customer": "customer", "problem": "problem", "wish": "wants", "category": "category",
             "severity": "severity", "channel": "channel", "email": "email", "language": "language"},
    "apologise": {"method": "method", "apology": "words"},
    "grant": {"gesture": ("gesture_text", "gesture"), "amount": "amount", "note": "note"},
    "step": {"next_step": "text", "due": "due", "owner": "owner"},
    "resolve": {"resolution": "summary", "root_cause": "root_cause"},
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
    target = FIELD_BLOCKS.get(modal, {}).get((field or "").replace(" ", "_"))
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
        element["placeholder"] = plain_text(_("Choose…"), PLACEHOLDER)
    chosen = next((o for o in opts if o["value"] == initial), None)
    if chosen is not None:
        element["initial_option"] = chosen
    return _input(block_id, label, element, optional, hint)


def user_select(block_id: str, label: str, *, initial: str | None = None, optional: bool = False) -> Block:
    element: dict[str, Any] = {
        "type": "users_select",
        "action_id": "value",
        "placeholder": plain_text(_("Choose a person"), PLACEHOLDER),
    }
    if initial:
        element["initial_user"] = initial
    return _input(block_id, label, element, optional)


def modal(
    callback_id: str, title: str, blocks: list[Block], meta: dict[str, Any], submit: str | None = None
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain_text(title, TITLE),
        "submit": plain_text(submit or _("Save"), TITLE),
        "close": plain_text(_("Cancel"), TITLE),
        "private_metadata": metadata(meta),
        "blocks": blocks[:VIEW_BLOCKS],
    }


# ----- the modals ------------------------------------------------------------------------------


def case_heading(number: int, problem: str, limit: int = 2800) -> Block:
    """The case a form acts on, at its top: its number and what went wrong."""
    return section(_("*Case #%(number)s:* %(problem)s") % {"number": number, "problem": inert(clip(problem, limit))})


def _message_note(length: int) -> str:
    """What a form opened from a message says first, in the reader's language."""
    note = _("Opening a case from a message; the card will quote it and link back to it.")
    if length > MAX_TEXT:
        note += " " + _("The message is %(length)s characters, so the form holds its first %(limit)s.") % {
            "length": length, "limit": MAX_TEXT}  # fmt: skip
    return note


def open_case(
    categories: list[str],
    meta: dict[str, Any],
    *,
    prefill: dict[str, Any] | None = None,
    ask_channel: bool = False,
) -> dict[str, Any]:
    """The guided form: customer, what went wrong, what they want, category, severity, own it."""
    given = prefill or {}
    blocks: list[Block] = []
    if given.get("message_length") is not None:
        blocks.append(context(_message_note(int(given["message_length"]))))
    elif given.get("quote_note"):  # a form recorded by an older version, its note written then
        blocks.append(context(given["quote_note"]))
    if ask_channel:
        picker = {
            "type": "conversations_select",
            "action_id": "value",
            "filter": {"include": ["public", "private"], "exclude_bot_users": True},
            "placeholder": plain_text(_("Choose a channel"), PLACEHOLDER),
        }
        blocks.append(_input("channel", _("Post the case card in"), picker, False))
    blocks += [
        text_input("customer", _("Customer"), optional=True, max_length=MAX_SHORT, initial=given.get("customer"),
                   placeholder=_("Who was let down? e.g. Mrs Patel, room 412")),
        text_input("email", _("Customer's email"), optional=True, max_length=254, initial=given.get("email"),
                   placeholder="jane@example.com", hint=_("For the written follow-up; only the team sees it.")),
        select("language", _("Customer's language"), [(language_name(code), code) for code in LANGUAGES],
               initial=given.get("language"), optional=True,
               hint=_("The follow-up email and feedback page use it; the team's language if left empty.")),
        text_input("problem", _("What went wrong"), multiline=True, max_length=MAX_TEXT, initial=given.get("problem"),
                   placeholder=_("In the customer's words, if you can")),
        text_input("wants", _("What they want"), multiline=True, optional=True, max_length=MAX_TEXT,
                   initial=given.get("wants"), placeholder=_("What would put it right for them?")),
        select("category", _("Category"), [(name, name) for name in categories if name and len(name) <= OPTION_VALUE],
               initial=given.get("category"), optional=True)
        if categories else text_input("category", _("Category"), optional=True, max_length=64),
        select("severity", _("Severity"), [(Severity(s).choice, s) for s in SEVERITIES],
               initial=given.get("severity") or "medium"),
        {
            "type": "input", "block_id": "own", "optional": True, "label": plain_text(_("Owner"), LABEL),
            "element": {"type": "checkboxes", "action_id": "value",
                        "options": [option(_("I'll own this"), "own")]},
        },
    ]  # fmt: skip
    return modal("open", _("Open a recovery case"), blocks, meta, submit=_("Open case"))


def apologise(detail: CaseDetail, meta: dict[str, Any]) -> dict[str, Any]:
    case = detail.case
    methods = [(ApologyMethod(method).choice, method) for method in APOLOGY_METHODS]
    blocks = [
        case_heading(case.number, case.problem),
        select("method", _("How did you apologise?"), methods, initial=case.apology_method or "in_person", radio=True),
        text_input("words", _("What you said (optional)"), multiline=True, optional=True, max_length=1000,
                   initial=case.apology_words,
                   placeholder=_("e.g. I'm sorry your evening was spoiled; that's not what we want for you.")),
    ]  # fmt: skip
    return modal("apologise", _("Apology · #%(number)s") % {"number": case.number}, blocks, meta)


def grant(detail: CaseDetail, meta: dict[str, Any], user: str) -> dict[str, Any]:
    case, cur = detail.case, detail.currency
    catalogue = detail.policy.catalogue
    choices = []
    for gesture in catalogue:
        value = str(gesture["name"])[:OPTION_VALUE]  # catalogue names are at most 120 characters
        choices.append((f"{gesture['name']} · {format_money(gesture_value(gesture), cur)}", value))
    limit = limit_for(detail.policy, user)
    authority = format_money(limit, cur) if limit is not None else _("unlimited")
    mine = _("(Your authority: %(amount)s per case.)") % {"amount": authority}
    blocks: list[Block] = [
        section(_("*Case #%(number)s:* %(problem)s") % {"number": case.number, "problem": inert(clip(case.problem, 2000))}
                + f"\n{authority_note(detail.authority_left(user), cur)} {mine}"),
    ]  # fmt: skip
    if choices:
        blocks.append(select("gesture", _("Gesture"), choices, initial=choices[0][1],
                             hint=_("The catalogue value is used unless you type an amount.")))  # fmt: skip
    example = amount_input_hint(cur)
    blocks += [
        text_input("other", _("Or another gesture"), optional=True, max_length=120,
                   placeholder=_("Only if it is not in the list")) if choices else
        text_input("gesture_text", _("Gesture"), max_length=120, placeholder=_("e.g. Free dessert")),
        amount_input("amount", _("Amount (%(currency)s)") % {"currency": cur}, cur, optional=bool(choices),
                     placeholder=_("Empty: the catalogue value") if choices else example,
                     hint=_("In %(currency)s, such as %(example)s.") % {"currency": cur, "example": example}),
        text_input("note", _("Note for the approver (if one is needed)"), multiline=True, optional=True,
                   max_length=1000),
    ]  # fmt: skip
    return modal("grant", _("Compensation · #%(number)s") % {"number": case.number}, blocks, meta, submit=_("Grant"))


def grant_gesture(vals: dict[str, Any]) -> str:
    """The gesture named by the form: a typed one wins over the list."""
    typed = (vals.get("other") or vals.get("gesture_text") or "").strip()
    return typed or (vals.get("gesture") or "")


def step(detail: CaseDetail, meta: dict[str, Any], actor: str) -> dict[str, Any]:
    case = detail.case
    blocks = [
        text_input("text", _("Next step"), multiline=True, max_length=1000,
                   placeholder=_("What was agreed with the customer?")),
        user_select("owner", _("Who does it"), initial=case.owner_id or actor),
        due_input("due", _("Due (optional)"), hint=_("In your own time zone.")),
    ]  # fmt: skip
    title = _("Next step · #%(number)s") % {"number": case.number}
    return modal("step", title, blocks, meta, submit=_("Add step"))


def resolve(detail: CaseDetail, meta: dict[str, Any], causes: list[str] | None = None,
            current: str | None = None) -> dict[str, Any]:  # fmt: skip
    """`causes`: the team's, offered with the case's current one preselected (a case resolved again);
    left empty, Teambot files the root cause under the nearest cause by meaning and says so."""
    case = detail.case
    blocks = [
        case_heading(case.number, case.problem),
        text_input("summary", _("What you did to put it right"), multiline=True, max_length=MAX_TEXT),
        text_input("root_cause", _("Root cause"), multiline=True, max_length=500,
                   hint=_("What let the customer down in the first place; the weekly digest learns from it.")),
    ]  # fmt: skip
    if causes:
        blocks.append(select("cause", _("Cause"), [(name, name) for name in causes], initial=current, optional=True,
                             hint=_("Empty: Teambot files it under the closest cause by meaning, and says which.")))  # fmt: skip
    return modal("resolve", _("Resolve · #%(number)s") % {"number": case.number}, blocks, meta, submit=_("Resolve"))


def send(detail: CaseDetail, meta: dict[str, Any], body: str) -> dict[str, Any]:
    """The follow-up email's draft, editable before it goes to the customer."""
    blocks = [
        text_input("body", _("The email"), multiline=True, max_length=MAX_TEXT, initial=body,
                   hint=_("Teambot adds the greeting, your name and the one-click feedback link.")),
    ]  # fmt: skip
    title = _("Send follow-up · #%(number)s") % {"number": detail.case.number}
    return modal("send", title, blocks, meta, submit=_("Send"))


def followup(detail: CaseDetail, meta: dict[str, Any], satisfied: bool | None = None) -> dict[str, Any]:
    case = detail.case
    initial = None if satisfied is None else ("yes" if satisfied else "no")
    answers = [(_("Won back"), "won"), (_("Lost"), "lost"), (_("Don't know"), "unknown")]
    blocks = [
        case_heading(case.number, case.problem),
        select("satisfied", _("Is the customer satisfied?"), [(_("Yes, satisfied"), "yes"), (_("Not yet"), "no")],
               initial=initial, radio=True),
        select("score", _("Their score"), [(f"{score} / 5", str(score)) for score in range(5, 0, -1)]),
        select("won_back", _("Will they come back?"), answers, initial="unknown", radio=True, optional=True),
    ]  # fmt: skip
    return modal("followup", _("Follow-up · #%(number)s") % {"number": case.number}, blocks, meta)


def handover(detail: CaseDetail, meta: dict[str, Any]) -> dict[str, Any]:
    case = detail.case
    owned = _("*Case #%(number)s* is owned by %(owner)s.") % {"number": case.number, "owner": f"<@{case.owner_id}>"}
    blocks = [
        section(owned if case.owner_id else f"*{_('Case #%(number)s') % {'number': case.number}}*"),
        user_select("to", _("Hand it to")),
    ]
    title = _("Hand over · #%(number)s") % {"number": case.number}
    return modal("handover", title, blocks, meta, submit=_("Hand over"))


def flag(detail: CaseDetail, meta: dict[str, Any]) -> dict[str, Any]:
    blocks = [
        text_input("note", _("What should change in the process?"), multiline=True, max_length=1000,
                   placeholder=_("So the next customer is not let down the same way")),
    ]  # fmt: skip
    return modal("flag", _("Flag · #%(number)s") % {"number": detail.case.number}, blocks, meta, submit=_("Flag"))


def shoutout(detail: CaseDetail, meta: dict[str, Any]) -> dict[str, Any]:
    case = detail.case
    blocks = [
        user_select("to", _("Who deserves it"), initial=case.owner_id),
        text_input("message", _("Why"), multiline=True, max_length=1000,
                   placeholder=_("What they did that made the difference")),
    ]  # fmt: skip
    title = _("Shout out · #%(number)s") % {"number": case.number}
    return modal("shoutout", title, blocks, meta, submit=_("Send"))


def deny(approval_id: int, gesture: str, meta: dict[str, Any]) -> dict[str, Any]:
    asked = _("Deny %(gesture)s (request %(id)s)?") % {"gesture": safe(clip(gesture, 200)), "id": approval_id}
    blocks = [
        section(asked),
        text_input("note", _("Reason (optional)"), multiline=True, optional=True, max_length=1000),
    ]
    title = _("Deny request %(id)s") % {"id": approval_id}
    return modal("deny", title, blocks, meta, submit=_("Deny"))


def reopen(detail: CaseDetail, meta: dict[str, Any]) -> dict[str, Any]:
    blocks = [
        text_input("reason", _("Why reopen it? (optional)"), multiline=True, optional=True, max_length=1000)
    ]
    title = _("Reopen · #%(number)s") % {"number": detail.case.number}
    return modal("reopen", title, blocks, meta, submit=_("Reopen"))


def show(message: dict[str, Any], number: int) -> dict[str, Any]:
    """A read-only card in a modal (from App Home, where there is no channel to answer in)."""
    blocks = [b for b in message["blocks"] if b.get("type") != "actions"]
    blocks.append(context(_("Act on it from its card, or with `/recover <step> %(number)s`.") % {"number": number}))
    return {
        "type": "modal",
        "title": plain_text(_("Case #%(number)s") % {"number": number}, TITLE),
        "close": plain_text(_("Close"), TITLE),
        "blocks": blocks[:VIEW_BLOCKS],
    }
