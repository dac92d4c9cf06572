"""Block Kit renderers. Pure: core objects in, Slack message/view JSON out.

Every function here respects Block Kit's published limits (section text 3000, header 150,
button and option text 75, 50 blocks a message, 100 a view...) whatever the input length,
so a long complaint can never turn into an `invalid_blocks` error and a lost step.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime
from functools import singledispatch
from typing import Any

from babel.numbers import format_decimal

from teambot.core.cases.home import HomeReply
from teambot.core.cases.models import ApprovalRequest, Case
from teambot.core.cases.queries import CaseDetail
from teambot.core.cases.replies import ApprovalsReply, CaseReply, DraftReply, ListReply, TimelineReply
from teambot.core.cases.summary import (
    ACTION_LABELS,
    STATUS_LABELS,
    case_facts,
    deadlines,
    event_line,
    title,
    when,
)
from teambot.core.commands.replies import ChoiceReply, ErrorReply, FormReply, Reply, TextReply
from teambot.core.i18n import babel_locale, format_money, format_number, ngettext
from teambot.core.i18n import gettext as _
from teambot.core.insights.replies import DigestReply
from teambot.core.money import from_minor
from teambot.core.notice_actions import SNOOZE_FOR, NoticeAction, notice_actions
from teambot.core.policy.replies import PolicyReply
from teambot.core.policy.rules import approvers_of
from teambot.core.ports import Notice
from teambot.core.recognition.replies import LeaderboardReply
from teambot.core.recognition.shoutouts import LeaderRow

log = logging.getLogger(__name__)

SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
OPTION_TEXT = 75
OPTION_VALUE = 150
BUTTON_VALUE = 2000
CONTEXT_ELEMENTS = 10
ACTION_ELEMENTS = 25
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
MESSAGE_TEXT = 3000  # the notification fallback; Slack allows more but nobody reads it
SELECT_OPTIONS = 100
CARD_FACT_SECTIONS = 12  # a card is read at a glance; the timeline command has the rest

Block = dict[str, Any]
Message = dict[str, Any]  # {"text": ..., "blocks": [...]}

_ALLOWED_TAG = re.compile(r"&lt;([@#][A-Za-z0-9._:\-]+(?:\|[^&<>]{0,80})?|!date\^[^&<>]+)&gt;")


def clip(text: str, limit: int) -> str:
    """Shorten to `limit` characters, marking the cut so nobody mistakes it for the whole."""
    text = str(text or "")  # a lazily translated label becomes its text in the current language
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def safe(text: str) -> str:
    """Escape what people typed (so `<!channel>` cannot ping anyone) but keep user/channel mentions."""
    escaped = (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _ALLOWED_TAG.sub(lambda m: f"<{m.group(1)}>", escaped)


_FORMATTING = re.compile(r"([*_~`])")


def inert(text: str) -> str:
    """`safe`, and what people typed cannot reformat the card either: Slack has no escape for
    `*bold*`, `_italic_`, `~strike~` or code, so a zero-width space after each marker breaks it.
    Mentions (`<@U1>`) and date tokens are left whole."""
    escaped = safe(text)
    parts = re.split(r"(<[^<>]*>)", escaped)
    return "".join(part if part.startswith("<") else _FORMATTING.sub("\\1\u200b", part) for part in parts)


def plain(text: str, names: dict[str, str] | None = None) -> str:
    """For plain_text fields, where Slack renders no mentions: `<@U1>` -> `@Ana`."""
    names = names or {}
    return re.sub(r"<@([^>|]+)(?:\|[^>]*)?>", lambda m: "@" + names.get(m.group(1), m.group(1)), text)


def mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def plain_text(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit) or " ", "emoji": True}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(clip(text, SECTION_TEXT) or " ")}


def sections(lines: Iterable[str], limit: int = SECTION_TEXT) -> list[Block]:
    """Pack lines into as few sections as fit, each under the section text limit."""
    out: list[Block] = []
    chunk = ""
    for raw in lines:
        line = clip(raw, limit)
        if chunk and len(chunk) + 1 + len(line) > limit:
            out.append(section(chunk))
            chunk = line
        else:
            chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        out.append(section(chunk))
    return out


def context(*texts: str) -> Block:
    elements = [mrkdwn(clip(t, SECTION_TEXT)) for t in texts if t][:CONTEXT_ELEMENTS]
    return {"type": "context", "elements": elements or [mrkdwn(" ")]}


def said(label: object) -> str:
    """A label the core marked for translation (with `N_` or lazily), in the current language."""
    return _(str(label))


def button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain_text(label, BUTTON_TEXT),
        "action_id": action_id,
        "value": clip(value, BUTTON_VALUE),
    }
    if style:
        element["style"] = style
    return element


def actions(elements: list[dict[str, Any]], block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": elements[:ACTION_ELEMENTS]}
    if block_id:
        block["block_id"] = block_id
    return block


def option(label: str, value: str) -> dict[str, Any]:
    return {"text": plain_text(label, OPTION_TEXT), "value": clip(value, OPTION_VALUE)}


def cap(blocks: list[Block], limit: int = MESSAGE_BLOCKS, more: str = "") -> list[Block]:
    """Keep within the block limit; the last kept block says where to see the rest."""
    if len(blocks) <= limit:
        return blocks
    tail = blocks[-1] if blocks and blocks[-1].get("type") == "actions" else None
    room = limit - 1 - (1 if tail else 0)
    kept = [*blocks[:room], context(more or _("…more than fits here."))]
    return [*kept, tail] if tail else kept


def slack_date(at: datetime, fallback: str) -> str:
    """A time every reader sees in their own time zone (Slack formats it per viewer)."""
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


# ----- the case card -----------------------------------------------------------------------


def _localised_facts(detail: CaseDetail, now: datetime, tz: str) -> list[tuple[str, str]]:
    """case_facts with every absolute time swapped for a Slack date token, text escaped."""
    case = detail.case
    times: list[datetime] = [t for t in (case.apologised_at, case.followup_due_at) if t]
    times += [s.due_at for s in detail.steps if s.due_at]
    times += [deadline.due for deadline in deadlines(detail)]  # the 24-hour clock, live in each reader's zone
    times = list({when(t, tz): t for t in times}.values())  # one token per shown time, never nested
    out = []
    for label, value in case_facts(detail, now, tz):
        text = inert(value)
        for at in times:
            shown = when(at, tz)
            if shown in text:
                text = text.replace(shown, slack_date(at, shown))
        out.append((label, text))
    return out


def card_buttons(detail: CaseDetail) -> list[dict[str, Any]]:
    number = str(detail.case.number)
    out = []
    for action in detail.next_actions():
        style = "primary" if action in ("claim", "resolve") else None
        label = said(ACTION_LABELS[action]) if action in ACTION_LABELS else action.title()
        out.append(button(label, f"case:{action}", number, style))
    return out


def step_select(detail: CaseDetail) -> dict[str, Any] | None:
    open_steps = [s for s in detail.steps if not s.done]
    if not open_steps or detail.case.status.value == "closed":
        return None
    return {
        "type": "static_select",
        "action_id": "case:done",
        "placeholder": plain_text(_("Mark a step done"), BUTTON_TEXT),
        "options": [
            option(f"{s.position}. {s.text}", f"{detail.case.number}.{s.position}")
            for s in open_steps[:SELECT_OPTIONS]
        ],
    }


def case_menus(detail: CaseDetail) -> list[dict[str, Any]]:
    """The card's menus: move it to another of the team's categories; cancel it, or withdraw your request."""
    if not detail.next_actions():
        return []
    number = detail.case.number
    others = [name for name in detail.policy.categories
              if name != detail.case.category and len(f"{number}|{name}") <= OPTION_VALUE]  # fmt: skip
    out: list[dict[str, Any]] = []
    if others:
        out.append({
            "type": "static_select", "action_id": "case:category",
            "placeholder": plain_text(said(ACTION_LABELS["category"]), BUTTON_TEXT),
            "options": [option(name, f"{number}|{name}") for name in others[:SELECT_OPTIONS]],
        })  # fmt: skip
    more = [option(_("Cancel: opened by mistake"), f"{number}|mistake")]
    more += [
        option(
            _("Withdraw request %(id)s (%(gesture)s)") % {"id": a.id, "gesture": a.gesture},
            f"{number}|withdraw {a.id}",
        )
        for a in detail.pending[:3]
    ]
    out.append({"type": "overflow", "action_id": "case:cancel", "options": more})
    return out


def choice_message(reply: ChoiceReply) -> Message:
    """A question with one-click answers; each button runs its command as whoever presses it."""
    msg = text_message(reply.text)
    row = [
        button(label, f"run:{i}", clip(command, BUTTON_VALUE))
        for i, (label, command) in enumerate(reply.choices)
    ]
    msg["blocks"] = cap([*msg["blocks"], actions(row)]) if row else msg["blocks"]
    return msg


def step_message(message: str, choices: list[tuple[str, str]]) -> Message:
    """What a step on a case says to the person who took it, with its one-click follow-ups."""
    text = f":white_check_mark: {safe(message)}"
    return choice_message(ChoiceReply(text=text, choices=choices)) if choices else text_message(text)


def _source_line(source: dict[str, Any]) -> str:
    """Where a case opened from a message came from: a link back to it, its author, its first words."""
    quote = inert(clip(source.get("quote") or "", 280)).replace("\n", " ")
    if source.get("author"):
        return _("Opened from <%(link)s|a message> from %(author)s: _%(quote)s_") % {
            "link": source["link"], "author": f"<@{source['author']}>", "quote": quote}  # fmt: skip
    return _("Opened from <%(link)s|a message>: _%(quote)s_") % {"link": source["link"], "quote": quote}


def _waiting_line(detail: CaseDetail) -> str:
    waiting = ", ".join(f"<@{a}>" for a in approvers_of(detail.policy) if a != detail.pending[0].requested_by)
    if waiting:
        return ":hourglass_flowing_sand: " + _("Waiting for approval from %(approvers)s.") % {
            "approvers": waiting
        }
    return ":hourglass_flowing_sand: " + _("Waiting for approval from an approver.")


def case_card(
    detail: CaseDetail,
    now: datetime,
    tz: str = "UTC",
    *,
    source: dict[str, Any] | None = None,
    note: str | None = None,
) -> Message:
    """The one message per case, updated in place as the case moves."""
    case = detail.case
    facts = _localised_facts(detail, now, tz)
    blocks: list[Block] = [{"type": "header", "text": plain_text(title(detail), HEADER_TEXT)}]
    if source and source.get("link"):
        blocks.append(context(_source_line(source)))
    more = _("The card is too long to show whole: `/recover timeline %(number)s` has everything.") % {
        "number": case.number}  # fmt: skip
    fact_blocks = sections(
        _("*%(label)s:* %(value)s") % {"label": label, "value": value} for label, value in facts
    )
    blocks += (
        fact_blocks
        if len(fact_blocks) <= CARD_FACT_SECTIONS
        else [*fact_blocks[:CARD_FACT_SECTIONS], context(more)]
    )
    if detail.pending:
        blocks.append(context(_waiting_line(detail)))
    if detail.customer and detail.customer.notes:
        name = inert(detail.customer.name)
        blocks.append(context(*(_("Note on %(customer)s: %(note)s") % {"customer": name, "note": inert(n.get("text", ""))}
                                for n in detail.customer.notes[-3:])))  # fmt: skip
    last = detail.events[-1] if detail.events else None
    if last is not None:
        line = f"<@{last.actor}> {inert(event_line(last.kind, last.data))}"
        latest = _("Latest: %(event)s · %(when)s") % {
            "event": clip(line, 2800),
            "when": slack_date(last.at, when(last.at, tz)),
        }
        blocks.append(context(latest))
    if note:
        blocks.append(context(note))
    row = card_buttons(detail)
    select = step_select(detail)
    if select:
        row.append(select)
    row += case_menus(detail)
    tail = actions(row, block_id=f"case-{case.number}") if row else None
    body = cap(blocks, MESSAGE_BLOCKS - (1 if tail else 0), more)
    text = _("Case #%(number)s · %(status)s · %(problem)s") % {
        "number": case.number, "status": said(STATUS_LABELS[case.status]), "problem": inert(case.problem)}  # fmt: skip
    return {"text": clip(text, MESSAGE_TEXT), "blocks": [*body, tail] if tail else body}


def timeline_text(actor: str, kind: str, data: dict[str, Any]) -> str:
    """One thread reply per step: the case's timeline, under its card."""
    return clip(f"<@{actor}> {inert(event_line(kind, data))}", SECTION_TEXT)


