"""The one /recover grammar every adapter shares: text in, an Intent out.

Quick open: `/recover [customer:] what went wrong [wants: what they want] [#category] [!severity]
[lang:de]` (the customer's language).
A lone word that is not a subcommand gets help rather than opening a one-word case; a first word
that is a typo of a subcommand (`clam 1`) gets "did you mean" and opens nothing.
"""

from __future__ import annotations

import difflib
import re
import shlex
import unicodedata
from typing import Any

from teambot.core.commands.intents import Help, Intent, Open, OpenForm, Suggest, intent_for
from teambot.core.customer_loop.email_address import split_contact
from teambot.core.errors import BadInput
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
    "show": "/recover show <case>",
    "claim": "/recover claim <case>",
    "handover": "/recover handover <case> @person",
    "apologise": "/recover apologise <case> in_person|phone|email|chat [the words you used]",
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
    "policy cause": "/recover policy cause add|remove <name> · rename <old> to <new> · merge <from> into <into>",
}

# ----- typos -------------------------------------------------------------------------------

_CASE_FIRST = (
    "show", "claim", "handover", "apologise", "apologize", "grant", "step", "flag", "resolve",
    "followup", "reopen", "draft", "timeline", "snooze", "cancel", "category", "send",
)  # fmt: skip
_NO_ARGS = ("help", "list", "mine", "home", "approvals", "leaderboard", "export", "policy")
# English words one letter away from a subcommand that a description may well start with.
_REAL_WORDS_TEXT = """clam clams shoe shop shot snow slow stow list lost last lust mind mint mike line note
nose vote done dine tone none gone bone stop seep deny dent flat flog flap slag grand giant drift craft
graft help held hell helm heap hemp mine miner spent spend expert police cancer canter"""
_REAL_WORDS = frozenset(_REAL_WORDS_TEXT.split())


def _distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, swaps of two."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def _args_fit(verb: str, rest: str) -> bool:
    """Does `rest` read like the arguments of `verb` (rather than the rest of a sentence)?"""
    toks = rest.split()
    first = toks[0] if toks else ""
    if verb in _CASE_FIRST:
        return bool(re.fullmatch(r"#?\d{1,9}", first))
    if verb in ("approve", "deny", "withdraw"):
        return bool(re.fullmatch(r"#?\d{1,9}", first))
    if verb == "done":
        return bool(re.fullmatch(r"#?\d+[.\s]+\d+", rest.strip()))
    if verb == "shoutout":
        return as_user(first) is not None
    if verb == "digest":
        return not toks or bool(re.fullmatch(r"last|preview|\d{4}-W\d{1,2}", first, re.I))
    if verb == "spend":
        return not toks or bool(re.fullmatch(r"week|month|\d{4}-\d{2}(-\d{2})?(\.\..*)?", first, re.I))
    if verb in _NO_ARGS:
        return not toks
    return False


def typo_of(word: str, rest: str) -> str | None:
    """The subcommand an unknown first word was meant to be, or None when it is a description.

    Only the first word is looked at. It is a typo when it is close to a subcommand (difflib) and
    either what follows reads like that subcommand's arguments, or the word is one edit away and
    no sentence would start with it (not an English word we know, not the subcommand plus an
    ending such as "drafty" or "shows")."""
    w = word.lower()
    if not w.isalpha() or len(w) < 3:
        return None
    close = difflib.get_close_matches(w, [c for c in SUBCOMMANDS if "-" not in c], n=1, cutoff=0.7)
    if not close:
        return None
    verb = close[0]
    if _args_fit(verb, rest):
        return verb
    if w in _REAL_WORDS or w.startswith(verb):
        return None
    # A letter missing, extra or swapped makes a non-word ("resolv", "aprove", "shwo"); a letter
    # changed often makes a real one ("wine" for "mine", "shop" for "show"), so that is not enough.
    slip = len(w) != len(verb) or sorted(w) == sorted(verb)
    if not rest.strip() or (len(w) >= 4 and slip and _distance(w, verb) <= 1):
        return verb
    return None


def _number(token: str | None, usage: str, what: str = "case number") -> int:
    if token is None:
        raise BadInput(f"The {what} is missing.", f"Usage: {usage}")
    cleaned = token.strip().lstrip("#")
    if not cleaned.isdecimal() or len(cleaned) > 9:
        raise BadInput(f"{token!r} is not a {what}.", f"Usage: {usage}")
    return int(cleaned)


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: fall back to plain words
        return text.split()


