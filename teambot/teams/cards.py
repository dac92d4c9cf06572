"""Replies and notices as Adaptive Cards (schema 1.5, as Teams renders them). Pure: objects in, JSON out.

Every button is a Universal Action (`Action.Execute`, verb = our action name, data carrying
`"teambot": <action>` plus what the action needs); Teams sends it as an `adaptiveCard/action`
invoke and shows the card the bot answers with to the person who pressed it. A case card
carries `refresh` (verb `refresh`, up to 60 `userIds`), so each viewer gets their own view:
the owner the steps, an approver Approve and Deny, everyone else Claim and Shout out, times
in the viewer's own zone. Forms open inline (`Action.ShowCard`); a refused form comes back as
the viewer's card with the refusal on top and every input keeping what was typed. The one
form shown in a dialog (the message extension's) uses `Action.Submit`, as dialogs require.

Every word a card shows is in the current language: the adapter renders inside `use_locale(...)`
(the person's for their own view, forms and 1:1 chats; the team's for a channel's shared card).
Times Teams formats on the client (`{{DATE()}}`) localize there, in each viewer's own.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import singledispatch
from typing import Any

from teambot.core.cases.home import HomeReply
from teambot.core.cases.kinds import ApologyMethod, Severity
from teambot.core.cases.models import Case, CaseStatus
from teambot.core.cases.replies import ApprovalsReply, CaseReply, DraftReply, ListReply, TimelineReply
from teambot.core.cases.summary import (
    ACTION_LABELS,
    STATUS_LABELS,
    authority_note,
    case_facts,
    event_line,
    title,
)
from teambot.core.commands.replies import ChoiceReply, ErrorReply, FormReply, Reply, TextReply
from teambot.core.errors import DomainError
from teambot.core.i18n import LANGUAGES, N_, format_money, format_number, format_when, language_name, pgettext
from teambot.core.i18n import gettext as _
from teambot.core.insights.replies import DigestReply
from teambot.core.money import MAX_AMOUNT, amount_input_hint, from_minor, step_for
from teambot.core.notice_actions import SNOOZE_FOR, NoticeAction, notice_actions
from teambot.core.policy.models import Policy
from teambot.core.policy.replies import PolicyReply
from teambot.core.policy.rules import gesture_value
from teambot.core.ports import Notice
from teambot.core.recognition.replies import LeaderboardReply

Card = dict[str, Any]
log = logging.getLogger(__name__)

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
# Teams refuses cards above ~28 KB; stay under it with room for the activity envelope.
CARD_BUDGET = 26_000
MAX_PRIMARY_ACTIONS = 5  # the rest go to the "..." overflow menu (mode: secondary)
MAX_REFRESH_USERS = 60  # Teams refreshes a card automatically for at most 60 userIds
REFRESH = "refresh"  # the verb of a card's own refresh (and of "Back to the case")
HOME = "home"  # the verb that refreshes the personal home
KEY = "teambot"  # the submit-data key that marks our buttons

_MENTION = re.compile(r"<@([^>|]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([^>|]+)(?:\|[^>]*)?>")


# ----- text -------------------------------------------------------------------------------------


def teams_text(text: str) -> str:
    """Slack-flavoured core text to Teams markdown: `*b*` → `**b**`, `/recover x` → `recover x`."""
    text = re.sub(r"(?<![*\w])\*([^*\n]+)\*(?![*\w])", r"**\1**", text)
    text = text.replace("`", "")
    text = re.sub(r"(?<![\w/])/recover\b", "recover", text)
    return _CHANNEL.sub(r"#\1", text)


def teams_date(at: datetime) -> str:
    """A time Teams formats in each viewer's own zone and locale (Adaptive Card date functions)."""
    iso = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    day, clock = f"{{{{DATE({iso}, SHORT)}}}}", f"{{{{TIME({iso})}}}}"
    return f"{day} {clock}"


def someone() -> str:
    """Who a card names when it has no name for a person."""
    return _("someone")


def said(text: Any) -> str:
    """A label the core gives (a marked English string, or one already in the current language) as
    the reader reads it: `str()` first, so a lazily translated label is read once, then looked up."""
    return _(str(text))


def plain_names(text: str, names: dict[str, str]) -> str:
    """`<@id>` → the person's name (facts and titles cannot carry real mentions)."""
    return _MENTION.sub(lambda m: names.get(m.group(1)) or someone(), text)


def with_mentions(text: str, names: dict[str, str], entities: list[dict[str, Any]]) -> str:
    """`<@id>` → `<at>Name</at>` plus the mention entity Teams needs to notify that person."""

    def sub(m: re.Match[str]) -> str:
        uid = m.group(1)
        name = names.get(uid)
        if not name:
            return someone()
        tag = f"<at>{name}</at>"
        if not any(e["mentioned"]["id"] == uid for e in entities):
            entities.append({"type": "mention", "text": tag, "mentioned": {"id": uid, "name": name}})
        return tag

    return _MENTION.sub(sub, text)


def mention_ids(*texts: str) -> set[str]:
    return {m.group(1) for t in texts for m in _MENTION.finditer(t or "")}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ----- building blocks --------------------------------------------------------------------------


def card(body: list[Card], actions: list[Card] | None = None, entities: list[Card] | None = None) -> Card:
    out: Card = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if actions:
        for i, action in enumerate(actions):
            if i >= MAX_PRIMARY_ACTIONS:
                action["mode"] = "secondary"
        out["actions"] = actions
    out["msteams"] = {"width": "Full"}
    if entities:
        out["msteams"]["entities"] = entities
    return out