def earlier_cases_text(customer_name: str, earlier: list[Case]) -> str:
    listed = ", ".join(f"#{case.number} ({case.status.value})" for case in earlier[:20])
    if len(earlier) > 20:
        extra = len(earlier) - 20
        listed = ngettext("%(cases)s and %(count)s more", "%(cases)s and %(count)s more", extra) % {
            "cases": listed, "count": extra}  # fmt: skip
    said_text = _("%(customer)s has had cases before: %(cases)s.") % {
        "customer": inert(customer_name),
        "cases": listed,
    }
    return clip(f":information_source: {said_text}", SECTION_TEXT)


# ----- replies to the person who asked ---------------------------------------------------------


def error_message(text: str, echo: str = "") -> Message:
    blocks = [section(f":x: {safe(text)}")]
    if echo:
        blocks.append(context(_("You sent (copy it, fix it, send it again):")))
        blocks.append(section("```" + safe(clip(echo, SECTION_TEXT - 10)) + "```"))
    return {"text": clip(f"✗ {text}", MESSAGE_TEXT), "blocks": blocks}


def text_message(text: str, heading: str | None = None) -> Message:
    blocks: list[Block] = []
    if heading:
        blocks.append({"type": "header", "text": plain_text(heading, HEADER_TEXT)})
    blocks += sections(text.split("\n"))
    return {"text": clip(plain(text), MESSAGE_TEXT), "blocks": cap(blocks)}


