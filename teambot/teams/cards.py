"""Replies and notices as Adaptive Cards (schema 1.5, as Teams renders them). Pure: objects in, JSON out.

Every button is a Universal Action (`Action.Execute`, verb = our action name, data carrying
`"teambot": <action>` plus what the action needs); Teams sends it as an `adaptiveCard/action`
invoke and shows the card the bot answers with to the person who pressed it. A case card
carries `refresh` (verb `refresh`, up to 60 `userIds`), so each viewer gets their own view:
the owner the steps, an approver Approve and Deny, everyone else Claim and Shout out, times
in the viewer's own zone. Forms open inline (`Action.ShowCard`); a refused form comes back as
the viewer's card with the refusal on top and every input keeping what was typed. The one
form shown in a dialog (the message extension's) uses `Action.Submit`, as dialogs require.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from datetime import UTC, datetime
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
    when,
)
from teambot.core.commands.replies import ChoiceReply, ErrorReply, FormReply, Reply, TextReply
from teambot.core.errors import DomainError
from teambot.core.i18n import LANGUAGES, language_name
from teambot.core.insights.replies import DigestReply
from teambot.core.money import MAX_AMOUNT, amount_input_hint, format_amount, from_minor, step_for
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
APOLOGY_CHOICES = tuple((m.value, m.label.capitalize()) for m in ApologyMethod)
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
    return f"{{{{DATE({iso}, SHORT)}}}} {{{{TIME({iso})}}}}"


def plain_names(text: str, names: dict[str, str]) -> str:
    """`<@id>` → the person's name (facts and titles cannot carry real mentions)."""
    return _MENTION.sub(lambda m: names.get(m.group(1), "someone"), text)


def with_mentions(text: str, names: dict[str, str], entities: list[dict[str, Any]]) -> str:
    """`<@id>` → `<at>Name</at>` plus the mention entity Teams needs to notify that person."""

    def sub(m: re.Match[str]) -> str:
        uid = m.group(1)
        name = names.get(uid)
        if not name:
            return "someone"
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
    return {"type": "Action.Submit", "title": label, "data": {KEY: action, **data, "msteams": {"type": "task/fetch"}}}


def submit(label: str, action: str, **data: Any) -> Card:
    """For dialogs (task modules) only: they take Action.Submit; cards in chats use `execute`."""
    return {"type": "Action.Submit", "title": label, "data": {KEY: action, **data}}


def execute(label: str, action: str, **data: Any) -> Card:
    """A Universal Action: Teams invokes the bot (adaptiveCard/action) with the verb and data."""
    return {"type": "Action.Execute", "title": label, "verb": action, "data": {KEY: action, **data}}


def refresh_block(verb: str, user_ids: list[str], **data: Any) -> Card:
    """The card's refresh: automatic for the first 60 viewers, the "Refresh" menu item for the rest."""
    action = {"type": "Action.Execute", "title": "Refresh", "verb": verb, "data": {KEY: verb, **data}}
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
        out["errorMessage"] = f"{label} is needed."
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
        out["errorMessage"] = f"Choose the {label.lower()}."
    return out


def number_input(id_: str, label: str, currency: str, value: Any = None) -> Card:
    """Teams' number box for an amount: above zero, with the currency's decimals as the example."""
    out: Card = {"type": "Input.Number", "id": id_, "label": label, "min": float(step_for(currency)),
                 "max": float(MAX_AMOUNT), "placeholder": amount_input_hint(currency)}  # fmt: skip
    typed = "" if value is None else str(value)  # a form typed back may hold the number Teams sent
    if re.fullmatch(r"\d+(?:\.\d+)?", typed):  # a typed-back value only when it is a plain number
        out["value"] = float(typed)
    return out