def text_block(text: str, **extra: Any) -> Card:
    return {"type": "TextBlock", "text": text, "wrap": True, **extra}


def open_dialog(label: str, action: str, **data: Any) -> Card:
    """A button that opens a dialog (task module): Teams sends `task/fetch` with this data. Dialogs
    can only be opened by Action.Submit; the buttons that act on the card stay `execute`."""
    return {
        "type": "Action.Submit",
        "title": label,
        "data": {KEY: action, **data, "msteams": {"type": "task/fetch"}},
    }


def submit(label: str, action: str, **data: Any) -> Card:
    """For dialogs (task modules) only: they take Action.Submit; cards in chats use `execute`."""
    return {"type": "Action.Submit", "title": label, "data": {KEY: action, **data}}


def execute(label: str, action: str, **data: Any) -> Card:
    """A Universal Action: Teams invokes the bot (adaptiveCard/action) with the verb and data."""
    return {"type": "Action.Execute", "title": label, "verb": action, "data": {KEY: action, **data}}


def refresh_block(verb: str, user_ids: list[str], **data: Any) -> Card:
    """The card's refresh: automatic for the first 60 viewers, the "Refresh" menu item for the rest."""
    action = {"type": "Action.Execute", "title": _("Refresh"), "verb": verb, "data": {KEY: verb, **data}}
    return {"action": action, "userIds": list(dict.fromkeys(u for u in user_ids if u))[:MAX_REFRESH_USERS]}


def show_card(label: str, body: list[Card], action: Card) -> Card:
    return {"type": "Action.ShowCard", "title": label, "card": {"type": "AdaptiveCard", "body": body,
                                                                   "actions": [action]}}  # fmt: skip


def text_input(
    id_: str, label: str, value: str | None = None, *, required: bool = False, multiline: bool = False,
    placeholder: str | None = None, max_length: int | None = None,
) -> Card:  # fmt: skip
    out: Card = {"type": "Input.Text", "id": id_, "label": label, "isMultiline": multiline}
    if value:
        out["value"] = value
    if placeholder:
        out["placeholder"] = placeholder
    if max_length:
        out["maxLength"] = max_length
    if required:
        out["isRequired"] = True
        out["errorMessage"] = _("This is needed.")
    return out


def choice_input(
    id_: str, label: str, choices: list[tuple[str, str]], value: str | None = None, *, required: bool = False,
    compact: bool = True,
) -> Card:  # fmt: skip
    out: Card = {
        "type": "Input.ChoiceSet", "id": id_, "label": label, "style": "compact" if compact else "expanded",
        "choices": [{"title": t, "value": v} for v, t in choices],
    }  # fmt: skip
    if value:
        out["value"] = value
    if required:
        out["isRequired"] = True
        out["errorMessage"] = _("Choose one.")
    return out


def number_input(id_: str, label: str, currency: str, value: Any = None) -> Card:
    """Teams' number box for an amount: above zero, with the currency's decimals as the example."""
    out: Card = {"type": "Input.Number", "id": id_, "label": label, "min": float(step_for(currency)),
                 "max": float(MAX_AMOUNT), "placeholder": amount_input_hint(currency)}  # fmt: skip
    typed = "" if value is None else str(value)  # a form typed back may hold the number Teams sent
    if re.fullmatch(r"\d+(?:\.\d+)?", typed):  # a typed-back value only when it is a plain number
        out["value"] = float(typed)
    return out


def due_inputs(typed: dict[str, str]) -> list[Card]:
    """A due date and time picked in the person's own zone; actions.py combines them."""
    date_in: Card = {"type": "Input.Date", "id": "due_date", "label": _("Due date (optional)")}
    time_in: Card = {
        "type": "Input.Time",
        "id": "due_time",
        "label": _("Due time (optional; 17:00 if empty)"),
    }
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", typed.get("due_date", "")):
        date_in["value"] = typed["due_date"]
    if re.fullmatch(r"\d{2}:\d{2}", typed.get("due_time", "")):
        time_in["value"] = typed["due_time"]
    return [date_in, time_in]


def people_input(id_: str, label: str, value: str | None = None, *, required: bool = True) -> Card:
    """Teams' people picker: the submitted value is the person's AAD object id."""
    out = choice_input(id_, label, [], value, required=required)
    out["choices.data"] = {"type": "Data.Query", "dataset": "graph.microsoft.com/users"}
    return out


def banner(text: str, style: str) -> Card:
    color = {"good": "Good", "attention": "Attention", "warning": "Warning"}.get(style, "Default")
    return {"type": "Container", "style": style, "items": [text_block(text, color=color, weight="Bolder")]}


# ----- forms ------------------------------------------------------------------------------------

FORM_TITLES = {
    "open": N_("Open a recovery case"),
    "apologise": N_("Record the apology"),
    "grant": N_("Grant compensation"),
    "step": N_("Add a next step"),
    "resolve": N_("Resolve the case"),
    "followup": N_("Record the customer's follow-up"),
    "send": N_("Send the follow-up email"),
    "handover": N_("Hand the case over"),
    "flag": N_("Flag for process improvement"),
    "reopen": N_("Reopen the case"),
    "shoutout": N_("Shout out a colleague"),
    "deny": N_("Deny the request"),
    "category": N_("Change the category"),
    "cancel": N_("Cancel the case"),
}
FORM_BUTTONS = {
    "open": N_("Open case"), "deny": N_("Deny"), "shoutout": N_("Send shout-out"), "send": N_("Send to the customer"),
}  # fmt: skip