def _amount(minor: int, currency: str) -> str:
    return format_money(from_minor(minor, currency), currency)


def approval_buttons(req: ApprovalRequest) -> list[dict[str, Any]]:
    return [
        button(_("Approve"), "approval:approve", str(req.id), "primary"),
        button(_("Deny"), "approval:deny", str(req.id), "danger"),
    ]


def _approval_line(req: ApprovalRequest) -> str:
    return _("Request %(id)s: %(gesture)s %(amount)s asked by %(who)s") % {
        "id": req.id, "gesture": safe(req.gesture), "amount": _amount(req.amount_minor, req.currency),
        "who": f"<@{req.requested_by}>"}  # fmt: skip


def _and_more(count: int) -> str:
    """The line under a cut list: how many more."""
    return ngettext("…and %(count)s more.", "…and %(count)s more.", count) % {"count": count}


@singledispatch
def reply_message(reply: Reply, now: datetime, tz: str = "UTC") -> Message:
    """Any non-card reply (or a card shown only to the asker) as a message, by the reply's kind:
    each kind registers its renderer below, so a new kind of reply adds one function. A kind with
    none lands here, is logged (tests/architecture guard it) and is sent as its text."""
    log.warning("no Slack rendering for %s; sent as text", type(reply).__name__)
    text = getattr(reply, "text", None)
    return text_message(text if isinstance(text, str) and text else _("Done."))


