"""Customer email addresses: a simple, predictable rule instead of the full RFC 5322 grammar.

Front-line staff type these into a chat box; what matters is catching typos ("jane@example",
"jane.example.com", a stray space) with a sentence they understand, not accepting every
address the RFC allows. Quoted local parts and IP-literal domains are refused on purpose.
"""

from __future__ import annotations

import re

from teambot.core.errors import BadInput
from teambot.core.i18n import N_
from teambot.core.i18n import gettext as _

MAX_EMAIL_CHARS = 254  # RFC 5321 path limit
# \w admits non-ASCII letters too (jörg@...): such mail needs SMTPUTF8, which aiosmtplib negotiates.
_LOCAL = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*")
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_TLD = re.compile(r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})")
_HINT = N_("Write it like jane@example.com.")
# An address-looking word inside free text; validated properly before it is used.
# `<jane@example.com>`: brackets around something with an @ that is no chat token (`<@U123>` is a
# mention, `<!here>` and `<#C1|general>` Slack's own, `<https://a@b.c>` a link) and no second bracket.
_BRACKETED = re.compile(r"<(?![@!#])(?![A-Za-z][\w+.-]*://)([^<>|]*@[^<>|]*)>")
_CANDIDATE = re.compile(r"[^\s<>()\[\],;:\"]+@[^\s<>()\[\],;:\"]+")


def _bad(text: str, why: str) -> BadInput:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return BadInput(
        _("'%(address)s' is not an email address: %(why)s.") % {"address": shown, "why": _(why)}, _(_HINT),
        field="email",
    )


def validate_email(text: str) -> str:
    """Return the address trimmed, with its domain lower-cased (and IDNA-encoded); else BadInput."""
    raw = (text or "").strip()
    if raw.lower().startswith("mailto:"):
        raw = raw[len("mailto:") :].strip()
    if not raw:
        raise BadInput(_("The email address is empty."), _(_HINT), field="email")
    if len(raw) > MAX_EMAIL_CHARS:
        raise _bad(raw, _("it is longer than %(limit)s characters") % {"limit": MAX_EMAIL_CHARS})
    if any(ch.isspace() for ch in raw):
        raise _bad(raw, N_("it contains a space"))
    if raw.count("@") != 1:
        raise _bad(raw, N_("it needs exactly one @"))
    local, domain = raw.split("@")
    if not local or not domain:
        raise _bad(raw, N_("something is missing before or after the @"))
    if len(local) > 64 or not _LOCAL.fullmatch(local):
        raise _bad(raw, N_("the part before the @ has characters or dots in the wrong place"))
    try:
        ascii_domain = domain.rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise _bad(raw, N_("the part after the @ is not a domain name")) from exc
    labels = ascii_domain.split(".")
    if len(labels) < 2:
        raise _bad(raw, N_("the domain needs a dot, like example.com"))
    if not all(_LABEL.fullmatch(label) for label in labels) or not _TLD.fullmatch(labels[-1]):
        raise _bad(raw, N_("the part after the @ is not a domain name"))
    return f"{local}@{ascii_domain}"


def split_contact(text: str) -> tuple[str, str | None]:
    """Split quick-open customer text into (name, email or None).

    Accepts ``Jane Doe <jane@example.com>``, ``Jane Doe (jane@example.com)``,
    ``Jane Doe jane@example.com``, a bare address (name "") or a bare name. An address in
    angle brackets is clearly meant as one, so a bad one raises BadInput; a loose word with
    an @ that is not an address (a chat handle, say) stays part of the name.
    """
    raw = re.sub(r"<mailto:([^|<>]+)(?:\|[^<>]*)?>", r"<\1>", " ".join((text or "").split()))
    bracketed = _BRACKETED.search(raw)
    if bracketed:
        email = validate_email(bracketed.group(1))
        name = raw[: bracketed.start()] + raw[bracketed.end() :]
        return _clean_name(name), email
    for match in _CANDIDATE.finditer(raw):
        try:
            email = validate_email(match.group(0).rstrip("."))
        except BadInput:
            continue
        name = raw[: match.start()] + raw[match.end() :]
        return _clean_name(re.sub(r"\(\s*\)", "", name)), email
    return _clean_name(raw), None


def _clean_name(name: str) -> str:
    """Drop the quotes and separators left behind once the address is taken out."""
    name = " ".join(name.split())
    return name.strip(" \t\"'“”,;:-–—").strip()