def form_title(form: str) -> str:
    return _(FORM_TITLES[form]) if form in FORM_TITLES else form.title()


def form_button(form: str) -> str:
    return _(FORM_BUTTONS.get(form, N_("Save")))


# How each choice reads on a form (the core's own labels are parts of sentences: "apologised by phone").
APOLOGY_CHOICES: tuple[tuple[str, str], ...] = (
    (ApologyMethod.IN_PERSON.value, N_("In person")), (ApologyMethod.PHONE.value, N_("By phone")),
    (ApologyMethod.EMAIL.value, N_("By email")), (ApologyMethod.CHAT.value, N_("By chat")),
)  # fmt: skip
SEVERITY_CHOICES: tuple[tuple[str, str], ...] = (
    (Severity.LOW.value, N_("Low")), (Severity.MEDIUM.value, N_("Medium")), (Severity.HIGH.value, N_("High")),
    (Severity.CRITICAL.value, N_("Critical")),
)  # fmt: skip


def apology_choices() -> list[tuple[str, str]]:
    return [(value, _(label)) for value, label in APOLOGY_CHOICES]


def severity_choices() -> list[tuple[str, str]]:
    return [(value, _(label)) for value, label in SEVERITY_CHOICES]


Fields = Callable[[dict[str, str], Policy | None, list[str] | None], list[Card]]


def _open_fields(typed: dict[str, str], policy: Policy | None, causes: list[str] | None) -> list[Card]:
    categories = list(policy.categories) if policy else []
    if typed.get("category") and typed["category"] not in categories:
        categories.append(typed["category"])
    return [
        text_input("customer", _("Customer (optional)"), typed.get("customer"), max_length=200),
        text_input("email", _("Customer's email, for the written follow-up (optional)"), typed.get("email"),
                   max_length=254, placeholder="jane@example.com"),
        choice_input("language", _("Customer's language (optional; the team's if empty)"),
                     [(lang, language_name(lang)) for lang in LANGUAGES], typed.get("language")),
        text_input("problem", _("What went wrong"), typed.get("problem"), required=True, multiline=True),
        text_input("wants", _("What they want (optional)"), typed.get("wants"), multiline=True),
        choice_input("category", _("Category"), [(cat, cat.title()) for cat in categories], typed.get("category")),
        choice_input("severity", _("Severity"), severity_choices(), typed.get("severity") or Severity.MEDIUM.value),
    ]  # fmt: skip


def _apologise_fields(typed: dict[str, str], policy: Policy | None, causes: list[str] | None) -> list[Card]:
    return [
        choice_input("method", _("How"), apology_choices(), typed.get("method") or ApologyMethod.IN_PERSON.value,
                     required=True),
        text_input("words", _("The words you used (optional)"), typed.get("words"), multiline=True),
    ]  # fmt: skip


def _grant_fields(typed: dict[str, str], policy: Policy | None, causes: list[str] | None) -> list[Card]:
    currency = policy.currency if policy else "USD"
    gestures = [
        (gesture["name"], f"{gesture['name']} ({format_money(gesture_value(gesture), currency)})")
        for gesture in (policy.catalogue if policy else [])
    ]
    first = gestures[0][0] if gestures else None
    amount = _("Amount in %(currency)s (empty: the catalogue value)") % {"currency": currency}
    return [
        choice_input("gesture", _("Gesture"), gestures, typed.get("gesture") or first),
        text_input("gesture_other", _("Or another gesture (optional)"), typed.get("gesture_other"), max_length=120),
        number_input("amount", amount, currency, typed.get("amount")),
        text_input("note", _("Note (optional)"), typed.get("note")),
    ]  # fmt: skip


def _step_fields(typed: dict[str, str], policy: Policy | None, causes: list[str] | None) -> list[Card]:
    return [
        text_input("text", _("What happens next"), typed.get("text"), required=True, multiline=True),
        people_input("owner", _("Who does it (empty: the case owner)"), typed.get("owner"), required=False),
        *due_inputs(typed),
    ]


def _resolve_fields(typed: dict[str, str], policy: Policy | None, causes: list[str] | None) -> list[Card]:
    cause = choice_input("cause", _("Cause (empty: the closest by meaning, and Teambot says which)"),
                         [(name, name) for name in causes or []], typed.get("cause"))  # fmt: skip
    return [
        text_input("summary", _("What you did to put it right"), typed.get("summary"), required=True, multiline=True),
        text_input("root_cause", _("Root cause"), typed.get("root_cause"), required=True, max_length=500),
        *([cause] if causes else []),
    ]  # fmt: skip


def _followup_fields(typed: dict[str, str], policy: Policy | None, causes: list[str] | None) -> list[Card]:
    won_back = [("", _("Don't know")), ("won", _("Won back")), ("lost", _("Lost"))]
    return [
        choice_input("satisfied", _("Customer satisfied?"), [("yes", _("Satisfied")), ("no", _("Not yet"))],
                     typed.get("satisfied") or "yes", required=True),
        choice_input("score", pgettext("score", "Score"), [(str(i), f"{i}/5") for i in range(5, 0, -1)],
                     typed.get("score"), required=True),
        choice_input("won_back", _("Won back?"), won_back, typed.get("won_back")),
    ]  # fmt: skip


def _category_fields(typed: dict[str, str], policy: Policy | None, causes: list[str] | None) -> list[Card]:
    categories = list(policy.categories) if policy else []
    return [choice_input("category", _("Move to"), [(cat, cat.title()) for cat in categories], typed.get("category"),
                         required=True)]  # fmt: skip