@reply_message.register
def _error_reply(reply: ErrorReply, now: datetime, tz: str = "UTC") -> Message:
    return error_message(reply.text, reply.echo)


@reply_message.register
def _case_reply(reply: CaseReply, now: datetime, tz: str = "UTC") -> Message:
    if reply.detail is None:
        return reply_message.dispatch(Reply)(reply, now, tz)
    msg = case_card(reply.detail, now, tz)
    if reply.message:
        msg["blocks"] = cap([section(safe(reply.message)), *msg["blocks"]])
    return msg


@reply_message.register
def _choice_reply(reply: ChoiceReply, now: datetime, tz: str = "UTC") -> Message:
    return choice_message(reply)


@reply_message.register(TextReply)
@reply_message.register(DigestReply)
@reply_message.register(LeaderboardReply)
def _text_reply(reply: TextReply | DigestReply | LeaderboardReply, now: datetime, tz: str = "UTC") -> Message:
    return text_message(reply.text)


@reply_message.register
def _form_reply(reply: FormReply, now: datetime, tz: str = "UTC") -> Message:
    return text_message(_("Opening the form…"))


@reply_message.register
def _home_reply(reply: HomeReply, now: datetime, tz: str = "UTC") -> Message:
    """`/recover home`: the App Home's facts, as a message."""
    heading = _("Your service recovery")
    return {"text": heading, "blocks": cap([section(f"*{heading}*"), *home_blocks(reply, now, tz)])}


