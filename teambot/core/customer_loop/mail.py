"""The follow-up as an email: plain text and simple HTML, composed without sending anything.

The body comes from the written follow-up draft (what the case records, `draft_body`). This
module only frames it: a greeting by first name, the owner's signature, and the feedback link.
A greeting or sign-off someone typed while editing the draft is dropped rather than repeated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from teambot.core.customer_loop.email_address import validate_email
from teambot.core.errors import BadInput
from teambot.core.i18n import current, install_jinja
from teambot.core.i18n import gettext as _

_TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(
    loader=FileSystemLoader(_TEMPLATES),
    # HTML is escaped; the plain-text part must not be (an "&" stays "&").
    autoescape=lambda name: name is None or not name.endswith(".txt"),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
install_jinja(_env)

# Greetings and sign-offs in every language the mail speaks, as staff type them into the draft.
_GREETING = re.compile(
    r"^(dear|hi|hello|liebe[rs]?|hallo|guten tag|sehr geehrte[rs]?|bonjour|ch[eè]re?|madame|monsieur|"
    r"hola|estimad[oa]s?|querid[oa]s?|beste|geachte|hallo|ol[aá]|car[oa]|prezad[oa])\b[^\n]*[,:]\s*$",
    re.IGNORECASE,
)
# Only a line that is nothing but a sign-off ends the body ("Thanks to you..." does not).
_CLOSING = re.compile(
    r"^(kind regards|best regards|warm regards|regards|best wishes|yours sincerely|sincerely|thanks|thank you|"
    r"mit freundlichen gr[üu](?:ß|ss)en|freundliche gr[üu](?:ß|ss)e|viele gr[üu](?:ß|ss)e|beste gr[üu](?:ß|ss)e|"
    r"herzliche gr[üu](?:ß|ss)e|danke|cordialement|bien cordialement|bien [àa] vous|merci|"
    r"un saludo|saludos|saludos cordiales|atentamente|un cordial saludo|gracias|met vriendelijke groet(?:en)?|"
    r"vriendelijke groet(?:en)?|hartelijke groet(?:en)?|groeten|bedankt|com os melhores cumprimentos|"
    r"cumprimentos|atenciosamente|melhores cumprimentos|obrigad[oa])"
    r"[,.!]?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FollowupMail:
    """A composed mail, ready for a MailSender; `reply_to` lets the customer reach the owner."""

    to: str
    subject: str
    text: str
    html: str
    reply_to: str | None = None
    language: str = "en"  # the customer's, which the text and HTML are written in


@dataclass(frozen=True)
class Block:
    """A paragraph (lines kept as written) or a bulleted list, for the HTML part."""

    kind: str  # "p" | "ul"
    lines: tuple[str, ...]


def _one_line(text: str) -> str:
    return " ".join((text or "").split())


def body_of_draft(body_text: str) -> str:
    """The draft minus a greeting and a sign-off block, which the mail adds itself."""
    lines = body_text.replace("\r\n", "\n").strip("\n").split("\n")
    if lines and _GREETING.match(lines[0].strip()):
        lines = lines[1:]
    for i, line in enumerate(lines):
        if _CLOSING.match(line.strip()):
            lines = lines[:i]
            break
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in lines)).strip("\n")


def blocks_of(body: str) -> list[Block]:
    """Blank lines separate paragraphs; lines starting with "-" or "*" become list items."""
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", body):
        para: list[str] = []
        items: list[str] = []
        for line in chunk.split("\n"):
            bullet = re.match(r"^\s*[-*•]\s+(.*)$", line)
            if bullet:
                if para:
                    blocks.append(Block("p", tuple(para)))
                    para = []
                items.append(bullet.group(1).strip())
            elif line.strip():
                if items:
                    blocks.append(Block("ul", tuple(items)))
                    items = []
                para.append(line.strip())
        if para:
            blocks.append(Block("p", tuple(para)))
        if items:
            blocks.append(Block("ul", tuple(items)))
    return blocks


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        # An escaped javascript: URL is still a javascript: URL once clicked.
        raise BadInput(_("The feedback link must be an http(s) address."), field="feedback_url")
    return url


def compose_followup(
    customer_first_name: str,
    team_name: str,
    owner_name: str,
    body_text: str,
    feedback_url: str,
    *,
    to: str,
    reply_to: str | None = None,
) -> FollowupMail:
    """Frame the follow-up draft as an email signed by the case owner, with the feedback link.

    `to` (and `reply_to`, the owner's address if they want answers) are validated here so a
    bad address is refused when the mail is composed, not when the SMTP server bounces it.
    The mail speaks the current language (`use_locale(<the customer's>)` around the call).
    """
    context = {
        "first_name": _one_line(customer_first_name),
        "team_name": _one_line(team_name),
        "owner_name": _one_line(owner_name),
        "body": body_of_draft(body_text),
        "blocks": blocks_of(body_of_draft(body_text)),
        "feedback_url": _check_url(feedback_url),
        "can_reply": reply_to is not None,
    }
    subject = (
        _("Following up from %(team)s") % {"team": context["team_name"]}
        if context["team_name"]
        else _("Following up")
    )
    return FollowupMail(
        to=validate_email(to),
        subject=subject,
        text=_env.get_template("followup.txt").render(context),
        html=_env.get_template("followup.html").render(context, subject=subject, lang=current()),
        reply_to=validate_email(reply_to) if reply_to is not None else None,
        language=current(),
    )