def _cancel_fields(typed: dict[str, str], policy: Policy | None, causes: list[str] | None) -> list[Card]:
    why = [("mistake", _("Opened by mistake")), ("duplicate", _("A duplicate")), ("other", _("Other"))]
    return [
        choice_input("why", _("Why cancel it?"), why, typed.get("why") or "mistake", required=True),
        text_input("duplicate_of", _("Duplicate of case (number)"), typed.get("duplicate_of")),
        text_input("reason", _("Reason (for other)"), typed.get("reason")),
    ]


def _one_text(id_: str, label: str, *, required: bool = False, multiline: bool = True) -> Fields:
    """A form of one text box (`label` marked with N_, read in the language of the moment)."""
    return lambda typed, policy, causes: [
        text_input(id_, _(label), typed.get(id_), required=required, multiline=multiline)
    ]


FORM_FIELDS: dict[str, Fields] = {
    "open": _open_fields,
    "apologise": _apologise_fields,
    "grant": _grant_fields,
    "step": _step_fields,
    "resolve": _resolve_fields,
    "followup": _followup_fields,
    "handover": lambda typed, policy, causes: [people_input("to", _("New owner"), typed.get("to"))],
    "flag": _one_text("note", N_("What should change in the process"), required=True),
    "reopen": _one_text("note", N_("Why (optional)")),
    "shoutout": lambda typed, policy, causes: [
        people_input("to", _("Who")),
        text_input("message", _("Why"), typed.get("message"), required=True, multiline=True),
    ],
    "deny": _one_text("note", N_("Reason (optional)")),
    "send": _one_text(
        "body", N_("The email (Teambot adds the greeting, your name and the feedback link)"), required=True
    ),
    "category": _category_fields,
    "cancel": _cancel_fields,
}


def form_fields(form: str, values: dict[str, Any], policy: Policy | None = None,
                causes: list[str] | None = None) -> list[Card]:  # fmt: skip
    """The inputs of one form; `values` pre-fill them (defaults, or what the person typed)."""
    build = FORM_FIELDS.get(form)
    if build is None:
        return []
    return build(
        {key: ("" if value is None else str(value)) for key, value in values.items()}, policy, causes
    )


def form_card(
    form: str, ids: dict[str, Any], values: dict[str, Any] | None = None, *, policy: Policy | None = None,
    error: DomainError | None = None, names: dict[str, str] | None = None, dialog: bool = False,
) -> Card:  # fmt: skip
    """A standalone form; with `error`, the refusal sits on top and every input keeps its value."""
    number = ids.get("number")
    heading = form_title(form)
    if number:
        heading = _("%(form)s · case #%(number)s") % {"form": heading, "number": number}
    body: list[Card] = []
    if error is not None:
        body.append(refusal(error, names or {}))
    body.append(text_block(heading, size="Medium", weight="Bolder"))
    body += form_fields(form, values or {}, policy)
    label = form_button(form)
    if dialog:
        return card(body, [submit(label, form, form_card=True, **ids)])
    actions = [execute(label, form, form_card=True, **ids)]
    if number:
        actions.append(back_to_case(number))
    return card(body, actions)


def refusal(error: DomainError | str, names: dict[str, str]) -> Card:
    """Why something was refused, on top of the card that asked."""
    return banner("✗ " + teams_text(plain_names(str(error), names)), "attention")


def back_to_case(number: Any) -> Card:
    return execute(_("Back to the case"), REFRESH, number=number)


# ----- the case card ----------------------------------------------------------------------------


def viewer_role(detail: Any, viewer: str | None) -> str:
    """owner | approver | bystander: which buttons this person sees on the case card."""
    if viewer and detail.case.owner_id == viewer:
        return "owner"
    if viewer and detail.pending and viewer in (list(detail.policy.approvers) or list(detail.policy.admins)):
        return "approver"
    return "bystander"


def _form_action(label: str, form: str, number: int, policy: Policy | None, *, note: str | None = None,
                 values: dict[str, Any] | None = None, causes: list[str] | None = None, **ids: Any) -> Card | None:  # fmt: skip
    """A button that opens `form` under it; `note` (a line about this viewer) sits above the inputs."""
    fields = form_fields(form, values or {}, policy, causes)
    if not fields:
        return None
    if note:
        fields = [text_block(note, isSubtle=True), *fields]
    return show_card(label, fields, execute(form_button(form), form, number=number, **ids))


def deny_action(label: str, approval_id: int, **data: Any) -> Card:
    """Deny under a button: the optional reason, then Deny."""
    return show_card(
        label, form_fields("deny", {}), execute(_("Deny"), "deny", approval_id=approval_id, **data)
    )


def _approval_actions(detail: Any) -> list[Card]:
    out: list[Card] = []
    number, several = detail.case.number, len(detail.pending) > 1
    for req in detail.pending[:2]:
        approve = _("Approve request %(id)s") % {"id": req.id} if several else _("Approve")
        deny = _("Deny request %(id)s") % {"id": req.id} if several else _("Deny")
        out.append(execute(approve, "approve", approval_id=req.id, number=number))
        out.append(deny_action(deny, req.id, number=number))
    return out


def _authority(detail: Any, form: str, viewer: str | None) -> str | None:
    """On the grant form in the owner's own view: how much more they may give on this case."""
    if form != "grant" or viewer is None:
        return None
    return authority_note(detail.authority_left(viewer), detail.currency)


