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
from typing import Any

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
from teambot.core.insights.replies import DigestReply
from teambot.core.money import format_amount, from_minor
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
    text = text or ""
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
    return "".join(p if p.startswith("<") else _FORMATTING.sub("\\1\u200b", p) for p in parts)


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


def button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {
        "type": "button",
        "text": plain_text(label, BUTTON_TEXT),
        "action_id": action_id,
        "value": clip(value, BUTTON_VALUE),
    }
    if style:
        b["style"] = style
    return b


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
    kept = [*blocks[:room], context(more or "…more than fits here.")]
    return [*kept, tail] if tail else kept


def slack_date(at: datetime, fallback: str) -> str:
    """A time every reader sees in their own time zone (Slack formats it per viewer)."""
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


# ----- the case card -----------------------------------------------------------------------


def _localised_facts(detail: CaseDetail, now: datetime, tz: str) -> list[tuple[str, str]]:
    """case_facts with every absolute time swapped for a Slack date token, text escaped."""
    c = detail.case
    times: list[datetime] = [t for t in (c.apologised_at, c.followup_due_at) if t]
    times += [s.due_at for s in detail.steps if s.due_at]
    times += [d.due for d in deadlines(detail)]  # the 24-hour clock, live in each reader's zone
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
        out.append(button(ACTION_LABELS.get(action, action.title()), f"case:{action}", number, style))
    return out


def step_select(detail: CaseDetail) -> dict[str, Any] | None:
    open_steps = [s for s in detail.steps if not s.done]
    if not open_steps or detail.case.status.value == "closed":
        return None
    return {
        "type": "static_select",
        "action_id": "case:done",
        "placeholder": plain_text("Mark a step done", BUTTON_TEXT),
        "options": [
            option(f"{s.position}. {s.text}", f"{detail.case.number}.{s.position}")
            for s in open_steps[:SELECT_OPTIONS]
        ],
    }


def case_menus(detail: CaseDetail) -> list[dict[str, Any]]:
    """The card's menus: move it to another of the team's categories; cancel it, or withdraw your request."""
    if not detail.next_actions():
        return []
    n = detail.case.number
    cats = [c for c in detail.policy.categories if c != detail.case.category and len(f"{n}|{c}") <= OPTION_VALUE]
    out: list[dict[str, Any]] = []
    if cats:
        out.append({
            "type": "static_select", "action_id": "case:category",
            "placeholder": plain_text(ACTION_LABELS["category"], BUTTON_TEXT),
            "options": [option(c, f"{n}|{c}") for c in cats[:SELECT_OPTIONS]],
        })  # fmt: skip
    more = [option("Cancel: opened by mistake", f"{n}|mistake")]
    more += [option(f"Withdraw request {a.id} ({a.gesture})", f"{n}|withdraw {a.id}") for a in detail.pending[:3]]
    out.append({"type": "overflow", "action_id": "case:cancel", "options": more})
    return out


def choice_message(reply: ChoiceReply) -> Message:
    """A question with one-click answers; each button runs its command as whoever presses it."""
    msg = text_message(reply.text)
    row = [button(label, f"run:{i}", clip(command, BUTTON_VALUE)) for i, (label, command) in enumerate(reply.choices)]
    msg["blocks"] = cap([*msg["blocks"], actions(row)]) if row else msg["blocks"]
    return msg


def step_message(message: str, choices: list[tuple[str, str]]) -> Message:
    """What a step on a case says to the person who took it, with its one-click follow-ups."""
    text = f":white_check_mark: {safe(message)}"
    return choice_message(ChoiceReply(text=text, choices=choices)) if choices else text_message(text)