@reply_message.register
def _list_reply(reply: ListReply, now: datetime, tz: str = "UTC") -> Message:
    lines = [f"*{safe(reply.title)}*"]
    if not reply.cases:
        lines.append(safe(reply.empty))
    for case in reply.cases:
        owner = f"<@{case.owner_id}>" if case.owner_id else _("unowned")
        status = said(STATUS_LABELS[case.status])
        lines.append(f"• *#{case.number}* · {status} · {owner} · {inert(clip(case.problem, 80))}")
    return {"text": clip(plain(reply.title), MESSAGE_TEXT), "blocks": cap(sections(lines))}


@reply_message.register
def _approvals_reply(reply: ApprovalsReply, now: datetime, tz: str = "UTC") -> Message:
    if not reply.approvals:
        return text_message(_("No approval requests are waiting."))
    blocks: list[Block] = [section("*" + _("Waiting for approval") + "*")]
    for req in reply.approvals[:15]:
        blocks += [section(_approval_line(req)), actions(approval_buttons(req))]
    if len(reply.approvals) > 15:
        blocks.append(context(_and_more(len(reply.approvals) - 15)))
    return {"text": _("Approval requests waiting"), "blocks": cap(blocks)}


@reply_message.register
def _timeline_reply(reply: TimelineReply, now: datetime, tz: str = "UTC") -> Message:
    if reply.detail is None:
        return reply_message.dispatch(Reply)(reply, now, tz)
    heading = _("Timeline of case #%(number)s") % {"number": reply.detail.case.number}
    lines = [f"*{heading}*"]
    lines += [
        f"{slack_date(event.at, when(event.at, tz))} <@{event.actor}> {inert(event_line(event.kind, event.data))}"
        for event in reply.detail.events
    ]
    return {"text": heading, "blocks": cap(sections(lines))}


@reply_message.register
def _draft_reply(reply: DraftReply, now: datetime, tz: str = "UTC") -> Message:
    body = "```" + safe(clip(reply.text, SECTION_TEXT - 10)) + "```"
    return {
        "text": _("Draft follow-up"),
        "blocks": [section(_("*Draft follow-up* (copy it to the customer)")), section(body)],
    }