def due_inputs(v: dict[str, str]) -> list[Card]:
    """A due date and time picked in the person's own zone; actions.py combines them."""
    date_in: Card = {"type": "Input.Date", "id": "due_date", "label": "Due date (optional)"}
    time_in: Card = {"type": "Input.Time", "id": "due_time", "label": "Due time (optional; 17:00 if empty)"}
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", v.get("due_date", "")):
        date_in["value"] = v["due_date"]
    if re.fullmatch(r"\d{2}:\d{2}", v.get("due_time", "")):
        time_in["value"] = v["due_time"]
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
    "open": "Open a recovery case",
    "apologise": "Record the apology",
    "grant": "Grant compensation",
    "step": "Add a next step",
    "resolve": "Resolve the case",
    "followup": "Record the customer's follow-up",
    "send": "Send the follow-up email",
    "handover": "Hand the case over",
    "flag": "Flag for process improvement",
    "reopen": "Reopen the case",
    "shoutout": "Shout out a colleague",
    "deny": "Deny the request",
}
FORM_BUTTONS = {"open": "Open case", "deny": "Deny", "shoutout": "Send shout-out", "send": "Send to the customer"}


def form_fields(form: str, values: dict[str, Any], policy: Policy | None = None,
                causes: list[str] | None = None) -> list[Card]:  # fmt: skip
    """The inputs of one form; `values` pre-fill them (defaults, or what the person typed)."""
    v = {k: ("" if x is None else str(x)) for k, x in values.items()}
    if form == "open":
        categories = list(policy.categories) if policy else []
        if v.get("category") and v["category"] not in categories:
            categories.append(v["category"])
        return [
            text_input("customer", "Customer (optional)", v.get("customer"), max_length=200),
            text_input("email", "Customer's email, for the written follow-up (optional)", v.get("email"),
                       max_length=254, placeholder="jane@example.com"),
            choice_input("language", "Customer's language (optional; the team's if empty)",
                         [(c, language_name(c)) for c in LANGUAGES], v.get("language")),
            text_input("problem", "What went wrong", v.get("problem"), required=True, multiline=True),
            text_input("wants", "What they want (optional)", v.get("wants"), multiline=True),
            choice_input("category", "Category", [(c, c.title()) for c in categories], v.get("category")),
            choice_input("severity", "Severity", [(s.value, s.value.title()) for s in Severity],
                         v.get("severity") or "medium"),
        ]  # fmt: skip
    if form == "apologise":
        return [
            choice_input(
                "method", "How", list(APOLOGY_CHOICES), v.get("method") or "in_person", required=True
            ),
            text_input("words", "The words you used (optional)", v.get("words"), multiline=True),
        ]
    if form == "grant":
        cur = policy.currency if policy else "USD"
        gestures = [
            (g["name"], f"{g['name']} ({format_amount(gesture_value(g), cur)})")
            for g in (policy.catalogue if policy else [])
        ]
        first = gestures[0][0] if gestures else None
        return [
            choice_input("gesture", "Gesture", gestures, v.get("gesture") or first),
            text_input(
                "gesture_other", "Or another gesture (optional)", v.get("gesture_other"), max_length=120
            ),
            number_input("amount", f"Amount in {cur} (empty: the catalogue value)", cur, v.get("amount")),
            text_input("note", "Note (optional)", v.get("note")),
        ]
    if form == "step":
        return [
            text_input("text", "What happens next", v.get("text"), required=True, multiline=True),
            people_input("owner", "Who does it (empty: the case owner)", v.get("owner"), required=False),
            *due_inputs(v),
        ]
    if form == "resolve":
        return [
            text_input(
                "summary", "What you did to put it right", v.get("summary"), required=True, multiline=True
            ),
            text_input("root_cause", "Root cause", v.get("root_cause"), required=True, max_length=500),
            *([choice_input("cause", "Cause (empty: the closest by meaning, and Teambot says which)",
                            [(c, c) for c in causes], v.get("cause"))] if causes else []),
        ]
    if form == "followup":
        return [
            choice_input("satisfied", "Customer satisfied?", [("yes", "Satisfied"), ("no", "Not yet")],
                         v.get("satisfied") or "yes", required=True),
            choice_input("score", "Score", [(str(i), f"{i}/5") for i in range(5, 0, -1)], v.get("score"),
                         required=True),
            choice_input("won_back", "Won back?", [("", "Don't know"), ("won", "Won back"), ("lost", "Lost")],
                         v.get("won_back")),
        ]  # fmt: skip
    if form == "handover":
        return [people_input("to", "New owner", v.get("to"))]
    if form == "flag":
        return [text_input("note", "What should change in the process", v.get("note"), required=True,
                           multiline=True)]  # fmt: skip
    if form == "reopen":
        return [text_input("note", "Why (optional)", v.get("note"), multiline=True)]
    if form == "shoutout":
        return [
            people_input("to", "Who"),
            text_input("message", "Why", v.get("message"), required=True, multiline=True),
        ]
    if form == "deny":
        return [text_input("note", "Reason (optional)", v.get("note"), multiline=True)]
    if form == "send":
        return [
            text_input("body", "The email (Teambot adds the greeting, your name and the feedback link)",
                       v.get("body"), required=True, multiline=True),
        ]  # fmt: skip
    if form == "category":
        cats = list(policy.categories) if policy else []
        return [choice_input("category", "Move to", [(c, c.title()) for c in cats], v.get("category"), required=True)]
    if form == "cancel":
        return [
            choice_input("why", "Why cancel it?", [("mistake", "Opened by mistake"), ("duplicate", "A duplicate"),
                         ("other", "Other")], v.get("why") or "mistake", required=True),
            text_input("duplicate_of", "Duplicate of case (number)", v.get("duplicate_of")),
            text_input("reason", "Reason (for other)", v.get("reason")),
        ]  # fmt: skip
    return []