def case_card(
    detail: CaseDetail,
    now: datetime,
    tz: str = "UTC",
    *,
    source: dict[str, Any] | None = None,
    note: str | None = None,
) -> Message:
    """The one message per case, updated in place as the case moves."""
    c = detail.case
    facts = _localised_facts(detail, now, tz)
    blocks: list[Block] = [{"type": "header", "text": plain_text(title(detail), HEADER_TEXT)}]
    if source and source.get("link"):
        quote = inert(clip(source.get("quote") or "", 280)).replace("\n", " ")
        who = f" from <@{source['author']}>" if source.get("author") else ""
        blocks.append(context(f"Opened from <{source['link']}|a message>{who}: _{quote}_"))
    more = f"The card is too long to show whole: `/recover timeline {c.number}` has everything."
    fact_blocks = sections(f"*{label}:* {value}" for label, value in facts)
    blocks += (
        fact_blocks
        if len(fact_blocks) <= CARD_FACT_SECTIONS
        else [*fact_blocks[:CARD_FACT_SECTIONS], context(more)]
    )
    if detail.pending:
        waiting = ", ".join(
            f"<@{a}>" for a in approvers_of(detail.policy) if a != detail.pending[0].requested_by
        )
        blocks.append(
            context(f":hourglass_flowing_sand: Waiting for approval from {waiting or 'an approver'}.")
        )
    if detail.customer and detail.customer.notes:
        blocks.append(
            context(
                *(
                    f"Note on {inert(detail.customer.name)}: {inert(n.get('text', ''))}"
                    for n in detail.customer.notes[-3:]
                )
            )
        )
    last = detail.events[-1] if detail.events else None
    if last is not None:
        line = f"<@{last.actor}> {inert(event_line(last.kind, last.data))}"
        blocks.append(context(f"Latest: {clip(line, 2800)} · {slack_date(last.at, when(last.at, tz))}"))
    if note:
        blocks.append(context(note))
    row = card_buttons(detail)
    select = step_select(detail)
    if select:
        row.append(select)
    row += case_menus(detail)
    tail = actions(row, block_id=f"case-{c.number}") if row else None
    body = cap(blocks, MESSAGE_BLOCKS - (1 if tail else 0), more)
    text = f"Case #{c.number} · {STATUS_LABELS[c.status]} · {inert(c.problem)}"
    return {"text": clip(text, MESSAGE_TEXT), "blocks": [*body, tail] if tail else body}


def timeline_text(actor: str, kind: str, data: dict[str, Any]) -> str:
    """One thread reply per step: the case's timeline, under its card."""
    return clip(f"<@{actor}> {inert(event_line(kind, data))}", SECTION_TEXT)


def earlier_cases_text(customer_name: str, earlier: list[Case]) -> str:
    listed = ", ".join(f"#{c.number} ({c.status.value})" for c in earlier[:20])
    more = f" and {len(earlier) - 20} more" if len(earlier) > 20 else ""
    return clip(
        f":information_source: {inert(customer_name)} has had cases before: {listed}{more}.", SECTION_TEXT
    )


# ----- replies to the person who asked ---------------------------------------------------------


def error_message(text: str, echo: str = "") -> Message:
    blocks = [section(f":x: {safe(text)}")]
    if echo:
        blocks.append(context("You sent (copy it, fix it, send it again):"))
        blocks.append(section("```" + safe(clip(echo, SECTION_TEXT - 10)) + "```"))
    return {"text": clip(f"✗ {text}", MESSAGE_TEXT), "blocks": blocks}


def text_message(text: str, heading: str | None = None) -> Message:
    blocks: list[Block] = []
    if heading:
        blocks.append({"type": "header", "text": plain_text(heading, HEADER_TEXT)})
    blocks += sections(text.split("\n"))
    return {"text": clip(plain(text), MESSAGE_TEXT), "blocks": cap(blocks)}


def _amount(minor: int, currency: str) -> str:
    return format_amount(from_minor(minor, currency), currency)


def approval_buttons(req: ApprovalRequest) -> list[dict[str, Any]]:
    return [
        button("Approve", "approval:approve", str(req.id), "primary"),
        button("Deny", "approval:deny", str(req.id), "danger"),
    ]


