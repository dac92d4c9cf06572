"""Replies and notices as terminal text. Pure: objects in, strings out, in the current language
(the session renders each reply under its person's)."""

from __future__ import annotations

import logging
import re
from datetime import datetime

from teambot.core.cases.home import HomeReply
from teambot.core.cases.queries import CaseDetail
from teambot.core.cases.replies import ApprovalsReply, CaseReply, DraftReply, ListReply, TimelineReply
from teambot.core.cases.summary import (
    ACTION_LABELS,
    STATUS_LABELS,
    case_facts,
    event_line,
    title,
    when,
)
from teambot.core.commands.replies import ErrorReply, FormReply, Reply, TextReply
from teambot.core.i18n import format_money
from teambot.core.i18n import gettext as _
from teambot.core.insights.replies import DigestReply
from teambot.core.money import from_minor
from teambot.core.policy.replies import PolicyReply
from teambot.core.recognition.replies import LeaderboardReply

log = logging.getLogger(__name__)
_MENTION = re.compile(r"<@([^>|]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([^>|]+)(?:\|[^>]*)?>")


def plain(text: str) -> str:
    """Chat markup to terminal text: `<@bob>` → `@bob`, `*bold*` → `bold`."""
    text = _MENTION.sub(r"@\1", text)
    text = _CHANNEL.sub(r"#\1", text)
    return text.replace("*", "").replace("`", "")


def buttons(actions: list[str]) -> str:
    return "  ".join(f"[{i}] {ACTION_LABELS.get(a, a.title())}" for i, a in enumerate(actions, 1))


def card_actions(detail: CaseDetail) -> list[str]:
    """The card's numbered buttons: the next steps, then its menu (category, cancel)."""
    actions = detail.next_actions()
    return [*actions, "category", "cancel"] if actions else []


def render(reply: Reply, now: datetime, tz: str = "UTC") -> str:
    if isinstance(reply, ErrorReply):
        echo = "\n  " + _("you typed: %(text)s") % {"text": reply.echo} if reply.echo else ""
        return plain(f"✗ {reply.text}{echo}")
    if isinstance(reply, TextReply):
        return plain(reply.text)
    if isinstance(reply, FormReply) and reply.form == "send":
        return _("The follow-up email for case #%(n)s, as drafted:") % {"n": reply.prefill.get("number")}
    if isinstance(reply, FormReply):
        return _("Opening a case. Answer each question; an empty line skips an optional one.")
    if isinstance(reply, CaseReply) and reply.detail is not None:
        d = reply.detail
        out = [f"✓ {reply.message}"] if reply.message else []
        if reply.opened and reply.opened.earlier_cases:
            earlier = ", ".join(f"#{c.number} ({c.status.value})" for c in reply.opened.earlier_cases)
            out.append("ℹ " + _("%(name)s has had cases before: %(earlier)s") % {"name": d.case.customer_name,
                                                                                 "earlier": earlier})  # fmt: skip
        if reply.opened and reply.opened.customer and reply.opened.customer.notes:
            out += ["ℹ " + _("note: %(text)s") % {"text": n["text"]} for n in reply.opened.customer.notes]
        out.append(f"┌ {title(d)}")
        out += [f"│ {label}: {value}" for label, value in case_facts(d, now, tz)]
        out.append(f"└ {buttons(card_actions(d))}")
        return plain("\n".join(out))
    if isinstance(reply, ListReply):
        if not reply.cases:
            return plain(f"{reply.title}\n  {reply.empty}")
        rows = [reply.title]
        for c in reply.cases:
            owner = f"<@{c.owner_id}>" if c.owner_id else _("unowned")
            rows.append(f"  #{c.number} · {STATUS_LABELS[c.status]} · {owner} · {c.problem[:60]}")
        return plain("\n".join(rows))
    if isinstance(reply, PolicyReply) and reply.policy is not None:
        return plain(_policy(reply))
    if isinstance(reply, ApprovalsReply):
        if not reply.approvals:
            return _("No approval requests are waiting.")
        rows = [_("Waiting for approval:")]
        for a in reply.approvals:
            amount = format_money(from_minor(a.amount_minor, a.currency), a.currency)
            rows.append("  " + _("request %(id)s: %(gesture)s %(amount)s asked by %(who)s") % {
                "id": a.id, "gesture": a.gesture, "amount": amount, "who": f"<@{a.requested_by}>"})  # fmt: skip
        return plain("\n".join(rows))
    if isinstance(reply, TimelineReply) and reply.detail is not None:
        rows = [_("Timeline of case #%(n)s") % {"n": reply.detail.case.number}]
        for e in reply.detail.events:
            rows.append(f"  {when(e.at, tz)}  <@{e.actor}> {event_line(e.kind, e.data)}")
        return plain("\n".join(rows))
    if isinstance(reply, DigestReply | LeaderboardReply):
        return plain(reply.text)
    if isinstance(reply, DraftReply):
        return _("Draft follow-up (copy it to the customer):") + "\n" + "\n".join(
            f"  {x}" for x in reply.text.split("\n")
        )
    if isinstance(reply, HomeReply):
        return plain(str(reply))
    log.warning("no shell rendering for %s; shown as text", type(reply).__name__)  # tests/architecture guard it
    return plain(str(getattr(reply, "text", "") or "Done."))


def _policy(reply: PolicyReply) -> str:
    assert reply.policy is not None
    rows = [f"✓ {reply.message}"] if reply.message else []
    rows.append(_("Recovery policy"))
    rows += [f"  {label}: {value}" for label, value in reply.facts]
    return "\n".join(rows)