def form_card(
    form: str, ids: dict[str, Any], values: dict[str, Any] | None = None, *, policy: Policy | None = None,
    error: DomainError | None = None, names: dict[str, str] | None = None, dialog: bool = False,
) -> Card:  # fmt: skip
    """A standalone form; with `error`, the refusal sits on top and every input keeps its value."""
    number = ids.get("number")
    heading = FORM_TITLES.get(form, form.title()) + (f" · case #{number}" if number else "")
    body: list[Card] = []
    if error is not None:
        body.append(banner("✗ " + teams_text(plain_names(str(error), names or {})), "attention"))
    body.append(text_block(heading, size="Medium", weight="Bolder"))
    body += form_fields(form, values or {}, policy)
    label = FORM_BUTTONS.get(form, "Save")
    if dialog:
        return card(body, [submit(label, form, form_card=True, **ids)])
    actions = [execute(label, form, form_card=True, **ids)]
    if number:
        actions.append(execute("Back to the case", REFRESH, number=number))
    return card(body, actions)


# ----- the case card ----------------------------------------------------------------------------


def viewer_role(d: Any, viewer: str | None) -> str:
    """owner | approver | bystander: which buttons this person sees on the case card."""
    if viewer and d.case.owner_id == viewer:
        return "owner"
    if viewer and d.pending and viewer in (list(d.policy.approvers) or list(d.policy.admins)):
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
    return show_card(label, fields, execute(FORM_BUTTONS.get(form, "Save"), form, number=number, **ids))


def _approval_actions(d: Any) -> list[Card]:
    out: list[Card] = []
    for req in d.pending[:2]:
        suffix = f" {req.id}" if len(d.pending) > 1 else ""
        out.append(execute(f"Approve{suffix}", "approve", approval_id=req.id, number=d.case.number))
        out.append(show_card(f"Deny{suffix}", form_fields("deny", {}),
                             execute("Deny", "deny", approval_id=req.id, number=d.case.number)))  # fmt: skip
    return out


def _authority(d: Any, form: str, viewer: str | None) -> str | None:
    """On the grant form in the owner's own view: how much more they may give on this case."""
    if form != "grant" or viewer is None:
        return None
    return authority_note(d.authority_left(viewer), d.currency)