def reply_message(reply: Reply, now: datetime, tz: str = "UTC") -> Message:
    """Any non-card reply (or a card shown only to the asker) as a message."""
    if isinstance(reply, ErrorReply):
        return error_message(reply.text, reply.echo)
    if isinstance(reply, CaseReply) and reply.detail is not None:
        msg = case_card(reply.detail, now, tz)
        if reply.message:
            msg["blocks"] = cap([section(safe(reply.message)), *msg["blocks"]])
        return msg
    if isinstance(reply, ChoiceReply):
        return choice_message(reply)
    if isinstance(reply, TextReply):
        return text_message(reply.text)
    if isinstance(reply, FormReply):
        return text_message("Opening the form…")
    if isinstance(reply, HomeReply):  # `/recover home`: the App Home's facts, as a message
        return {"text": "Your service recovery", "blocks": cap([section("*Your service recovery*"),
                                                                *home_blocks(reply, now, tz)])}  # fmt: skip
    if isinstance(reply, ListReply):
        lines = [f"*{safe(reply.title)}*"]
        if not reply.cases:
            lines.append(safe(reply.empty))
        for c in reply.cases:
            owner = f"<@{c.owner_id}>" if c.owner_id else "unowned"
            lines.append(
                f"• *#{c.number}* · {STATUS_LABELS[c.status]} · {owner} · {inert(clip(c.problem, 80))}"
            )
        return {"text": clip(plain(reply.title), MESSAGE_TEXT), "blocks": cap(sections(lines))}
    if isinstance(reply, ApprovalsReply):
        if not reply.approvals:
            return text_message("No approval requests are waiting.")
        blocks: list[Block] = [section("*Waiting for approval*")]
        for a in reply.approvals[:15]:
            blocks.append(
                section(
                    f"Request {a.id}: {safe(a.gesture)} {_amount(a.amount_minor, a.currency)} asked by <@{a.requested_by}>"
                )
            )
            blocks.append(actions(approval_buttons(a)))
        if len(reply.approvals) > 15:
            blocks.append(context(f"…and {len(reply.approvals) - 15} more."))
        return {"text": "Approval requests waiting", "blocks": cap(blocks)}
    if isinstance(reply, TimelineReply) and reply.detail is not None:
        d = reply.detail
        lines = [f"*Timeline of case #{d.case.number}*"]
        lines += [
            f"{slack_date(e.at, when(e.at, tz))} <@{e.actor}> {inert(event_line(e.kind, e.data))}"
            for e in d.events
        ]
        return {"text": f"Timeline of case #{d.case.number}", "blocks": cap(sections(lines))}
    if isinstance(reply, DraftReply):
        body = "```" + safe(clip(reply.text, SECTION_TEXT - 10)) + "```"
        return {
            "text": "Draft follow-up",
            "blocks": [section("*Draft follow-up* (copy it to the customer)"), section(body)],
        }
    if isinstance(reply, PolicyReply) and reply.policy is not None:
        return {"text": "Recovery policy", "blocks": cap(sections(policy_lines(reply)))}
    if isinstance(reply, DigestReply | LeaderboardReply):
        return text_message(reply.text)
    log.warning("no Slack rendering for %s; sent as text", type(reply).__name__)  # tests/architecture guard it
    text = getattr(reply, "text", None)
    return text_message(text if isinstance(text, str) and text else "Done.")


def policy_lines(reply: PolicyReply) -> list[str]:
    assert reply.policy is not None
    rows = [f":white_check_mark: {safe(reply.message)}"] if reply.message else []
    rows.append("*Recovery policy*")
    rows += [f"*{label}:* {inert(value)}" for label, value in reply.facts]
    return rows


# ----- notices (DMs and channel posts from the core and the scheduler) ---------------------------

def notice_button(action: NoticeAction, data: dict[str, Any]) -> dict[str, Any]:
    """One of core/notice_actions.py's actions as a Slack button (its handler reads the value)."""
    number = data.get("number")
    if action.action in ("approve", "deny"):
        return button(action.label, f"approval:{action.action}", str(data["approval_id"]), action.style)
    if action.action == "run":
        choices = [command for _, command in data.get("choices") or []]
        return button(action.label, f"run:{choices.index(action.command)}", clip(action.command, BUTTON_VALUE))
    value = {"done": f"{number}.{data.get('position')}", "snooze": f"{number}|{SNOOZE_FOR}"}.get(action.action)
    return button(action.label, f"case:{action.action}", value or str(number), action.style)


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
        blocks.append(actions([button(f"Open case #{number}", "case:show", str(number))]))
    return {"text": clip(plain(text), MESSAGE_TEXT), "blocks": blocks}