def action_label(action: str) -> str:
    return said(ACTION_LABELS[action]) if action in ACTION_LABELS else action.title()


def _owner_actions(detail: Any, viewer: str) -> list[Card]:
    """The owner's next steps: plain buttons, the draft in a dialog, the rest a form under a button."""
    number, policy = detail.case.number, detail.policy
    out: list[Card] = []
    if viewer in (list(policy.approvers) or list(policy.admins)):
        out += _approval_actions(detail)
    for name in detail.next_actions():
        label = action_label(name)
        if name in ("claim", "draft"):
            out.append(execute(label, name, number=number))
        elif name == "send":  # the draft first, editable, in a dialog
            out.append(open_dialog(label, "send_form", number=number))
        elif (action := _form_action(label, name, number, policy, note=_authority(detail, name, viewer),
                                     values={"cause": detail.cause},
                                     causes=detail.causes if name == "resolve" else None)) is not None:  # fmt: skip
            out.append(action)
    return out


def case_actions(detail: Any, viewer: str | None) -> list[Card]:
    """The buttons one viewer sees: the owner the next steps, an approver the decision, others Claim/Shout out."""
    number, policy = detail.case.number, detail.policy
    role = viewer_role(detail, viewer)
    out: list[Card] = []
    if role == "owner" and viewer is not None:
        out += _owner_actions(detail, viewer)
    elif role == "approver":
        out += _approval_actions(detail)
    else:
        if detail.case.status == CaseStatus.OPEN:
            out.append(execute(action_label("claim"), "claim", number=number))
        shout = _form_action(action_label("shoutout"), "shoutout", number, policy)
        if shout is not None:
            out.append(shout)
    # The requester may take back a request nobody has answered yet.
    out += [execute(_("Withdraw request %(id)s") % {"id": req.id}, "withdraw", approval_id=req.id)
            for req in detail.pending if req.requested_by == viewer][:1]  # fmt: skip
    # The case's menu (another category; cancel one opened by mistake or twice): owner, opener, admins.
    if (
        detail.next_actions()
        and viewer is not None
        and (role == "owner" or viewer == detail.case.opened_by or viewer in policy.admins)
    ):
        for name in ("category", "cancel"):
            if (action := _form_action(action_label(name), name, number, policy)) is not None:
                out.append(action)
    out.append(execute(_("Timeline"), "timeline", number=number))
    return out


def case_card(
    reply: CaseReply, now: datetime, tz: str = "UTC", names: dict[str, str] | None = None,
    *, error: DomainError | None = None, viewer: str | None = None, refresh: list[str] | None = None,
    form: Card | None = None,
) -> Card:  # fmt: skip
    """Facts and the buttons that make sense now for `viewer` (None: the shared view everyone starts from).

    `refresh` (Teams user ids) makes the card ask the bot for each viewer's own view; `form`
    (a refused form with what was typed) sits under the refusal. Shrinks long values to stay
    under Teams' card limit.
    """
    assert reply.detail is not None
    names = names or {}
    for limit in (1500, 600, 250, 100):
        built = _case_card(reply, now, tz, names, error, limit, viewer, refresh, form)
        if len(json.dumps(built, ensure_ascii=False).encode()) <= CARD_BUDGET:
            return built
    return built


def _case_notes(reply: CaseReply, limit: int) -> list[Card]:
    """What a fresh case's opener should know: the customer's earlier cases and the notes kept on them."""
    opened = reply.opened
    if opened is None or reply.detail is None:
        return []
    out: list[Card] = []
    if opened.earlier_cases:
        earlier = ", ".join(f"#{case.number} ({said(STATUS_LABELS.get(case.status, case.status.value))})"
                            for case in opened.earlier_cases[:10])  # fmt: skip
        line = _("%(customer)s has had cases before: %(cases)s") % {
            "customer": reply.detail.case.customer_name, "cases": earlier}  # fmt: skip
        out.append(text_block("ℹ " + line, isSubtle=True))
    if opened.customer and opened.customer.notes:
        for note in opened.customer.notes[-5:]:
            out.append(
                text_block("ℹ " + _("Note: %(text)s") % {"text": clip(note["text"], limit)}, isSubtle=True)
            )
    return out


def _case_card(
    reply: CaseReply, now: datetime, tz: str, names: dict[str, str], error: DomainError | None, limit: int,
    viewer: str | None, refresh: list[str] | None, form: Card | None,
) -> Card:  # fmt: skip
    detail = reply.detail
    assert detail is not None
    entities: list[Card] = []
    body: list[Card] = []
    if error is not None:
        body.append(refusal(error, names))
        if form is not None:
            body.append({"type": "Container", "style": "emphasis", "items": form["body"][1:]})
    if reply.message:
        body.append(
            banner("✓ " + with_mentions(teams_text(clip(reply.message, limit)), names, entities), "good")
        )
    body += _case_notes(reply, limit)
    body.append(text_block(clip(plain_names(title(detail), names), 200), size="Medium", weight="Bolder"))
    facts = [
        {"title": label, "value": clip(teams_text(plain_names(value, names)), limit)}
        for label, value in case_facts(detail, now, tz, stamp=teams_date)
    ]
    body.append({"type": "FactSet", "facts": facts})
    body.append(
        text_block(_("Times in %(zone)s.") % {"zone": tz}, isSubtle=True, size="Small", spacing="Small")
    )
    actions = case_actions(detail, viewer)
    if reply.choices:  # the step's one-click follow-ups ("Change cause": anyone in the team may), first
        actions = [*(execute(label, "run", command=command) for label, command in reply.choices), *actions]
    if form is not None and error is not None:
        actions = [*(form.get("actions") or [])[:1], *actions]
    out = card(body, actions, entities)
    if refresh is not None:
        out["refresh"] = refresh_block(REFRESH, refresh, number=detail.case.number)
    return out