def case_actions(d: Any, viewer: str | None) -> list[Card]:
    """The buttons one viewer sees: the owner the next steps, an approver the decision, others Claim/Shout out."""
    number, policy = d.case.number, d.policy
    role = viewer_role(d, viewer)
    out: list[Card] = []
    if role == "owner":
        if viewer in (list(policy.approvers) or list(policy.admins)):
            out += _approval_actions(d)
        for a in d.next_actions():
            label = ACTION_LABELS.get(a, a.title())
            if a in ("claim", "draft"):
                out.append(execute(label, a, number=number))
            elif a == "send":  # the draft first, editable, in a dialog
                out.append(open_dialog(label, "send_form", number=number))
            elif (action := _form_action(label, a, number, policy, note=_authority(d, a, viewer), values={"cause": d.cause},
                                         causes=d.causes if a == "resolve" else None)) is not None:  # fmt: skip
                out.append(action)
    elif role == "approver":
        out += _approval_actions(d)
    else:
        if d.case.status == CaseStatus.OPEN:
            out.append(execute(ACTION_LABELS["claim"], "claim", number=number))
        shout = _form_action(ACTION_LABELS["shoutout"], "shoutout", number, policy)
        if shout is not None:
            out.append(shout)
    # The requester may take back a request nobody has answered yet.
    out += [execute(f"Withdraw request {a.id}", "withdraw", approval_id=a.id)
            for a in d.pending if a.requested_by == viewer][:1]  # fmt: skip
    # The case's menu (another category; cancel one opened by mistake or twice): owner, opener, admins.
    if d.next_actions() and viewer is not None and (
        role == "owner" or viewer == d.case.opened_by or viewer in policy.admins
    ):
        for a in ("category", "cancel"):
            if (action := _form_action(ACTION_LABELS[a], a, number, policy)) is not None:
                out.append(action)
    out.append(execute("Timeline", "timeline", number=number))
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


def _case_card(
    reply: CaseReply, now: datetime, tz: str, names: dict[str, str], error: DomainError | None, limit: int,
    viewer: str | None, refresh: list[str] | None, form: Card | None,
) -> Card:  # fmt: skip
    d = reply.detail
    assert d is not None
    entities: list[Card] = []
    body: list[Card] = []
    if error is not None:
        body.append(banner("✗ " + teams_text(plain_names(str(error), names)), "attention"))
        if form is not None:
            body.append({"type": "Container", "style": "emphasis", "items": form["body"][1:]})
    if reply.message:
        body.append(
            banner("✓ " + with_mentions(teams_text(clip(reply.message, limit)), names, entities), "good")
        )
    if reply.opened and reply.opened.earlier_cases:
        earlier = ", ".join(f"#{c.number} ({c.status.value})" for c in reply.opened.earlier_cases[:10])
        body.append(text_block(f"ℹ {d.case.customer_name} has had cases before: {earlier}", isSubtle=True))
    if reply.opened and reply.opened.customer and reply.opened.customer.notes:
        for note in reply.opened.customer.notes[-5:]:
            body.append(text_block(f"ℹ Note: {clip(note['text'], limit)}", isSubtle=True))
    body.append(text_block(clip(plain_names(title(d), names), 200), size="Medium", weight="Bolder"))
    facts = [
        {"title": label, "value": clip(teams_text(plain_names(value, names)), limit)}
        for label, value in case_facts(d, now, tz, stamp=teams_date)
    ]
    body.append({"type": "FactSet", "facts": facts})
    body.append(text_block(f"Times in {tz}.", isSubtle=True, size="Small", spacing="Small"))
    actions = case_actions(d, viewer)
    if reply.choices:  # the step's one-click follow-ups ("Change cause": anyone in the team may), first
        actions = [*(execute(label, "run", command=command) for label, command in reply.choices), *actions]
    if form is not None and error is not None:
        actions = [*(form.get("actions") or [])[:1], *actions]
    out = card(body, actions, entities)
    if refresh is not None:
        out["refresh"] = refresh_block(REFRESH, refresh, number=d.case.number)
    return out