# ----- App Home --------------------------------------------------------------------------------


def home_blocks(reply: HomeReply, now: datetime, tz: str) -> list[Block]:
    """The person's own view as core/cases/home.py holds it: the same facts Teams shows."""
    blocks: list[Block] = [section(f"*Your open cases* ({len(reply.open_cases)})")]
    if not reply.open_cases:
        blocks.append(context("You own no open cases."))
    for c in reply.open_cases[:15]:
        text = f"*#{c.number}* · {STATUS_LABELS[c.status]} · {inert(clip(c.problem, 200))}"
        blocks.append({"type": "section", "text": mrkdwn(clip(text, SECTION_TEXT)),
                       "accessory": button("View", "case:view", str(c.number))})  # fmt: skip
    if len(reply.open_cases) > 15:
        blocks.append(context(f"…and {len(reply.open_cases) - 15} more: `/recover mine`."))
    blocks += [{"type": "divider"}, section(f"*Your follow-ups due* ({len(reply.followups)})")]
    if not reply.followups:
        blocks.append(context("No follow-ups waiting."))
    for c in reply.followups[:10]:
        due = c.followup_due_at
        late = " · *overdue*" if due and due < now else ""
        shown = slack_date(due, when(due, tz)) if due else "?"
        text = f"*#{c.number}* · due {shown}{late} · {inert(clip(c.problem, 200))}"
        blocks.append({"type": "section", "text": mrkdwn(clip(text, SECTION_TEXT)),
                       "accessory": button("Record follow-up", "case:followup", str(c.number))})  # fmt: skip
    if reply.approvals:
        blocks += [{"type": "divider"}, section(f"*Approvals waiting* ({len(reply.approvals)})")]
        for a in reply.approvals[:8]:
            blocks.append(section(f"Request {a.id}: {safe(a.gesture)} {_amount(a.amount_minor, a.currency)} "
                                  f"asked by <@{a.requested_by}>"))  # fmt: skip
            blocks.append(actions(approval_buttons(a)))
        if len(reply.approvals) > 8:
            blocks.append(context(f"…and {len(reply.approvals) - 8} more: `/recover approvals`."))
    for heading, lines in reply.sections:  # the causes to fix, the improvement actions you own
        blocks += [{"type": "divider"}, section(f"*{safe(heading)}*"), *sections([safe(line) for line in lines])]
    f = reply.figures
    score = f"{f.avg_score:.1f}/5" if f.avg_score is not None else "no scores yet"
    blocks += [
        {"type": "divider"},
        section(f"*Your recovery stats*\nCases owned: {f.owned} · closed: {f.closed} · "
                f"customers satisfied: {f.satisfied} · average score: {score}"),
    ]  # fmt: skip
    return blocks


def home_view(reply: HomeReply, *, leaderboard: list[LeaderRow], now: datetime, tz: str) -> dict[str, Any]:
    """Slack's App Home: the home reply, with the button to open a case and the team's leaderboard."""
    blocks: list[Block] = [
        {"type": "header", "text": plain_text("Service recovery", HEADER_TEXT)},
        actions([button("Open a case", "home:open", "open", "primary")]),
        {"type": "divider"},
        *home_blocks(reply, now, tz),
        {"type": "divider"},
        section("*Recovery addicts*, last 30 days (cases recovered and shout-outs received)"),
    ]
    if leaderboard:
        medals = [":first_place_medal:", ":second_place_medal:", ":third_place_medal:"]
        lines = []
        for i, row in enumerate(leaderboard[:10]):
            score = f" · average score {row.avg_score:g}/5" if row.avg_score is not None else ""
            rank = medals[i] if i < 3 else f"{i + 1}."
            lines.append(
                f"{rank} <@{row.user}> · {row.recovered} recovered · {row.shoutouts} shout-outs{score}"
            )
        blocks += sections(lines)
    else:
        blocks.append(context("Nobody has recovered a case or had a shout-out in the last 30 days."))
    return {"type": "home", "blocks": cap(blocks, VIEW_BLOCKS)}