@reply_message.register
def _policy_reply(reply: PolicyReply, now: datetime, tz: str = "UTC") -> Message:
    if reply.policy is None:
        return reply_message.dispatch(Reply)(reply, now, tz)
    return {"text": _("Recovery policy"), "blocks": cap(sections(policy_lines(reply)))}


def policy_lines(reply: PolicyReply) -> list[str]:
    assert reply.policy is not None
    rows = [f":white_check_mark: {safe(reply.message)}"] if reply.message else []
    rows.append("*" + _("Recovery policy") + "*")
    rows += [
        _("*%(label)s:* %(value)s") % {"label": label, "value": inert(value)} for label, value in reply.facts
    ]
    return rows


# ----- notices (DMs and channel posts from the core and the scheduler) ---------------------------


def notice_button(action: NoticeAction, data: dict[str, Any]) -> dict[str, Any]:
    """One of core/notice_actions.py's actions as a Slack button (its handler reads the value)."""
    number = data.get("number")
    label = said(action.label)
    if action.action in ("approve", "deny"):
        return button(label, f"approval:{action.action}", str(data["approval_id"]), action.style)
    if action.action == "run":
        choices = [command for _label, command in data.get("choices") or []]
        return button(label, f"run:{choices.index(action.command)}", clip(action.command, BUTTON_VALUE))
    value = {"done": f"{number}.{data.get('position')}", "snooze": f"{number}|{SNOOZE_FOR}"}.get(
        action.action
    )
    return button(label, f"case:{action.action}", value or str(number), action.style)


def notice_message(notice: Notice) -> Message:
    """Any notice kind: its text, and the buttons core/notice_actions.py gives its kind."""
    text = str(notice.text or notice.kind.replace("_", " "))
    blocks: list[Block] = sections(safe(text).split("\n"))
    buttons = [notice_button(a, notice.data or {}) for a in notice_actions(notice)]
    body = cap(blocks, MESSAGE_BLOCKS - (1 if buttons else 0))
    if buttons:
        body.append(actions(buttons, block_id=f"notice-{notice.kind}"[:255]))
    return {"text": clip(plain(text), MESSAGE_TEXT), "blocks": body}


def decided_message(text: str, number: int | None) -> Message:
    """What an approval DM becomes once answered: no more buttons to press twice."""
    blocks: list[Block] = [section(safe(text))]
    if number is not None:
        blocks.append(
            actions([button(_("Open case #%(number)s") % {"number": number}, "case:show", str(number))])
        )
    return {"text": clip(plain(text), MESSAGE_TEXT), "blocks": blocks}


# ----- App Home --------------------------------------------------------------------------------


def _case_row(case: Case, text: str, label: str, action_id: str) -> Block:
    return {"type": "section", "text": mrkdwn(clip(text, SECTION_TEXT)),
            "accessory": button(label, action_id, str(case.number))}  # fmt: skip


def _followup_blocks(reply: HomeReply, now: datetime, tz: str) -> list[Block]:
    blocks = [section(_("*Your follow-ups due* (%(count)s)") % {"count": len(reply.followups)})]
    if not reply.followups:
        blocks.append(context(_("No follow-ups waiting.")))
    for case in reply.followups[:10]:
        due = case.followup_due_at
        facts = {"number": case.number, "when": slack_date(due, when(due, tz)) if due else "?",
                 "problem": inert(clip(case.problem, 200))}  # fmt: skip
        if due and due < now:
            text = _("*#%(number)s* · due %(when)s · *overdue* · %(problem)s") % facts
        else:
            text = _("*#%(number)s* · due %(when)s · %(problem)s") % facts
        blocks.append(_case_row(case, text, said(ACTION_LABELS["followup"]), "case:followup"))
    return blocks