# ----- other replies ----------------------------------------------------------------------------


def error_card(err: DomainError, echo: str = "", names: dict[str, str] | None = None) -> Card:
    body = [banner("✗ " + teams_text(plain_names(str(err), names or {})), "attention")]
    if echo:
        body.append(text_block(f"You typed: {clip(echo, 3000)}", isSubtle=True))
    return card(body)


def list_card(reply: ListReply, names: dict[str, str]) -> Card:
    body: list[Card] = [
        text_block(clip(plain_names(reply.title, names), 3000), size="Medium", weight="Bolder")
    ]
    if not reply.cases:
        body.append(text_block(reply.empty))
    for c in reply.cases:
        owner = names.get(c.owner_id, "someone") if c.owner_id else "unowned"
        body.append(
            {
                "type": "Container",
                "selectAction": execute("Show", "show", number=c.number),
                "items": [
                    text_block(
                        f"**#{c.number}** · {STATUS_LABELS[c.status]} · {owner} · {clip(c.problem, 80)}"
                    )
                ],
            }
        )
    return card(body)


def approvals_card(reply: ApprovalsReply, names: dict[str, str]) -> Card:
    if not reply.approvals:
        return card([text_block("No approval requests are waiting.")])
    body: list[Card] = [text_block("Waiting for approval", size="Medium", weight="Bolder")]
    actions: list[Card] = []
    for a in reply.approvals[:20]:
        amount = format_amount(from_minor(a.amount_minor, a.currency), a.currency)
        who = names.get(a.requested_by, "someone")
        body.append(text_block(f"Request {a.id}: {a.gesture} {amount}, asked by {who}"))
        if len(actions) < 10:
            actions.append(execute(f"Approve {a.id}", "approve", approval_id=a.id))
    return card(body, actions)


def timeline_card(reply: TimelineReply, tz: str, names: dict[str, str]) -> Card:
    d = reply.detail
    assert d is not None
    body: list[Card] = [text_block(f"Timeline of case #{d.case.number}", size="Medium", weight="Bolder")]
    for e in d.events[-60:]:
        who = names.get(e.actor, "someone")
        body.append(text_block(f"{when(e.at, tz)} · {who} {clip(plain_names(event_line(e.kind, e.data), names), 300)}",
                               spacing="Small"))  # fmt: skip
    body.append(text_block(f"Times in {tz}.", isSubtle=True, size="Small"))
    return card(body, [execute("Back to the case", REFRESH, number=d.case.number)])


def draft_card(reply: DraftReply) -> Card:
    number = reply.detail.case.number if reply.detail else ""
    return card(
        [
            text_block(f"Draft follow-up for case #{number} (copy it to the customer)", weight="Bolder"),
            text_block(clip(reply.text, 8000)),
        ],
        [execute("Back to the case", REFRESH, number=number)] if number else None,
    )


def policy_card(reply: PolicyReply, names: dict[str, str]) -> Card:
    assert reply.policy is not None
    facts = [(label, plain_names(value, names)) for label, value in reply.facts]
    body: list[Card] = []
    if reply.message:
        body.append(banner("✓ " + teams_text(plain_names(reply.message, names)), "good"))
    body += [
        text_block("Recovery policy", size="Medium", weight="Bolder"),
        {"type": "FactSet", "facts": [{"title": t, "value": clip(v, 1500)} for t, v in facts]},
    ]
    return card(body)


def text_card(reply: TextReply, names: dict[str, str]) -> Card:
    entities: list[Card] = []
    body: list[Card] = []
    if reply.title:
        body.append(text_block(reply.title, size="Medium", weight="Bolder"))
    body.append(text_block(with_mentions(teams_text(clip(reply.text, 8000)), names, entities)))
    return card(body, entities=entities)


