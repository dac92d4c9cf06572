"""What a person typed, from what Slack sends: read Slack's tokens, then undo its escaping, once.

Slack delivers a slash command's text and a message's text with `&`, `<` and `>` escaped as `&amp;`,
`&lt;` and `&gt;`, and with what it recognised wrapped in angle brackets of its own: mentions
(`<@U123|ana>`), channels (`<#C1|general>`), special mentions (`<!here>`, `<!subteam^S1|@team>`),
links (`<https://x.example|x.example>`) and addresses (`<mailto:jane@example.com|jane@example.com>`).
(Form inputs arrive as typed and never come through here.) The core reads neutral text, so this runs
at the edge, before anything is recorded: every store, card, mail and export then holds what the
person typed. A user mention stays Slack's `<@U123>`, the form the grammar reads as a person; the
rest becomes the text Slack showed for it, so `<!here>` is stored as `@here` (a card escapes it and
a bot's `@here` in plain text pings nobody).
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"<([^<>]*)>")  # a raw angle bracket is Slack's: a typed one arrives escaped
_ENTITY = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}


def unescape(text: str) -> str:
    """Slack's three escapes, undone in one pass (so a typed `&lt;` stays `&lt;`)."""
    return _ENTITY.sub(lambda m: _ENTITIES[m.group(1)], text)


def _token(body: str) -> str:
    """One `<...>` token as the person typed it."""
    target, _, label = body.partition("|")
    if target.startswith("@"):  # a person: the grammar reads <@U123>
        return f"<{target}>"
    if target.startswith("#"):  # a channel: its name, so `#booking` can still name a category
        return f"#{unescape(label)}" if label else f"<{target}>"
    if target.startswith("!"):  # @here, @channel, @everyone, a user group, a date
        word = target[1:].split("^", 1)[0]
        if label:
            return unescape(label) if word in ("subteam", "date") else f"@{unescape(label).lstrip('@')}"
        return f"@{word}"
    if target.lower().startswith("mailto:"):
        return unescape(label or target[len("mailto:") :])
    return unescape(label or target)  # a link: what was typed is its label, else the address itself


def from_slack(text: str | None) -> str:
    """A slash command's or a message's text as the person typed it."""
    raw = text or ""
    out: list[str] = []
    at = 0
    for match in _TOKEN.finditer(raw):
        out.append(unescape(raw[at : match.start()]))
        out.append(_token(match.group(1)))
        at = match.end()
    out.append(unescape(raw[at:]))
    return "".join(out)
