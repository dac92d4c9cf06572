"""Typed intents: one small dataclass per command, so a handler reads `intent.number`, not a dict.

The grammar builds them from text and the adapters from buttons and forms, each by the class's own
constructor (`slack/actions.py`, `teams/actions.py`). `intent_for` is left only for a plain button
that names its intent, and it refuses a field the intent does not have. `text` is what the person
typed, echoed back on errors so nothing they wrote is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from teambot.core.errors import BadInput
from teambot.core.i18n import gettext as _


@dataclass(kw_only=True)
class Intent:
    name: ClassVar[str] = ""
    text: str = ""


@dataclass(kw_only=True)
class CaseIntent(Intent):
    """Every intent that acts on one case."""

    number: int


@dataclass(kw_only=True)
class Help(Intent):
    name = "help"
    unknown: str | None = None


@dataclass(kw_only=True)
class Suggest(Intent):
    """A typo of a subcommand: nothing is opened; the person is offered the command they meant."""

    name = "suggest"
    unknown: str
    command: str


@dataclass(kw_only=True)
class OpenForm(Intent):
    name = "form"


@dataclass(kw_only=True)
class Open(Intent):
    name = "open"
    problem: str = ""
    customer: str | None = None
    wants: str | None = None
    category: str | None = None
    severity: str | None = None
    own: bool = False
    email: str | None = None  # the customer's, for the written follow-up
    language: str | None = None  # the customer's (`lang:de`), for the follow-up mail and page


@dataclass(kw_only=True)
class ListOpen(Intent):
    name = "list"


@dataclass(kw_only=True)
class Mine(Intent):
    name = "mine"


@dataclass(kw_only=True)
class Home(Intent):
    """One person's own view: their open cases, follow-ups due, approvals waiting, their figures."""

    name = "home"


@dataclass(kw_only=True)
class Approvals(Intent):
    name = "approvals"


@dataclass(kw_only=True)
class Leaderboard(Intent):
    name = "leaderboard"


@dataclass(kw_only=True)
class Export(Intent):
    name = "export"


@dataclass(kw_only=True)
class ShowPolicy(Intent):
    name = "policy"


@dataclass(kw_only=True)
class ChangePolicy(Intent):
    name = "policy_set"
    setting: str
    values: list[str]


@dataclass(kw_only=True)
class Digest(Intent):
    name = "digest"
    action: str = "preview"


@dataclass(kw_only=True)
class CustomerHistory(Intent):
    name = "customer"
    customer: str


@dataclass(kw_only=True)
class ExportCustomer(Intent):
    name = "export-customer"
    customer: str


@dataclass(kw_only=True)
class ForgetCustomer(Intent):
    name = "forget-customer"
    customer: str


@dataclass(kw_only=True)
class NoteCustomer(Intent):
    name = "note"
    customer: str
    note: str


@dataclass(kw_only=True)
class Shoutout(Intent):
    name = "shoutout"
    to: str
    message: str = ""
    number: int | None = None


@dataclass(kw_only=True)
class Approve(Intent):
    name = "approve"
    approval_id: int
    note: str | None = None


@dataclass(kw_only=True)
class Deny(Approve):
    name = "deny"


@dataclass(kw_only=True)
class Show(CaseIntent):
    name = "show"


@dataclass(kw_only=True)
class Timeline(CaseIntent):
    name = "timeline"


@dataclass(kw_only=True)
class Draft(CaseIntent):
    name = "draft"


@dataclass(kw_only=True)
class Claim(CaseIntent):
    name = "claim"


@dataclass(kw_only=True)
class Handover(CaseIntent):
    name = "handover"
    to: str


@dataclass(kw_only=True)
class Apologise(CaseIntent):
    name = "apologise"
    method: str
    words: str | None = None


@dataclass(kw_only=True)
class Grant(CaseIntent):
    name = "grant"
    gesture: str
    amount: str | None = None
    note: str | None = None


@dataclass(kw_only=True)
class AddStep(CaseIntent):
    name = "step"
    what: str = ""
    owner: str | None = None
    due: str | None = None


@dataclass(kw_only=True)
class CompleteStep(CaseIntent):
    name = "done"
    position: int


@dataclass(kw_only=True)
class Flag(CaseIntent):
    name = "flag"
    note: str | None = None


@dataclass(kw_only=True)
class Resolve(CaseIntent):
    name = "resolve"
    summary: str
    root_cause: str = ""
    cause: str | None = None  # one of the team's causes, chosen in a form; None: filed by meaning


@dataclass(kw_only=True)
class Followup(CaseIntent):
    name = "followup"
    satisfied: bool
    score: int
    won_back: bool | None = None


@dataclass(kw_only=True)
class Reopen(CaseIntent):
    name = "reopen"
    note: str | None = None


@dataclass(kw_only=True)
class SendFollowup(CaseIntent):
    """Send the written follow-up to the customer by email: the current draft, or `body` as edited."""

    name = "send"
    body: str | None = None