def render(
    reply: Reply,
    now: datetime,
    tz: str = "UTC",
    names: dict[str, str] | None = None,
    policy: Policy | None = None,
) -> Card:
    """Any reply as one card."""
    names = names or {}
    if isinstance(reply, ErrorReply):
        assert reply.error is not None
        return error_card(reply.error, reply.echo, names)
    if isinstance(reply, CaseReply) and reply.detail is not None:
        return case_card(reply, now, tz, names)
    if isinstance(reply, FormReply):
        ids = {"number": reply.prefill["number"]} if reply.prefill.get("number") else {}
        return form_card(reply.form, ids, reply.prefill, policy=policy)
    if isinstance(reply, ListReply):
        return list_card(reply, names)
    if isinstance(reply, ApprovalsReply):
        return approvals_card(reply, names)
    if isinstance(reply, TimelineReply) and reply.detail is not None:
        return timeline_card(reply, tz, names)
    if isinstance(reply, DraftReply):
        return draft_card(reply)
    if isinstance(reply, PolicyReply) and reply.policy is not None:
        return policy_card(reply, names)
    if isinstance(reply, ChoiceReply):
        choice = text_card(reply, names)
        choice["actions"] = [submit(label, "run", command=command) for label, command in reply.choices]
        return choice
    if isinstance(reply, TextReply):
        return text_card(reply, names)
    if isinstance(reply, HomeReply):
        return home_card(reply, now, tz, names)
    if isinstance(reply, DigestReply | LeaderboardReply):
        return card([text_block(teams_text(reply.text or "Done."))])
    log.warning("no Teams rendering for %s; sent as text", type(reply).__name__)  # tests/architecture guard it
    return card([text_block(teams_text(str(getattr(reply, "text", "") or "Done.")))])


def reply_mentions(reply: Reply) -> set[str]:
    """Every user id a reply's card may name, so the adapter can look their names up once."""
    ids: set[str] = set()
    if isinstance(reply, CaseReply | TimelineReply) and reply.detail is not None:
        d = reply.detail
        c = d.case
        ids |= {x for x in (c.opened_by, c.owner_id, c.apologised_by) if x}
        ids |= (
            {s.owner_id for s in d.steps}
            | {a.requested_by for a in d.approvals}
            | {e.actor for e in d.events}
        )
        if isinstance(reply, CaseReply):
            ids |= mention_ids(reply.message)
    elif isinstance(reply, ListReply):
        ids |= {c.owner_id for c in reply.cases if c.owner_id} | mention_ids(reply.title)
    elif isinstance(reply, ApprovalsReply):
        ids |= {a.requested_by for a in reply.approvals}
    elif isinstance(reply, PolicyReply) and reply.policy is not None:
        p = reply.policy
        ids |= set(p.approvers) | set(p.admins) | set(p.person_limits) | mention_ids(reply.message)
    elif isinstance(reply, TextReply):
        ids |= mention_ids(reply.text)
    elif isinstance(reply, ErrorReply) and reply.error is not None:
        ids |= mention_ids(str(reply.error))
    return ids


# ----- the personal home -----------------------------------------------------------------------


def _case_row(c: Case, line: str) -> Card:
    return {"type": "Container", "selectAction": execute("Show", "show", number=c.number),
            "items": [text_block(line, spacing="Small")]}  # fmt: skip