# ----- other replies ----------------------------------------------------------------------------


def error_card(err: DomainError, echo: str = "", names: dict[str, str] | None = None) -> Card:
    body = [refusal(err, names or {})]
    if echo:
        body.append(text_block(_("You typed: %(text)s") % {"text": clip(echo, 3000)}, isSubtle=True))
    return card(body)


def status_label(case: Case) -> str:
    return said(STATUS_LABELS[case.status]) if case.status in STATUS_LABELS else case.status.value


def list_card(reply: ListReply, names: dict[str, str]) -> Card:
    body: list[Card] = [
        text_block(clip(plain_names(reply.title, names), 3000), size="Medium", weight="Bolder")
    ]
    if not reply.cases:
        body.append(text_block(said(reply.empty)))
    for case in reply.cases:
        owner = (names.get(case.owner_id) or someone()) if case.owner_id else _("unowned")
        line = f"**#{case.number}** · {status_label(case)} · {owner} · {clip(case.problem, 80)}"
        body.append(_case_row(case, line))
    return card(body)


def approval_line(approval: Any, names: dict[str, str]) -> str:
    amount = format_money(from_minor(approval.amount_minor, approval.currency), approval.currency)
    return _("Request %(id)s: %(gesture)s %(amount)s, asked by %(who)s") % {
        "id": approval.id, "gesture": clip(approval.gesture, 120), "amount": amount,
        "who": names.get(approval.requested_by) or someone(),
    }  # fmt: skip


def approvals_card(reply: ApprovalsReply, names: dict[str, str]) -> Card:
    if not reply.approvals:
        return card([text_block(_("No approval requests are waiting."))])
    body: list[Card] = [text_block(_("Waiting for approval"), size="Medium", weight="Bolder")]
    actions: list[Card] = []
    for approval in reply.approvals[:20]:
        body.append(text_block(approval_line(approval, names)))
        if len(actions) < 10:
            label = _("Approve request %(id)s") % {"id": approval.id}
            actions.append(execute(label, "approve", approval_id=approval.id))
    return card(body, actions)


def timeline_card(reply: TimelineReply, tz: str, names: dict[str, str]) -> Card:
    detail = reply.detail
    assert detail is not None
    heading = _("Timeline of case #%(number)s") % {"number": detail.case.number}
    body: list[Card] = [text_block(heading, size="Medium", weight="Bolder")]
    for event in detail.events[-60:]:
        who = names.get(event.actor) or someone()
        what = clip(plain_names(event_line(event.kind, event.data), names), 300)
        body.append(text_block(f"{format_when(event.at, tz)} · {who} {what}", spacing="Small"))
    body.append(text_block(_("Times in %(zone)s.") % {"zone": tz}, isSubtle=True, size="Small"))
    return card(body, [back_to_case(detail.case.number)])


def draft_card(reply: DraftReply) -> Card:
    number = reply.detail.case.number if reply.detail else ""
    heading = _("Draft follow-up for case #%(number)s (copy it to the customer)") % {"number": number}
    return card(
        [text_block(heading, weight="Bolder"), text_block(clip(reply.text, 8000))],
        [back_to_case(number)] if number else None,
    )


def policy_card(reply: PolicyReply, names: dict[str, str]) -> Card:
    facts = [(label, plain_names(value, names)) for label, value in reply.facts]
    body: list[Card] = []
    if reply.message:
        body.append(banner("✓ " + teams_text(plain_names(reply.message, names)), "good"))
    body += [
        text_block(_("Recovery policy"), size="Medium", weight="Bolder"),
        {
            "type": "FactSet",
            "facts": [{"title": label, "value": clip(value, 1500)} for label, value in facts],
        },
    ]
    return card(body)


def text_card(reply: TextReply, names: dict[str, str]) -> Card:
    entities: list[Card] = []
    body: list[Card] = []
    if reply.title:
        body.append(text_block(reply.title, size="Medium", weight="Bolder"))
    body.append(text_block(with_mentions(teams_text(clip(reply.text, 8000)), names, entities)))
    return card(body, entities=entities)


def digest_card(reply: DigestReply) -> Card:
    """The week's headline figures as facts (this week, last week in brackets), then the digest itself."""
    digest = reply.digest
    lines = (reply.text or "").splitlines()
    if digest is None:
        return card([text_block(teams_text(reply.text or _("Done.")))])
    heading = (_("Recovery digest %(week)s (so far)") if digest.preview else _("Recovery digest %(week)s")) % {
        "week": digest.week}  # fmt: skip
    this, last = digest.this, digest.last
    figures = [(_("Opened"), this.opened, last.opened), (_("Resolved"), this.resolved, last.resolved),
               (_("Closed"), this.closed, last.closed)]  # fmt: skip
    facts = [{"title": label, "value": _("%(now)s (last week: %(before)s)") % {"now": now, "before": before}}
             for label, now, before in figures]  # fmt: skip
    facts.append({"title": _("Still open"), "value": str(digest.still_open)})
    body: list[Card] = [
        text_block(heading, size="Medium", weight="Bolder"),
        {"type": "FactSet", "facts": facts},
    ]
    rest = "\n".join(lines[1:]).strip()  # the text's first line is its heading, shown above
    if rest:
        body.append(text_block(teams_text(clip(rest, 8000)), separator=True))
    return card(body)