_MENTION = re.compile(r"^<@([A-Za-z0-9._:\-]+)(?:\|[^>]*)?>$|^@([A-Za-z0-9._:\-]+)$")


def as_user(token: str) -> str | None:
    m = _MENTION.match(token.strip())
    return (m.group(1) or m.group(2)) if m else None


def _is_mark(text: str) -> bool:
    """A currency mark as people type it: a code or letters with a symbol ("EUR", "US$", "CA$", "€")."""
    if not text or len(text) > 4:
        return False
    symbols = sum(1 for ch in text if unicodedata.category(ch) == "Sc")
    letters = sum(1 for ch in text if ch.isalpha())
    return symbols + letters == len(text) and (symbols >= 1 or len(text) == 3) and symbols <= 1


def _amount_token(token: str) -> bool:
    """One token that is an amount, with any currency mark glued before or after: "4,50", "€5",
    "5€", "US$5", "¥500", "-3", "1e3". Which currency and whether it is readable is money's call."""
    if token.lower() in ("nan", "inf", "-inf", "+inf", "infinity"):
        return True
    m = re.fullmatch(r"([-+]?)(\D{0,4}?)([-+]?)([.,]?\d[\d.,'’]*(?:[eE][-+]?\d+)?)(\D{0,4})", token)
    if not m:
        return False
    before, after = m.group(2), m.group(5)
    if before and after:
        return False
    if after.isalpha() and after.isascii():  # "5kr", "5eur": letters after a number are a mark
        return True
    return not (before or after) or _is_mark(before or after)


def _code(token: str, *, after: bool) -> bool:
    """A currency mark as its own word: "EUR 5" (a code in upper case only, so a word is not read
    as a code), "5 eur", "R$ 5", "5 €"."""
    if any(unicodedata.category(ch) == "Sc" for ch in token):
        return _is_mark(token)
    return len(token) == 3 and token.isalpha() and token.isascii() and (after or token.isupper())


def split_amount(tail: str) -> tuple[str, str | None]:
    """`Coffee 4,50` -> ("Coffee", "4,50"); `Tea EUR 5` -> ("Tea", "EUR 5"); no amount -> (tail, None).

    Only splits: reading the amount (and refusing another currency) is `money.parse_amount`'s."""
    words = tail.split()
    if len(words) >= 2 and _amount_token(words[-1]) and _code(words[-2], after=False):
        return " ".join(words[:-2]), f"{words[-2]} {words[-1]}"
    if len(words) >= 2 and _code(words[-1], after=True) and _amount_token(words[-2]):
        return " ".join(words[:-2]), f"{words[-2]} {words[-1]}"
    if words and _amount_token(words[-1]):
        return " ".join(words[:-1]), words[-1]
    return tail, None


