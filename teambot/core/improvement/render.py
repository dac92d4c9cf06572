"""The improvement loop as text every adapter shows the same: the causes by cost, the look-alike
groups (with the one-click commands that name them), the actions, the digest's section. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from teambot.core.improvement.actions import ActionView
from teambot.core.improvement.costs import CauseCost, CauseReport, LookAlike
from teambot.core.money import format_amount, from_minor


def numbers(cases: list[int], most: int = 12) -> str:
    shown = ", ".join(f"#{n}" for n in cases[:most])
    return shown + (f" and {len(cases) - most} more" if len(cases) > most else "")


def money(compensation: dict[str, int]) -> str:
    return " + ".join(format_amount(from_minor(m, c), c) for c, m in sorted(compensation.items())) or "none"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def cost_line(c: CauseCost, rank: int | None = None) -> str:
    """`1. *Heat lamp* — 4 cases, €60.00, 1 not satisfied, 1 lost, 1 repeat customer; 4.0/week
    (before 1.0): rising · #3, #7, #9, #12`."""
    figures = [_plural(len(c.cases), "case"), f"compensation {money(c.compensation)}"]
    if c.not_satisfied:
        figures.append(f"{c.not_satisfied} not satisfied")
    if c.lost:
        figures.append(f"{c.lost} lost")
    if c.repeat_customers:
        figures.append(_plural(c.repeat_customers, "repeat customer"))
    head = f"{rank}. " if rank is not None else ""
    return (
        f"{head}*{c.name}*: {', '.join(figures)}; {c.per_week:g}/week against {c.per_week_before:g} "
        f"in the 4 weeks before ({c.trend}) · {numbers(c.cases)}"
    )


def group_line(g: LookAlike) -> str:
    quoted = "; ".join(f"“{w}”" for w in g.words[:4]) + ("; …" if len(g.words) > 4 else "")
    return f"{len(g.cases)} root causes look alike ({numbers(g.cases)}): {quoted}. Name them as one cause?"


def group_choice(g: LookAlike) -> tuple[str, str]:
    """The button that creates the cause with the suggested name and files the cases."""
    return (f"Name them “{g.name}”", f"cause {','.join(str(n) for n in g.cases)} new {g.name}")


def causes_text(r: CauseReport) -> str:
    lines = [f"*What to fix first, {r.period.label}* (ranked by cost)"]
    if not r.causes:
        lines.append("No case resolved in this period is filed under a cause yet.")
    lines += [cost_line(c, i) for i, c in enumerate(r.causes, 1)]
    if r.groups:
        lines.append("*Unfiled causes that look alike* (last 12 weeks):")
        lines += [f"• {group_line(g)}" for g in r.groups]
        lines.append("Press a button to name them as one cause (rename it later with /recover policy cause "
                     "rename), or type /recover cause <cases> new <your name>.")  # fmt: skip
    if r.unfiled:
        lines.append(f"Unfiled, like nothing else yet: {numbers(r.unfiled)} (file one: /recover cause <case> <cause>).")
    return "\n".join(lines)


def when(at: datetime | None, tz: str = "UTC") -> str:
    return "no due date" if at is None else at.astimezone(ZoneInfo(tz)).strftime("%-d %b %Y")


def _age(since: datetime, now: datetime) -> str:
    days = (now - since).days
    return "today" if days < 1 else f"{days} d old"


def action_line(a: ActionView, now: datetime, tz: str = "UTC") -> str:
    cause = f" [{a.cause}]" if a.cause else ""
    if a.status == "open":
        due = f"due {when(a.due_at, tz)}" + (" *overdue*" if a.overdue(now) else "") if a.due_at else "no due date"
        return f"{a.number}. {a.text}{cause} · <@{a.owner}> · {due} · {_age(a.created_at, now)} · case #{a.case_number}"
    what = f": {a.outcome}" if a.outcome else ""
    return f"{a.number}. {a.text}{cause} · {a.status} {when(a.closed_at, tz)} by <@{a.closed_by}>{what} · case #{a.case_number}"


def actions_text(actions: list[ActionView], which: str, now: datetime, tz: str = "UTC") -> str:
    title = {"open": "Open improvement actions", "mine": "Your open improvement actions"}.get(
        which, f"Improvement actions ({which})"
    )
    if not actions:
        return f"*{title}*\nNone. Make a flag an action: /recover action <case> <what will change> [@owner] [due <when>]."
    return "\n".join([f"*{title}*", *(action_line(a, now, tz) for a in actions)])


def action_done_line(a: dict[str, Any]) -> str:
    """`Heat lamp replaced (done 12 Nov): Heat lamp 3.0 → 0.5 cases a week`."""
    return (
        f"{a['text']} (done {a['done']}): {a['cause'] or 'its cause'} {a['before']:.1f} → {a['after']:.1f} "
        f"cases a week ({'worked' if a['after'] < a['before'] else 'no fall yet'})"
    )


def digest_lines(section: dict[str, Any]) -> list[str]:
    """The digest's improvement part: what to fix first, then the actions."""
    if not section:
        return []
    lines = []
    top = section.get("fix_first") or []
    if top:
        lines.append("*What to fix first* (causes by cost this week):")
        lines += [f"  {line}" for line in section.get("fix_first_lines", [])]
    groups = section.get("groups") or []
    if groups:
        lines.append("Unfiled root causes that look alike (name them from /recover causes):")
        lines += [f"  • {g}" for g in groups[:3]]
    acts = section.get("actions") or {}
    if acts and (acts["opened"] or acts["done"] or acts["overdue"] or acts.get("worked")):
        lines.append(
            f"Improvement actions: {acts['opened']} opened, {acts['done']} done, {acts['overdue']} overdue"
            + (f" ({', '.join(acts['overdue_lines'])})" if acts.get("overdue_lines") else "")
            + "."
        )
        for a in acts.get("worked", []):
            lines.append(f"  • Did it work? {action_done_line(a)}")
    return lines
