"""Replies and notices as terminal text. Pure: objects in, strings out, in the current language
(the session renders each reply under its person's)."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from functools import singledispatch

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
from teambot.core.commands.replies import ChoiceReply, ErrorReply, FormReply, Reply, TextReply
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
    shown = [said(ACTION_LABELS[action]) if action in ACTION_LABELS else action.title() for action in actions]
    return "  ".join(f"[{i}] {label}" for i, label in enumerate(shown, 1))


def card_actions(detail: CaseDetail) -> list[str]:
    """The card's numbered buttons: the next steps, then its menu (category, cancel)."""
    actions = detail.next_actions()
    return [*actions, "category", "cancel"] if actions else []


def said(label: object) -> str:
    """A label the core marked for translation (with `N_` or lazily), in the current language."""
    return _(str(label))


@singledispatch
def render(reply: Reply, now: datetime, tz: str = "UTC") -> str:
    """A reply as terminal text, by its kind: each kind registers its renderer below, so a new kind
    of reply adds one function. A kind with none lands here, is logged (tests/architecture guard
    it) and shows its text."""
    log.warning("no shell rendering for %s; shown as text", type(reply).__name__)
    return plain(str(getattr(reply, "text", "") or _("Done.")))


@render.register
def _error(reply: ErrorReply, now: datetime, tz: str = "UTC") -> str:
    echo = "\n  " + _("you typed: %(text)s") % {"text": reply.echo} if reply.echo else ""
    return plain(f"✗ {reply.text}{echo}")


@render.register(TextReply)
@render.register(ChoiceReply)  # its text; the session numbers its choices as buttons under it
@render.register(DigestReply)
@render.register(LeaderboardReply)
def _text(reply: TextReply | ChoiceReply | DigestReply | LeaderboardReply, now: datetime, tz: str = "UTC") -> str:
    return plain(reply.text)


@render.register
def _form(reply: FormReply, now: datetime, tz: str = "UTC") -> str:
    if reply.form == "send":
        return _("The follow-up email for case #%(n)s, as drafted:") % {"n": reply.prefill.get("number")}
    return _("Opening a case. Answer each question; an empty line skips an optional one.")


@render.register
def _case(reply: CaseReply, now: datetime, tz: str = "UTC") -> str:
    if reply.detail is None:
        return render.dispatch(Reply)(reply, now, tz)
    detail, opened = reply.detail, reply.opened
    out = [f"✓ {reply.message}"] if reply.message else []
    if opened and opened.earlier_cases:
        earlier = ", ".join(f"#{case.number} ({case.status.value})" for case in opened.earlier_cases)
        out.append("ℹ " + _("%(name)s has had cases before: %(earlier)s") % {"name": detail.case.customer_name,
                                                                             "earlier": earlier})  # fmt: skip
    if opened and opened.customer and opened.customer.notes:
        out += ["ℹ " + _("note: %(text)s") % {"text": note["text"]} for note in opened.customer.notes]
    out.append(f"┌ {title(detail)}")
    out += [f"│ {label}: {value}" for label, value in case_facts(detail, now, tz)]
    out.append(f"└ {buttons(card_actions(detail))}")
    return plain("\n".join(out))


@render.register
def _list(reply: ListReply, now: datetime, tz: str = "UTC") -> str:
    if not reply.cases:
        return plain(f"{reply.title}\n  {reply.empty}")
    rows = [reply.title]
    for case in reply.cases:
        owner = f"<@{case.owner_id}>" if case.owner_id else _("unowned")
        rows.append(f"  #{case.number} · {said(STATUS_LABELS[case.status])} · {owner} · {case.problem[:60]}")
    return plain("\n".join(rows))


@render.register
def _policy_reply(reply: PolicyReply, now: datetime, tz: str = "UTC") -> str:
    if reply.policy is None:
        return render.dispatch(Reply)(reply, now, tz)
    return plain(_policy(reply))


@render.register
def _approvals(reply: ApprovalsReply, now: datetime, tz: str = "UTC") -> str:
    if not reply.approvals:
        return _("No approval requests are waiting.")
    rows = [_("Waiting for approval:")]
    for req in reply.approvals:
        amount = format_money(from_minor(req.amount_minor, req.currency), req.currency)
        rows.append("  " + _("request %(id)s: %(gesture)s %(amount)s asked by %(who)s") % {
            "id": req.id, "gesture": req.gesture, "amount": amount, "who": f"<@{req.requested_by}>"})  # fmt: skip
    return plain("\n".join(rows))


@render.register
def _timeline(reply: TimelineReply, now: datetime, tz: str = "UTC") -> str:
    if reply.detail is None:
        return render.dispatch(Reply)(reply, now, tz)
    rows = [_("Timeline of case #%(n)s") % {"n": reply.detail.case.number}]
    for event in reply.detail.events:
        rows.append(f"  {when(event.at, tz)}  <@{event.actor}> {event_line(event.kind, event.data)}")
    return plain("\n".join(rows))


@render.register
def _draft(reply: DraftReply, now: datetime, tz: str = "UTC") -> str:
    lines = "\n".join(f"  {line}" for line in reply.text.split("\n"))
    return _("Draft follow-up (copy it to the customer):") + "\n" + lines


@render.register
def _home(reply: HomeReply, now: datetime, tz: str = "UTC") -> str:
    return plain(str(reply))


def _policy(reply: PolicyReply) -> str:
    assert reply.policy is not None
    rows = [f"✓ {reply.message}"] if reply.message else []
    rows.append(_("Recovery policy"))
    rows += [f"  {label}: {value}" for label, value in reply.facts]
    return "\n".join(rows)