def parse_open(text: str) -> dict[str, Any]:
    """`Mrs Patel: no hot water in 412 wants: a room move #booking !high`."""
    body = text.strip()
    out: dict[str, Any] = {}
    sev = re.search(r"(?:^|\s)!(low|medium|high|critical)\b", body, re.I)
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
    raw = clean_text(text or "").strip()
    if not raw:
        return OpenForm(text=raw)
    words = raw.split(maxsplit=1)
    verb = words[0].lower()
    rest = words[1] if len(words) > 1 else ""
    head = (rest.split() or [""])[0]
    if verb in NEEDS_NUMBER and not (
        re.match(_NUMBERS + r"(?!\S)", rest.strip()) or (verb == "action" and head.lower() in _ACTION_VERBS)
    ):
        verb = ""  # "Cancel button broken on the app": a description, not the command
    if verb not in SUBCOMMANDS:
        meant = typo_of(words[0], rest)
        if meant is not None:
            meant = "apologise" if meant == "apologize" else meant
            command = f"{meant} {rest}".strip() if _args_fit(meant, rest) else meant
            return Suggest(unknown=words[0], command=command, text=raw)
        if len(raw.split()) == 1:
            return Help(unknown=words[0], text=raw)
        return Open(**parse_open(raw), text=raw)
    verb = "apologise" if verb == "apologize" else verb
    usage = USAGE.get(verb, "/recover help")
    tokens = _split(rest)
    first = tokens[0] if tokens else None
    name = verb
    a: dict[str, Any] = {}

    if verb in ("help", "list", "mine", "home", "approvals", "leaderboard", "export"):
        return intent_for(name, a, raw)
    if verb == "digest":
        a["action"] = (first or "preview").lower()
        return intent_for(name, a, raw)
    if verb == "policy" and tokens and tokens[0].lower() == "cause":
        parts = rest.split(maxsplit=2)
        if len(parts) < 2:
            raise BadInput("Say add, remove, rename or merge, then the cause.", f"Usage: {USAGE['policy cause']}")
        a["op"], a["args"] = parts[1].lower(), (parts[2].strip() if len(parts) > 2 else "")
        return intent_for("cause_policy", a, raw)
    if verb == "policy":
        if tokens:
            a["setting"], a["values"] = tokens[0].lower(), tokens[1:]
            name = "policy_set"
        return intent_for(name, a, raw)
    if verb in ("customer", "forget-customer", "export-customer"):
        if not rest.strip():
            raise BadInput("Which customer?", f"Usage: {usage}")
        a["customer"] = rest.strip()
        return intent_for(name, a, raw)
    if verb == "note":
        who, sep, what = rest.partition(":")
        if not sep or not who.strip() or not what.strip():
            raise BadInput("Give the customer, a colon, then the note.", f"Usage: {usage}")
        a["customer"], a["note"] = who.strip(), what.strip()
        return intent_for(name, a, raw)
    if verb == "shoutout":
        person = as_user(first or "")
        if person is None:
            raise BadInput("Who is the shout-out for?", f"Usage: {usage}")
        more = rest.split(maxsplit=1)[1] if len(rest.split(maxsplit=1)) > 1 else ""
        num = re.match(r"#?(\d+)\s+(.*)$", more, re.S)
        if num:
            a["number"], more = int(num.group(1)), num.group(2)
        a["to"], a["message"] = person, more.strip()
        return intent_for(name, a, raw)
    if verb in ("api-token", "webhook"):
        return _integration(verb, tokens, usage, raw)
    if verb in ("spend", "causes"):
        a["period"] = rest.strip() or "month"
        return intent_for(name, a, raw)
    if verb == "actions":
        a["which"] = (first or "open").lower()
        return intent_for(name, a, raw)
    if verb == "cause":
        return _cause(rest, raw)
    if verb == "action" and (first or "").lower() in _ACTION_VERBS:
        return _close_action(first.lower(), rest, raw)  # type: ignore[union-attr]
    if verb == "withdraw":
        a["approval_id"] = _number(first, usage, "request number")
        return intent_for(name, a, raw)
    if verb in ("approve", "deny"):
        a["approval_id"] = _number(first, usage, "request number")
        a["note"] = rest.split(maxsplit=1)[1].strip() if len(rest.split(maxsplit=1)) > 1 else None
        return intent_for(name, a, raw)
    if verb == "done":
        m = re.fullmatch(r"#?(\d+)[.\s]+(\d+)", rest.strip())
        if not m:
            raise BadInput("Say which case and which step.", f"Usage: {usage} (e.g. /recover done 12.1)")
        a["number"], a["position"] = int(m.group(1)), int(m.group(2))
        return intent_for(name, a, raw)

    # The rest all start with a case number.
    a["number"] = _number(first, usage)
    tail = rest.split(maxsplit=1)[1].strip() if len(rest.split(maxsplit=1)) > 1 else ""
    if verb == "handover":
        person = as_user(tail.split()[0]) if tail else None
        if person is None:
            raise BadInput("Who should own the case?", f"Usage: {usage}")
        a["to"] = person
    elif verb == "apologise":
        if not tail:
            raise BadInput("How did you apologise?", f"Usage: {usage}")
        method, _, words = tail.partition(" ")
        a["method"], a["words"] = method, words.strip() or None
    elif verb == "grant":
        if not tail:
            raise BadInput("Which gesture?", f"Usage: {usage}")
        a["gesture"], a["amount"] = split_amount(tail)
        if not a["gesture"]:
            raise BadInput("Name the gesture as well as the amount.", f"Usage: {usage}")
    elif verb in ("step", "action"):
        if not tail:
            raise BadInput("What will change?" if verb == "action" else "What is the next step?", f"Usage: {usage}")
        a.update(_what_owner_due(tail))
    elif verb == "cancel":
        if not tail:
            raise BadInput("Say why: mistake, or duplicate of <case>.", f"Usage: {usage}")
        dup = re.fullmatch(r"(?:duplicate|dup|dupe)(?:\s+of)?\s+#?(\d{1,9})\b.*", tail, re.I | re.S)
        a["reason"] = tail
        if dup:
            a["duplicate_of"] = int(dup.group(1))
    elif verb == "category":
        if not tail:
            raise BadInput("Which category?", f"Usage: {usage}")
        a["category"] = tail.lstrip("#")
    elif verb == "snooze":
        a["duration"] = re.sub(r"^for\s+", "", tail, flags=re.I) or None
    elif verb in ("flag", "reopen"):
        a["note"] = tail or None
        if verb == "flag" and not tail:
            raise BadInput("Say what should change in the process.", f"Usage: {usage}")
    elif verb == "resolve":
        summary, _, cause = tail.partition("|")
        if not summary.strip():
            raise BadInput("Say what you did to put it right.", f"Usage: {usage}")
        a["summary"], a["root_cause"] = summary.strip(), cause.strip()
    elif verb == "followup":
        t = [x.lower() for x in tail.split()]
        if not t or t[0] not in ("satisfied", "yes", "not", "no", "unsatisfied", "not-satisfied"):
            raise BadInput("Was the customer satisfied?", f"Usage: {usage}")
        a["satisfied"] = t[0] in ("satisfied", "yes")
        rest_t = t[1:]
        if rest_t and rest_t[0] == "satisfied":
            rest_t = rest_t[1:]
        if not rest_t:
            raise BadInput("The score is missing.", f"Usage: {usage}")
        try:
            a["score"] = int(rest_t[0])
        except ValueError:
            raise BadInput(f"{rest_t[0]!r} is not a score.", "Give a whole number from 1 to 5.") from None
        if len(rest_t) > 1:
            a["won_back"] = {"won": True, "won-back": True, "lost": False}.get(rest_t[1])
    return intent_for(name, a, raw)


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