# ----- any reply as one card: one renderer per kind of Reply ------------------------------------


@dataclass
class View:
    """What a reply is rendered for: now, the reader's zone, the names of the people it mentions."""

    now: datetime
    tz: str = "UTC"
    names: dict[str, str] = field(default_factory=dict)
    policy: Policy | None = None


def _said_plainly(reply: Reply) -> Card:
    """A reply with nothing to show but its words (a case reply that has no case any more...)."""
    text = getattr(reply, "message", "") or getattr(reply, "text", "")
    return card([text_block(teams_text(str(text or _("Done."))))])


@singledispatch
def render_reply(reply: Reply, view: View) -> Card:
    """A kind of Reply with no renderer here: said as text, and logged (tests/architecture guard it).
    Each kind registers its own below; a new kind of Reply needs one `render_reply.register`."""
    log.warning("no Teams rendering for %s; sent as text", type(reply).__name__)
    return card([text_block(teams_text(str(getattr(reply, "text", "") or _("Done."))))])


@render_reply.register
def _render_error(reply: ErrorReply, view: View) -> Card:
    assert reply.error is not None
    return error_card(reply.error, reply.echo, view.names)


@render_reply.register
def _render_case(reply: CaseReply, view: View) -> Card:
    return (
        case_card(reply, view.now, view.tz, view.names) if reply.detail is not None else _said_plainly(reply)
    )


@render_reply.register
def _render_form(reply: FormReply, view: View) -> Card:
    ids = {"number": reply.prefill["number"]} if reply.prefill.get("number") else {}
    return form_card(reply.form, ids, reply.prefill, policy=view.policy)


@render_reply.register
def _render_list(reply: ListReply, view: View) -> Card:
    return list_card(reply, view.names)


@render_reply.register
def _render_approvals(reply: ApprovalsReply, view: View) -> Card:
    return approvals_card(reply, view.names)


@render_reply.register
def _render_timeline(reply: TimelineReply, view: View) -> Card:
    return timeline_card(reply, view.tz, view.names) if reply.detail is not None else _said_plainly(reply)


@render_reply.register
def _render_draft(reply: DraftReply, view: View) -> Card:
    return draft_card(reply)


@render_reply.register
def _render_policy(reply: PolicyReply, view: View) -> Card:
    return policy_card(reply, view.names) if reply.policy is not None else _said_plainly(reply)


@render_reply.register
def _render_text(reply: TextReply, view: View) -> Card:
    return text_card(reply, view.names)


@render_reply.register
def _render_choice(reply: ChoiceReply, view: View) -> Card:
    choice = text_card(reply, view.names)
    choice["actions"] = [submit(label, "run", command=command) for label, command in reply.choices]
    return choice


@render_reply.register
def _render_home(reply: HomeReply, view: View) -> Card:
    return home_card(reply, view.now, view.tz, view.names)


@render_reply.register
def _render_digest(reply: DigestReply, view: View) -> Card:
    return digest_card(reply)


@render_reply.register
def _render_leaderboard(reply: LeaderboardReply, view: View) -> Card:
    return card([text_block(teams_text(reply.text or _("Done.")))])


def render(
    reply: Reply,
    now: datetime,
    tz: str = "UTC",
    names: dict[str, str] | None = None,
    policy: Policy | None = None,
) -> Card:
    """Any reply as one card, in the current language."""
    return render_reply(reply, View(now, tz, names or {}, policy))


def reply_mentions(reply: Reply) -> set[str]:
    """Every user id a reply's card may name, so the adapter can look their names up once."""
    ids: set[str] = set()
    if isinstance(reply, CaseReply | TimelineReply) and reply.detail is not None:
        detail = reply.detail
        case = detail.case
        ids |= {x for x in (case.opened_by, case.owner_id, case.apologised_by) if x}
        ids |= (
            {step.owner_id for step in detail.steps}
            | {req.requested_by for req in detail.approvals}
            | {event.actor for event in detail.events}
        )
        if isinstance(reply, CaseReply):
            ids |= mention_ids(reply.message)
    elif isinstance(reply, ListReply):
        ids |= {case.owner_id for case in reply.cases if case.owner_id} | mention_ids(reply.title)
    elif isinstance(reply, ApprovalsReply):
        ids |= {req.requested_by for req in reply.approvals}
    elif isinstance(reply, PolicyReply) and reply.policy is not None:
        policy = reply.policy
        ids |= (
            set(policy.approvers)
            | set(policy.admins)
            | set(policy.person_limits)
            | mention_ids(reply.message)
        )
    elif isinstance(reply, TextReply):
        ids |= mention_ids(reply.text)
    elif isinstance(reply, ErrorReply) and reply.error is not None:
        ids |= mention_ids(str(reply.error))
    return ids


# ----- the personal home -----------------------------------------------------------------------


def _case_row(case: Case, line: str) -> Card:
    return {"type": "Container", "selectAction": execute(_("Show"), "show", number=case.number),
            "items": [text_block(line, spacing="Small")]}  # fmt: skip


def _home_heading(title_: str, count: int) -> Card:
    return text_block(_("%(section)s (%(count)s)") % {"section": title_, "count": count}, weight="Bolder",
                      separator=True)  # fmt: skip


