"""A first word that is a typo of a subcommand (`clam 1`) gets "did you mean" and opens nothing;
one that starts a description ("Shop closed early") opens a case as usual. Also `as_user`, the
mention reader the grammar and the typo check share.
"""

from __future__ import annotations

import difflib
import re

_MENTION = re.compile(r"^<@([A-Za-z0-9._:\-]+)(?:\|[^>]*)?>$|^@([A-Za-z0-9._:\-]+)$")


def as_user(token: str) -> str | None:
    m = _MENTION.match(token.strip())
    return (m.group(1) or m.group(2)) if m else None


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


def args_fit(verb: str, rest: str) -> bool:
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


def typo_of(word: str, rest: str, subcommands: tuple[str, ...]) -> str | None:
    """The subcommand an unknown first word was meant to be, or None when it is a description.

    Only the first word is looked at. It is a typo when it is close to a subcommand (difflib) and
    either what follows reads like that subcommand's arguments, or the word is one edit away and
    no sentence would start with it (not an English word we know, not the subcommand plus an
    ending such as "drafty" or "shows")."""
    w = word.lower()
    if not w.isalpha() or len(w) < 3:
        return None
    close = difflib.get_close_matches(w, [c for c in subcommands if "-" not in c], n=1, cutoff=0.7)
    if not close:
        return None
    verb = close[0]
    if args_fit(verb, rest):
        return verb
    if w in _REAL_WORDS or w.startswith(verb):
        return None
    # A letter missing, extra or swapped makes a non-word ("resolv", "aprove", "shwo"); a letter
    # changed often makes a real one ("wine" for "mine", "shop" for "show"), so that is not enough.
    slip = len(w) != len(verb) or sorted(w) == sorted(verb)
    if not rest.strip() or (len(w) >= 4 and slip and _distance(w, verb) <= 1):
        return verb
    return None