def _cause(rest: str, raw: str) -> Intent:
    """`3 Housekeeping`, `3,7,12 new Housekeeping missed rooms`, `3` (which cause? the choices)."""
    m = re.match(rf"({_NUMBERS})(?:\s+(.*))?$", rest.strip(), re.S)
    if not m:
        raise BadInput("Say which case(s), then the cause.", f"Usage: {USAGE['cause']}")
    numbers = [int(n) for n in re.findall(r"\d+", m.group(1))]
    tail = (m.group(2) or "").strip()
    new = bool(re.match(r"new\s+\S", tail, re.I))
    cause = tail[4:].strip() if new else tail
    return intent_for("cause", {"numbers": numbers, "cause": cause, "new": new}, raw)


def _close_action(verb: str, rest: str, raw: str) -> Intent:
    """`done 3 [what changed]`, `drop 3 <why>`, `snooze 3 [for 2d]`."""
    parts = rest.split(maxsplit=2)
    number = _number(parts[1] if len(parts) > 1 else None, USAGE["action"], "action number")
    tail = parts[2].strip() if len(parts) > 2 else ""
    if verb == "drop" and not tail:
        raise BadInput("Say why the action is dropped.", "Usage: /recover action drop <action> <why>")
    if verb == "jira":
        return intent_for("action_jira", {"action": number}, raw)
    if verb == "snooze":
        return intent_for("action_snooze", {"action": number, "duration": re.sub(r"^for\s+", "", tail, flags=re.I) or None}, raw)
    return intent_for("action_done" if verb == "done" else "action_drop", {"action": number, "note": tail or None}, raw)


_ACTIONS = {"api-token": ("create", "list", "revoke"), "webhook": ("add", "list", "remove", "test", "log")}


def _integration(verb: str, tokens: list[str], usage: str, raw: str) -> Intent:
    """`api-token create <name> [scope]`, `webhook add <url> [events]`...: an action, then its target."""
    action = (tokens[0] if tokens else "list").lower()
    if action not in _ACTIONS[verb]:
        raise BadInput(f"`{action}` is not something /recover {verb} does.", f"Usage: {usage}")
    target = tokens[1] if len(tokens) > 1 else None
    if action != "list" and not target:
        raise BadInput(f"Which {'token' if verb == 'api-token' else 'URL'}?", f"Usage: {usage}")
    if verb == "api-token":
        scope = tokens[2].lower() if len(tokens) > 2 else "read"
        return intent_for("api-token", {"action": action, "token_name": target, "scope": scope}, raw)
    events = ",".join(tokens[2:]) or None
    return intent_for("webhook", {"action": action, "url": target, "events": events}, raw)