def _home_cases(reply: HomeReply, now: datetime, tz: str) -> list[Card]:
    """The person's open cases and the follow-ups due, each a row that opens the case."""
    body = [_home_heading(_("Your open cases"), len(reply.open_cases))]
    if not reply.open_cases:
        body.append(text_block(_("You own no open cases."), isSubtle=True))
    for case in reply.open_cases[:15]:
        body.append(_case_row(case, f"**#{case.number}** · {status_label(case)} · {clip(case.problem, 120)}"))
    body.append(_home_heading(_("Follow-ups due"), len(reply.followups)))
    if not reply.followups:
        body.append(text_block(_("No follow-ups waiting."), isSubtle=True))
    for case in reply.followups[:10]:
        due = case.followup_due_at
        if due is None:
            shown = _("due date unknown")
        elif due < now:
            shown = _("due %(when)s · **overdue**") % {"when": format_when(due, tz)}
        else:
            shown = _("due %(when)s") % {"when": format_when(due, tz)}
        body.append(_case_row(case, f"**#{case.number}** · {shown} · {clip(case.problem, 120)}"))
    return body


def _home_approvals(reply: HomeReply, names: dict[str, str]) -> list[Card]:
    if not reply.approvals:
        return []
    body = [_home_heading(_("Approvals waiting"), len(reply.approvals))]
    for approval in reply.approvals[:8]:
        body.append(text_block(approval_line(approval, names), spacing="Small"))
        body.append({"type": "ActionSet", "actions": [
            execute(_("Approve"), "approve", approval_id=approval.id, home=True),
            deny_action(_("Deny"), approval.id, home=True),
        ]})  # fmt: skip
    return body


def _home_figures(reply: HomeReply) -> list[Card]:
    figures = reply.figures
    average = figures.avg_score
    score = f"{format_number(round(average, 1))}/5" if average is not None else _("no scores yet")
    return [
        text_block(_("Your figures"), weight="Bolder", separator=True),
        {"type": "FactSet", "facts": [
            {"title": _("Cases owned"), "value": str(figures.owned)},
            {"title": _("Closed"), "value": str(figures.closed)},
            {"title": _("Customers satisfied"), "value": str(figures.satisfied)},
            {"title": _("Average score"), "value": score},
        ]},
    ]  # fmt: skip


def home_card(
    reply: HomeReply, now: datetime, tz: str = "UTC", names: dict[str, str] | None = None, *,
    refresh_for: str | None = None, message: str | None = None, error: DomainError | None = None,
) -> Card:  # fmt: skip
    """The person's own view in their chat with the bot, kept as one card updated in place."""
    names = names or {}
    body: list[Card] = []
    if error is not None:
        body.append(refusal(error, names))
    if message:
        body.append(banner("✓ " + teams_text(plain_names(clip(message, 1500), names)), "good"))
    body += [
        text_block(_("Your service recovery"), size="Large", weight="Bolder"),
        text_block(_("As of %(when)s (%(zone)s)") % {"when": format_when(now, tz), "zone": tz}, isSubtle=True,
                   spacing="None"),
    ]  # fmt: skip
    body += _home_cases(reply, now, tz) + _home_approvals(reply, names)
    for heading, lines in reply.sections:  # the causes to fix, the improvement actions you own
        body.append(text_block(heading, weight="Bolder", separator=True))
        body += [
            text_block(teams_text(plain_names(clip(line, 300), names)), spacing="Small") for line in lines
        ]
    body += _home_figures(reply)
    out = card(body, [execute(_("Open a case"), "form"), execute(_("Refresh"), HOME)])
    if refresh_for:
        out["refresh"] = refresh_block(HOME, [refresh_for])
    return out


# ----- notices ----------------------------------------------------------------------------------


def image_card(title: str, png: bytes) -> Card:
    """A chart inline, as a data URI: Teams shows it without the bot hosting a file."""
    url = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return card([text_block(title, weight="Bolder"), {"type": "Image", "url": url, "altText": title}])


def notice_action(action: NoticeAction, data: dict[str, Any]) -> Card:
    """One of core/notice_actions.py's actions as a Teams action (a form under it where one is needed)."""
    number, verb, label = data.get("number"), action.action, said(action.label)
    if verb == "approve":
        return execute(label, "approve", approval_id=data["approval_id"])
    if verb == "deny":
        return deny_action(label, data["approval_id"])
    if verb in ("followup_yes", "followup_no"):
        fields = form_fields("followup", {"satisfied": "yes" if verb == "followup_yes" else "no"})
        return show_card(label, fields, execute(_("Save"), "followup", number=number))
    if verb == "snooze":
        return execute(label, "snooze", number=number, **{"for": SNOOZE_FOR})
    if verb == "done":
        return execute(label, "done", number=number, position=data.get("position"))
    if verb in ("claim", "show"):
        return execute(label, verb, number=number)
    if verb == "run":
        return execute(label, "run", command=action.command)
    form = _form_action(label, verb, number, None)  # resolve, step, apologise: their form under it
    return form if form is not None else execute(label, verb, number=number)


def notice_card(notice: Notice, names: dict[str, str], *, note: str | None = None) -> Card:
    """Any core notice, with the actions core/notice_actions.py gives its kind."""
    entities: list[Card] = []
    body: list[Card] = []
    if note:
        body.append(text_block(note, isSubtle=True))
    body.append(text_block(with_mentions(teams_text(clip(notice.text, 8000)), names, entities)))
    actions = [notice_action(action, notice.data) for action in notice_actions(notice)]
    return card(body, actions, entities)


def case_line(case: Case) -> str:
    return f"#{case.number} · {status_label(case)} · {case.problem[:80]}"