def _stats_block(reply: HomeReply) -> Block:
    figures = reply.figures
    score = (
        f"{format_decimal(figures.avg_score, format='0.0', locale=babel_locale())}/5"
        if figures.avg_score is not None
        else _("no scores yet")
    )
    return section(
        _(
            "*Your recovery stats*\nCases owned: %(owned)s · closed: %(closed)s · customers satisfied: %(satisfied)s "
            "· average score: %(score)s"
        )
        % {
            "owned": figures.owned,
            "closed": figures.closed,
            "satisfied": figures.satisfied,
            "score": score,
        }
    )


def _more_mine(count: int) -> str:
    return ngettext(
        "…and %(count)s more: `/recover mine`.", "…and %(count)s more: `/recover mine`.", count
    ) % {"count": count}


def _more_approvals(count: int) -> str:
    return ngettext(
        "…and %(count)s more: `/recover approvals`.", "…and %(count)s more: `/recover approvals`.", count
    ) % {"count": count}


def home_blocks(reply: HomeReply, now: datetime, tz: str) -> list[Block]:
    """The person's own view as core/cases/home.py holds it: the same facts Teams shows."""
    blocks: list[Block] = [section(_("*Your open cases* (%(count)s)") % {"count": len(reply.open_cases)})]
    if not reply.open_cases:
        blocks.append(context(_("You own no open cases.")))
    for case in reply.open_cases[:15]:
        text = f"*#{case.number}* · {said(STATUS_LABELS[case.status])} · {inert(clip(case.problem, 200))}"
        blocks.append(_case_row(case, text, _("View"), "case:view"))
    if len(reply.open_cases) > 15:
        blocks.append(context(_more_mine(len(reply.open_cases) - 15)))
    blocks += [{"type": "divider"}, *_followup_blocks(reply, now, tz)]
    if reply.approvals:
        blocks += [
            {"type": "divider"},
            section(_("*Approvals waiting* (%(count)s)") % {"count": len(reply.approvals)}),
        ]
        for req in reply.approvals[:8]:
            blocks += [section(_approval_line(req)), actions(approval_buttons(req))]
        if len(reply.approvals) > 8:
            blocks.append(context(_more_approvals(len(reply.approvals) - 8)))
    for heading, lines in reply.sections:  # the causes to fix, the improvement actions you own
        blocks += [
            {"type": "divider"},
            section(f"*{safe(heading)}*"),
            *sections([safe(line) for line in lines]),
        ]
    return [*blocks, {"type": "divider"}, _stats_block(reply)]


def _leader_line(place: int, row: LeaderRow) -> str:
    medals = [":first_place_medal:", ":second_place_medal:", ":third_place_medal:"]
    parts = [
        f"{medals[place] if place < 3 else f'{place + 1}.'} <@{row.user}>",
        ngettext("%(count)s recovered", "%(count)s recovered", row.recovered) % {"count": row.recovered},
        ngettext("%(count)s shout-out", "%(count)s shout-outs", row.shoutouts) % {"count": row.shoutouts},
    ]
    if row.avg_score is not None:
        parts.append(_("average score %(score)s/5") % {"score": format_number(row.avg_score)})
    return " · ".join(parts)


def home_view(reply: HomeReply, *, leaderboard: list[LeaderRow], now: datetime, tz: str) -> dict[str, Any]:
    """Slack's App Home: the home reply, with the button to open a case and the team's leaderboard."""
    blocks: list[Block] = [
        {"type": "header", "text": plain_text(_("Service recovery"), HEADER_TEXT)},
        actions([button(_("Open a case"), "home:open", "open", "primary")]),
        {"type": "divider"},
        *home_blocks(reply, now, tz),
        {"type": "divider"},
        section(_("*Recovery addicts*, last 30 days (cases recovered and shout-outs received)")),
    ]
    if leaderboard:
        blocks += sections(_leader_line(place, row) for place, row in enumerate(leaderboard[:10]))
    else:
        blocks.append(context(_("Nobody has recovered a case or had a shout-out in the last 30 days.")))
    return {"type": "home", "blocks": cap(blocks, VIEW_BLOCKS)}
