"""The one /recover grammar every adapter shares: text in, an Intent out.

Quick open: `/recover [customer:] what went wrong [wants: what they want] [#category] [!severity]
[lang:de]` (the customer's language).
A lone word that is not a subcommand gets help rather than opening a one-word case; a first word
that is a typo of a subcommand (`clam 1`) gets "did you mean" and opens nothing.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from teambot.core.cases.kinds import APOLOGY_METHODS, SEVERITIES
from teambot.core.commands.amounts import split_amount
from teambot.core.commands.intents import (
    Actions,
    ActionToJira,
    AddStep,
    ApiTokenCommand,
    Apologise,
    Approvals,
    Approve,
    Cancel,
    CaseIntent,
    Causes,
    ChangeCauses,
    ChangePolicy,
    Claim,
    CloseAction,
    CompleteStep,
    CreateAction,
    CustomerHistory,
    Deny,
    Digest,
    Draft,
    DropAction,
    Export,
    ExportCustomer,
    FileCause,
    Flag,
    Followup,
    ForgetCustomer,
    Grant,
    Handover,
    Help,
    Home,
    Intent,
    Leaderboard,
    ListOpen,
    Mine,
    NoteCustomer,
    Open,
    OpenForm,
    Recategorise,
    Reopen,
    Resolve,
    SendFollowup,
    Shoutout,
    Show,
    ShowPolicy,
    Snooze,
    SnoozeAction,
    Spend,
    Suggest,
    Timeline,
    WebhookCommand,
    Withdraw,
)  # fmt: skip
from teambot.core.commands.typos import args_fit, as_user, typo_of
from teambot.core.customer_loop.email_address import split_contact
from teambot.core.errors import BadInput
from teambot.core.i18n import gettext as _
from teambot.core.text import clean_text

SUBCOMMANDS = (
    "help", "list", "mine", "home", "show", "policy", "claim", "handover", "apologise", "apologize", "grant",
    "approve", "deny", "approvals", "step", "done", "flag", "resolve", "followup", "reopen", "draft",
    "timeline", "customer", "note", "shoutout", "digest", "leaderboard", "export", "snooze",
    "forget-customer", "export-customer", "send", "cancel", "category", "withdraw", "spend",
    "cause", "causes", "action", "actions", "api-token", "webhook",
)  # fmt: skip
# Subcommands that are also everyday first words of a complaint ("Cancel button broken"): they
# are commands only when a case number follows; otherwise the text opens a case as usual.
NEEDS_NUMBER = ("cancel", "category", "cause", "action")
_NUMBERS = r"#?\d{1,9}(?:\s*,\s*#?\d{1,9})*"  # `3`, `#3`, `3,7,12`
_ACTION_VERBS = ("done", "drop", "snooze", "jira")

USAGE = {
    "help": "/recover help",
    "show": "/recover show <case>",
    "claim": "/recover claim <case>",
    "handover": "/recover handover <case> @person",
    "apologise": f"/recover apologise <case> {'|'.join(APOLOGY_METHODS)} [the words you used]",
    "grant": "/recover grant <case> <gesture> [amount]",
    "approve": "/recover approve <request> [note]",
    "deny": "/recover deny <request> [reason]",
    "step": "/recover step <case> <what> [@owner] [due <when>]",
    "done": "/recover done <case>.<step>",
    "flag": "/recover flag <case> <what should change>",
    "resolve": "/recover resolve <case> <what you did> | <root cause>",
    "followup": "/recover followup <case> satisfied|not <score 1-5> [won|lost]",
    "reopen": "/recover reopen <case> [reason]",
    "draft": "/recover draft <case>",
    "timeline": "/recover timeline <case>",
    "customer": "/recover customer <name>",
    "note": "/recover note <customer>: <preference or fact>",
    "shoutout": "/recover shoutout @person [case] <why>",
    "snooze": "/recover snooze <case> [for 2h|1d]",
    "forget-customer": "/recover forget-customer <name>",
    "export-customer": "/recover export-customer <name>",
    "send": "/recover send <case>",
    "cancel": "/recover cancel <case> mistake|duplicate of <case>|<reason>",
    "category": "/recover category <case> <category>",
    "withdraw": "/recover withdraw <request>",
    "spend": "/recover spend [week|month|YYYY-MM|YYYY-MM-DD..YYYY-MM-DD]",
    "api-token": "/recover api-token create <name> [read|write] | list | revoke <name>",
    "webhook": "/recover webhook add <https URL> [event,...] | list | remove <url> | test <url> | log <url>",
    "cause": "/recover cause <case>[,<case>...] <cause> · /recover cause <cases> new <name>",
    "causes": "/recover causes [week|month|YYYY-MM|YYYY-MM-DD..YYYY-MM-DD]",
    "action": "/recover action <case> <what will change> [@owner] [due <when>] · action done|drop|snooze|jira <action> ...",
    "actions": "/recover actions [mine|done|dropped|all]",
    "policy-cause": "/recover policy cause add|remove <name> · rename <old> to <new> · merge <from> into <into>",
    "action-drop": "/recover action drop <action> <why>",
}
"""Each command's syntax: shown after "Usage:" in every language, the same words the help teaches
(commands stay English, like the help's lines between backticks)."""


def _usage(usage: str) -> str:
    return _("Usage: %(usage)s") % {"usage": usage}


def _number(token: str | None, usage: str, what: str = "case") -> int:
    """`what` numbers a case, a request or an action: each refusal is its own sentence to translate."""
    if token is None:
        missing = {
            "request": _("The request number is missing."), "action": _("The action number is missing."),
        }.get(what, _("The case number is missing."))  # fmt: skip
        raise BadInput(missing, _usage(usage))
    cleaned = token.strip().lstrip("#")
    if not cleaned.isdecimal() or len(cleaned) > 9:
        wrong = {
            "request": _("%(token)s is not a request number."), "action": _("%(token)s is not an action number."),
        }.get(what, _("%(token)s is not a case number."))  # fmt: skip
        raise BadInput(wrong % {"token": repr(token)}, _usage(usage))
    return int(cleaned)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: fall back to plain words
        return text.split()


def parse_open(text: str) -> dict[str, Any]:
    """`Mrs Patel: no hot water in 412 wants: a room move #booking !high`."""
    body = text.strip()
    out: dict[str, Any] = {}
    sev = re.search(rf"(?:^|\s)!({'|'.join(SEVERITIES)})\b", body, re.I)
    if sev:
        out["severity"] = sev.group(1).lower()
        body = (body[: sev.start()] + body[sev.end() :]).strip()
    lang = re.search(r"(?:^|\s)lang(?:uage)?:([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})?)(?=\s|$)", body, re.I)
    if lang:
        out["language"] = lang.group(1)
        body = (body[: lang.start()] + " " + body[lang.end() :]).strip()
    # `#words` stay in the text: only the team's vocabulary can say which one is a category.
    wants = re.split(r"\s*\b(?:wants?|would like)\s*:\s*", body, maxsplit=1, flags=re.I)
    if len(wants) == 2:
        body, out["wants"] = wants[0].strip(), wants[1].strip()
    # Slack sends a typed address as <mailto:jane@example.com|jane@example.com>.
    body = re.sub(r"<mailto:([^|<>]+)(?:\|[^<>]*)?>", r"<\1>", body)
    head, sep, rest = _split_customer(body)
    if sep and 0 < len(head.strip()) <= 120 and rest.strip() and not rest.startswith("//"):
        name, email = split_contact(head)
        if email is not None or len(head.strip()) <= 60:
            out["customer"], body = name or None, rest.strip()
            if email is not None:
                out["email"] = email
    out["problem"] = body
    return out


def _split_customer(body: str) -> tuple[str, str, str]:
    """`customer: problem`, where the customer part may hold `<jane@example.com>` (whose own
    characters never split it)."""
    bracket = re.match(r"([^:<>]*<[^<>]*>[^:<>]*)(:)(.*)$", body, re.S)
    if bracket:
        return bracket.group(1), ":", bracket.group(3)
    return body.partition(":")


def parse(text: str) -> Intent:
    """Text in, an Intent out: the first word picks the command's parser (`PARSERS`); anything else
    is a typo ("did you mean"), a lone unknown word (help) or a quick open."""
    raw = clean_text(text or "").strip()
    if not raw:
        return OpenForm(text=raw)
    words = raw.split(maxsplit=1)
    verb = words[0].lower()
    rest = words[1] if len(words) > 1 else ""
    if verb in NEEDS_NUMBER and not _command_follows(verb, rest):
        verb = ""  # "Cancel button broken on the app": a description, not the command
    if verb not in SUBCOMMANDS:
        return _not_a_command(words[0], rest, raw)
    verb = "apologise" if verb == "apologize" else verb
    return PARSERS[verb](Words(verb=verb, rest=rest, raw=raw))


def _command_follows(verb: str, rest: str) -> bool:
    head = (rest.split() or [""])[0]
    return bool(re.match(_NUMBERS + r"(?!\S)", rest.strip())) or (verb == "action" and head.lower() in _ACTION_VERBS)


def _not_a_command(word: str, rest: str, raw: str) -> Intent:
    meant = typo_of(word, rest, SUBCOMMANDS)
    if meant is not None:
        meant = "apologise" if meant == "apologize" else meant
        command = f"{meant} {rest}".strip() if args_fit(meant, rest) else meant
        return Suggest(unknown=word, command=command, text=raw)
    if len(raw.split()) == 1:
        return Help(unknown=word, text=raw)
    return Open(**parse_open(raw), text=raw)


@dataclass(frozen=True)
class Words:
    """A command's text, split once for its parser: `verb`, the `rest` after it, its shell-style
    `tokens`, and the `tail` after the first token (after the case number, for most commands)."""

    verb: str
    rest: str
    raw: str

    @property
    def usage(self) -> str:
        return USAGE.get(self.verb, USAGE["help"])

    @property
    def tokens(self) -> list[str]:
        return _split(self.rest)

    @property
    def first(self) -> str | None:
        tokens = self.tokens
        return tokens[0] if tokens else None

    @property
    def tail(self) -> str:
        parts = self.rest.split(maxsplit=1)
        return parts[1].strip() if len(parts) > 1 else ""

    def number(self, what: str = "case") -> int:
        return _number(self.first, self.usage, what)

    def refuse(self, message: str) -> BadInput:
        """`message` (already in the reader's language) with the command's usage under it."""
        return BadInput(message, _usage(self.usage))


Parser = Callable[[Words], Intent]


def _no_args(cls: type[Intent]) -> Parser:
    return lambda w: cls(text=w.raw)


def _digest(w: Words) -> Intent:
    return Digest(action=(w.first or "preview").lower(), text=w.raw)


def _policy(w: Words) -> Intent:
    tokens = w.tokens
    if tokens and tokens[0].lower() == "cause":
        parts = w.rest.split(maxsplit=2)
        if len(parts) < 2:
            raise BadInput(_("Say add, remove, rename or merge, then the cause."), _usage(USAGE["policy-cause"]))
        return ChangeCauses(op=parts[1].lower(), args=parts[2].strip() if len(parts) > 2 else "", text=w.raw)
    if tokens:
        return ChangePolicy(setting=tokens[0].lower(), values=tokens[1:], text=w.raw)
    return ShowPolicy(text=w.raw)


def _customer(cls: type[CustomerHistory | ExportCustomer | ForgetCustomer]) -> Parser:
    def parse_customer(w: Words) -> Intent:
        if not w.rest.strip():
            raise w.refuse(_("Which customer?"))
        return cls(customer=w.rest.strip(), text=w.raw)

    return parse_customer


def _note(w: Words) -> Intent:
    who, sep, what = w.rest.partition(":")
    if not sep or not who.strip() or not what.strip():
        raise w.refuse(_("Give the customer, a colon, then the note."))
    return NoteCustomer(customer=who.strip(), note=what.strip(), text=w.raw)


def _shoutout(w: Words) -> Intent:
    person = as_user(w.first or "")
    if person is None:
        raise w.refuse(_("Who is the shout-out for?"))
    more, number = w.tail, None
    about = re.match(r"#?(\d+)\s+(.*)$", more, re.S)
    if about:
        number, more = int(about.group(1)), about.group(2)
    return Shoutout(to=person, message=more.strip(), number=number, text=w.raw)


def _spend(w: Words) -> Intent:
    return Spend(period=w.rest.strip() or "month", text=w.raw)


def _causes(w: Words) -> Intent:
    return Causes(period=w.rest.strip() or "month", text=w.raw)


def _actions(w: Words) -> Intent:
    return Actions(which=(w.first or "open").lower(), text=w.raw)


def _withdraw(w: Words) -> Intent:
    return Withdraw(approval_id=w.number("request"), text=w.raw)


def _decide(cls: type[Approve]) -> Parser:
    def parse_decision(w: Words) -> Intent:
        return cls(approval_id=w.number("request"), note=w.tail or None, text=w.raw)

    return parse_decision


def _done(w: Words) -> Intent:
    step = re.fullmatch(r"#?(\d+)[.\s]+(\d+)", w.rest.strip())
    if not step:
        raise BadInput(_("Say which case and which step."),
                       _("Usage: %(usage)s (e.g. /recover done 12.1)") % {"usage": w.usage})  # fmt: skip
    return CompleteStep(number=int(step.group(1)), position=int(step.group(2)), text=w.raw)


def _case_only(cls: type[CaseIntent]) -> Parser:
    return lambda w: cls(number=w.number(), text=w.raw)


def _handover(w: Words) -> Intent:
    number, tail = w.number(), w.tail
    person = as_user(tail.split()[0]) if tail else None
    if person is None:
        raise w.refuse(_("Who should own the case?"))
    return Handover(number=number, to=person, text=w.raw)


def _apologise(w: Words) -> Intent:
    number, tail = w.number(), w.tail
    if not tail:
        raise w.refuse(_("How did you apologise?"))
    method, _space, said = tail.partition(" ")
    return Apologise(number=number, method=method, words=said.strip() or None, text=w.raw)


def _grant(w: Words) -> Intent:
    number, tail = w.number(), w.tail
    if not tail:
        raise w.refuse(_("Which gesture?"))
    gesture, amount = split_amount(tail)
    if not gesture:
        raise w.refuse(_("Name the gesture as well as the amount."))
    return Grant(number=number, gesture=gesture, amount=amount, text=w.raw)


def _step(w: Words) -> Intent:
    number, tail = w.number(), w.tail
    if not tail:
        raise w.refuse(_("What is the next step?"))
    return AddStep(number=number, **_what_owner_due(tail), text=w.raw)


def _action(w: Words) -> Intent:
    if (w.first or "").lower() in _ACTION_VERBS:
        return _close_action(str(w.first).lower(), w.rest, w.raw)
    number, tail = w.number(), w.tail
    if not tail:
        raise w.refuse(_("What will change?"))
    return CreateAction(number=number, **_what_owner_due(tail), text=w.raw)


def _cancel(w: Words) -> Intent:
    number, tail = w.number(), w.tail
    if not tail:
        raise w.refuse(_("Say why: mistake, or duplicate of <case>."))
    dup = re.fullmatch(r"(?:duplicate|dup|dupe)(?:\s+of)?\s+#?(\d{1,9})\b.*", tail, re.I | re.S)
    return Cancel(number=number, reason=tail, duplicate_of=int(dup.group(1)) if dup else None, text=w.raw)


def _category(w: Words) -> Intent:
    number, tail = w.number(), w.tail
    if not tail:
        raise w.refuse(_("Which category?"))
    return Recategorise(number=number, category=tail.lstrip("#"), text=w.raw)


def _snooze(w: Words) -> Intent:
    number = w.number()
    return Snooze(number=number, duration=re.sub(r"^for\s+", "", w.tail, flags=re.I) or None, text=w.raw)


def _flag(w: Words) -> Intent:
    number, tail = w.number(), w.tail
    if not tail:
        raise w.refuse(_("Say what should change in the process."))
    return Flag(number=number, note=tail, text=w.raw)


def _reopen(w: Words) -> Intent:
    number = w.number()
    return Reopen(number=number, note=w.tail or None, text=w.raw)


def _resolve(w: Words) -> Intent:
    number = w.number()
    summary, _bar, cause = w.tail.partition("|")
    if not summary.strip():
        raise w.refuse(_("Say what you did to put it right."))
    return Resolve(number=number, summary=summary.strip(), root_cause=cause.strip(), text=w.raw)


def _followup(w: Words) -> Intent:
    number = w.number()
    said = [x.lower() for x in w.tail.split()]
    if not said or said[0] not in ("satisfied", "yes", "not", "no", "unsatisfied", "not-satisfied"):
        raise w.refuse(_("Was the customer satisfied?"))
    after = said[1:]
    if after and after[0] == "satisfied":
        after = after[1:]
    if not after:
        raise w.refuse(_("The score is missing."))
    try:
        score = int(after[0])
    except ValueError:
        raise BadInput(_("%(score)s is not a score.") % {"score": repr(after[0])},
                       _("Give a whole number from 1 to 5.")) from None  # fmt: skip
    won_back = {"won": True, "won-back": True, "lost": False}.get(after[1]) if len(after) > 1 else None
    return Followup(number=number, satisfied=said[0] in ("satisfied", "yes"), score=score, won_back=won_back,
                    text=w.raw)  # fmt: skip


def _what_owner_due(tail: str) -> dict[str, Any]:
    """`Replace the lamp @bob due friday` → what, owner, due."""
    parts = re.split(r"\s+due\s+", tail, maxsplit=1, flags=re.I)
    what = parts[0]
    out: dict[str, Any] = {"due": parts[1].strip() if len(parts) > 1 else None}
    owner = re.search(r"(?:^|\s)(<@[^>]+>|@[\w.\-]+)\s*$", what)
    if owner:
        out["owner"] = as_user(owner.group(1))
        what = what[: owner.start()]
    out["what"] = what.strip()
    return out


def _cause(w: Words) -> Intent:
    """`3 Housekeeping`, `3,7,12 new Housekeeping missed rooms`, `3` (which cause? the choices)."""
    m = re.match(rf"({_NUMBERS})(?:\s+(.*))?$", w.rest.strip(), re.S)
    if not m:
        raise BadInput(_("Say which case(s), then the cause."), _usage(USAGE["cause"]))
    numbers = [int(n) for n in re.findall(r"\d+", m.group(1))]
    tail = (m.group(2) or "").strip()
    new = bool(re.match(r"new\s+\S", tail, re.I))
    cause = tail[4:].strip() if new else tail
    return FileCause(numbers=numbers, cause=cause, new=new, text=w.raw)


def _close_action(verb: str, rest: str, raw: str) -> Intent:
    """`done 3 [what changed]`, `drop 3 <why>`, `snooze 3 [for 2d]`."""
    parts = rest.split(maxsplit=2)
    number = _number(parts[1] if len(parts) > 1 else None, USAGE["action"], "action")
    tail = parts[2].strip() if len(parts) > 2 else ""
    if verb == "drop" and not tail:
        raise BadInput(_("Say why the action is dropped."), _usage(USAGE["action-drop"]))
    if verb == "jira":
        return ActionToJira(action=number, text=raw)
    if verb == "snooze":
        return SnoozeAction(action=number, duration=re.sub(r"^for\s+", "", tail, flags=re.I) or None, text=raw)
    closing = CloseAction if verb == "done" else DropAction
    return closing(action=number, note=tail or None, text=raw)


_INTEGRATION_ACTIONS = {"api-token": ("create", "list", "revoke"), "webhook": ("add", "list", "remove", "test", "log")}


def _integration(w: Words) -> tuple[str, str | None, list[str]]:
    """`api-token create <name> [scope]`, `webhook add <url> [events]`...: an action, then its target."""
    tokens = w.tokens
    action = (tokens[0] if tokens else "list").lower()
    if action not in _INTEGRATION_ACTIONS[w.verb]:
        raise w.refuse(_("`%(action)s` is not something /recover %(verb)s does.") % {"action": action, "verb": w.verb})
    target = tokens[1] if len(tokens) > 1 else None
    if action != "list" and not target:
        raise w.refuse(_("Which token?") if w.verb == "api-token" else _("Which URL?"))
    return action, target, tokens[2:]


def _api_token(w: Words) -> Intent:
    action, target, more = _integration(w)
    return ApiTokenCommand(action=action, token_name=target, scope=more[0].lower() if more else "read", text=w.raw)


def _webhook(w: Words) -> Intent:
    action, target, more = _integration(w)
    return WebhookCommand(action=action, url=target, events=",".join(more) or None, text=w.raw)


PARSERS: dict[str, Parser] = {
    "help": _no_args(Help), "list": _no_args(ListOpen), "mine": _no_args(Mine), "home": _no_args(Home),
    "approvals": _no_args(Approvals), "leaderboard": _no_args(Leaderboard), "export": _no_args(Export),
    "digest": _digest, "policy": _policy, "customer": _customer(CustomerHistory),
    "forget-customer": _customer(ForgetCustomer), "export-customer": _customer(ExportCustomer), "note": _note,
    "shoutout": _shoutout, "spend": _spend, "causes": _causes, "actions": _actions, "cause": _cause,
    "action": _action, "withdraw": _withdraw, "approve": _decide(Approve), "deny": _decide(Deny), "done": _done,
    "show": _case_only(Show), "timeline": _case_only(Timeline), "draft": _case_only(Draft),
    "claim": _case_only(Claim), "send": _case_only(SendFollowup), "handover": _handover,
    "apologise": _apologise, "grant": _grant, "step": _step, "cancel": _cancel, "category": _category,
    "snooze": _snooze, "flag": _flag, "reopen": _reopen, "resolve": _resolve, "followup": _followup,
    "api-token": _api_token, "webhook": _webhook,
}  # fmt: skip