def home_card(
    reply: HomeReply, now: datetime, tz: str = "UTC", names: dict[str, str] | None = None, *,
    refresh_for: str | None = None, message: str | None = None, error: DomainError | None = None,
) -> Card:  # fmt: skip
    """The person's own view in their chat with the bot, kept as one card updated in place."""
    names = names or {}
    body: list[Card] = []
    if error is not None:
        body.append(banner("✗ " + teams_text(plain_names(str(error), names)), "attention"))
    if message:
        body.append(banner("✓ " + teams_text(plain_names(clip(message, 1500), names)), "good"))
    body += [
        text_block("Your service recovery", size="Large", weight="Bolder"),
        text_block(f"As of {when(now, tz)} ({tz})", isSubtle=True, spacing="None"),
        text_block(f"Your open cases ({len(reply.open_cases)})", weight="Bolder", separator=True),
    ]
    if not reply.open_cases:
        body.append(text_block("You own no open cases.", isSubtle=True))
    for c in reply.open_cases[:15]:
        body.append(_case_row(c, f"**#{c.number}** · {STATUS_LABELS[c.status]} · {clip(c.problem, 120)}"))
    body.append(text_block(f"Follow-ups due ({len(reply.followups)})", weight="Bolder", separator=True))
    if not reply.followups:
        body.append(text_block("No follow-ups waiting.", isSubtle=True))
    for c in reply.followups[:10]:
        due = c.followup_due_at
        shown = when(due, tz) if due else "?"
        late = " · **overdue**" if due and due < now else ""
        body.append(_case_row(c, f"**#{c.number}** · due {shown}{late} · {clip(c.problem, 120)}"))
    if reply.approvals:
        body.append(text_block(f"Approvals waiting ({len(reply.approvals)})", weight="Bolder", separator=True))
        for a in reply.approvals[:8]:
            amount = format_amount(from_minor(a.amount_minor, a.currency), a.currency)
            who = names.get(a.requested_by, "someone")
            body.append(text_block(f"Request {a.id}: {clip(a.gesture, 120)} {amount}, asked by {who}", spacing="Small"))
            body.append({"type": "ActionSet", "actions": [
                execute("Approve", "approve", approval_id=a.id, home=True),
                show_card("Deny", form_fields("deny", {}), execute("Deny", "deny", approval_id=a.id, home=True)),
            ]})  # fmt: skip
    for heading, lines in reply.sections:  # the causes to fix, the improvement actions you own
        body.append(text_block(heading, weight="Bolder", separator=True))
        body += [text_block(teams_text(plain_names(clip(line, 300), names)), spacing="Small") for line in lines]
    f = reply.figures
    score = f"{f.avg_score:.1f}/5" if f.avg_score is not None else "no scores yet"
    body += [
        text_block("Your figures", weight="Bolder", separator=True),
        {"type": "FactSet", "facts": [
            {"title": "Cases owned", "value": str(f.owned)},
            {"title": "Closed", "value": str(f.closed)},
            {"title": "Customers satisfied", "value": str(f.satisfied)},
            {"title": "Average score", "value": score},
        ]},
    ]  # fmt: skip
    out = card(body, [execute("Open a case", "form"), execute("Refresh", HOME)])
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
    number, verb = data.get("number"), action.action
    if verb == "approve":
        return execute(action.label, "approve", approval_id=data["approval_id"])
    if verb == "deny":
        return show_card(action.label, form_fields("deny", {}), execute("Deny", "deny", approval_id=data["approval_id"]))
    if verb in ("followup_yes", "followup_no"):
        fields = form_fields("followup", {"satisfied": "yes" if verb == "followup_yes" else "no"})
        return show_card(action.label, fields, execute("Save", "followup", number=number))
    if verb == "snooze":
        return execute(action.label, "snooze", number=number, **{"for": SNOOZE_FOR})
    if verb == "done":
        return execute(action.label, "done", number=number, position=data.get("position"))
    if verb in ("claim", "show"):
        return execute(action.label, verb, number=number)
    if verb == "run":
        return execute(action.label, "run", command=action.command)
    form = _form_action(action.label, verb, number, None)  # resolve, step, apologise: their form under it
    return form if form is not None else execute(action.label, verb, number=number)


def notice_card(notice: Notice, names: dict[str, str], *, note: str | None = None) -> Card:
    """Any core notice, with the actions core/notice_actions.py gives its kind."""
    entities: list[Card] = []
    body: list[Card] = []
    if note:
        body.append(text_block(note, isSubtle=True))
    body.append(text_block(with_mentions(teams_text(clip(notice.text, 8000)), names, entities)))
    actions = [notice_action(a, notice.data) for a in notice_actions(notice)]
    return card(body, actions, entities)


def case_line(case: Case) -> str:
    return f"#{case.number} · {STATUS_LABELS[case.status]} · {case.problem[:80]}"