@dataclass(kw_only=True)
class SendForm(CaseIntent):
    """Show the draft in an editable form first (the card's "Send follow-up" button)."""

    name = "send_form"


@dataclass(kw_only=True)
class Snooze(CaseIntent):
    name = "snooze"
    duration: str | None = None  # "2h", "1d"; the policy's default when None


@dataclass(kw_only=True)
class Cancel(CaseIntent):
    """Opened by mistake or twice: the case leaves every figure but stays in the timeline."""

    name = "cancel"
    reason: str = ""
    duplicate_of: int | None = None


@dataclass(kw_only=True)
class Recategorise(CaseIntent):
    name = "category"
    category: str = ""


@dataclass(kw_only=True)
class Withdraw(Intent):
    """The requester takes back a compensation request nobody has answered yet."""

    name = "withdraw"
    approval_id: int


@dataclass(kw_only=True)
class Spend(Intent):
    name = "spend"
    period: str = "month"


@dataclass(kw_only=True)
class FileCause(Intent):
    """File cases under one of the team's causes; `new` creates the cause first (admins, managers).
    With no cause, the reply offers the team's causes as buttons."""

    name = "cause"
    numbers: list[int]
    cause: str = ""
    new: bool = False


@dataclass(kw_only=True)
class Causes(Intent):
    """What to fix first: the period's causes ranked by cost, then look-alike unfiled causes."""

    name = "causes"
    period: str = "month"


@dataclass(kw_only=True)
class ChangeCauses(Intent):
    name = "cause_policy"
    op: str
    args: str = ""


@dataclass(kw_only=True)
class CreateAction(CaseIntent):
    name = "action"
    what: str = ""
    owner: str | None = None
    due: str | None = None


@dataclass(kw_only=True)
class Actions(Intent):
    name = "actions"
    which: str = "open"  # open, mine, done, dropped, all


@dataclass(kw_only=True)
class CloseAction(Intent):
    name = "action_done"
    action: int
    note: str | None = None


@dataclass(kw_only=True)
class DropAction(CloseAction):
    name = "action_drop"


@dataclass(kw_only=True)
class SnoozeAction(Intent):
    name = "action_snooze"
    action: int
    duration: str | None = None


@dataclass(kw_only=True)
class ActionToJira(Intent):
    """"Create in Jira" on an improvement action: `/recover action jira <action>`."""

    name = "action_jira"
    action: int


@dataclass(kw_only=True)
class ApiTokenCommand(Intent):
    """`/recover api-token create <name> [read|write] | list | revoke <name>` (admins)."""

    name = "api-token"
    action: str = "list"
    token_name: str | None = None
    scope: str = "read"


@dataclass(kw_only=True)
class WebhookCommand(Intent):
    """`/recover webhook add <url> [event,...] | list | remove <url> | test <url> | log <url>` (admins)."""

    name = "webhook"
    action: str = "list"
    url: str | None = None
    events: str | None = None


INTENTS: dict[str, type[Intent]] = {
    cls.name: cls
    for cls in (
        Help, Suggest, OpenForm, Open, ListOpen, Mine, Home, Approvals, Leaderboard, Export, ShowPolicy,
        ChangePolicy, Digest, CustomerHistory, ExportCustomer, ForgetCustomer, NoteCustomer, Shoutout, Approve,
        Deny, Show, Timeline, Draft, Claim, Handover, Apologise, Grant, AddStep, CompleteStep, Flag, Resolve,
        Followup, Reopen, Snooze, SendFollowup, SendForm, Cancel, Recategorise, Withdraw, Spend,
        FileCause, Causes, ChangeCauses, CreateAction, Actions, CloseAction, DropAction, SnoozeAction,
        ApiTokenCommand, WebhookCommand, ActionToJira,
    )
}  # fmt: skip

# Field names as forms send them, where the command's own `text` or a keyword is in the way.
_ALIASES = {("step", "text"): "what", ("snooze", "for"): "duration"}


def intent_for(name: str, args: dict[str, Any] | None = None, text: str = "") -> Intent:
    """The typed intent a plain button means, from its action name and fields. A key the intent
    does not have is refused, never dropped: a misspelt `amuont` would otherwise price by the catalogue."""
    cls = INTENTS.get(name)
    if cls is None:
        raise BadInput(_("`%(name)s` is not something Teambot does.") % {"name": name}, _("See /recover help."))
    known = {f.name for f in fields(cls)} - {"text"}
    values = {_ALIASES.get((name, key), key): value for key, value in (args or {}).items()}
    unknown = sorted(set(values) - known)
    if unknown:
        takes = _("It takes %(fields)s.") % {"fields": ", ".join(sorted(known))} if known else _("It takes nothing.")
        raise BadInput(_("%(name)s has no %(fields)s.") % {"name": name, "fields": ", ".join(unknown)}, takes)
    try:
        return cls(text=text, **values)
    except TypeError:
        missing = sorted(known - set(values))
        raise BadInput(_("Something is missing to %(name)s: %(fields)s.") % {"name": name, "fields": ", ".join(missing)},
                       _("See /recover help.")) from None  # fmt: skip
