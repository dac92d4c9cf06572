"""The improvement loop as text every adapter shows the same: the causes by cost, the look-alike
groups (with the one-click commands that name them), the actions, the digest's section. Pure;
written in the current language (the caller enters the reader's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from babel.numbers import format_decimal

from teambot.core.i18n import babel_locale, format_money, format_number, ngettext
from teambot.core.i18n import gettext as _
from teambot.core.improvement.actions import ActionView, status_word
from teambot.core.improvement.costs import CauseCost, CauseReport, LookAlike
from teambot.core.insights.patterns import trend_word
from teambot.core.money import from_minor


def numbers(cases: list[int], most: int = 12) -> str:
    shown = ", ".join(f"#{n}" for n in cases[:most])
    if len(cases) <= most:
        return shown
    return _("%(shown)s and %(count)s more") % {"shown": shown, "count": len(cases) - most}


def money(compensation: dict[str, int]) -> str:
    amounts = [format_money(from_minor(minor, code), code) for code, minor in sorted(compensation.items())]
    return " + ".join(amounts) or _("none")


def cost_line(cost: CauseCost, rank: int | None = None) -> str:
    """`1. *Heat lamp* — 4 cases, €60.00, 1 not satisfied, 1 lost, 1 repeat customer; 4.0/week
    (before 1.0): rising · #3, #7, #9, #12`."""
    figures = [
        ngettext("%(count)s case", "%(count)s cases", len(cost.cases)) % {"count": len(cost.cases)},
        _("compensation %(amount)s") % {"amount": money(cost.compensation)},
    ]
    if cost.not_satisfied:
        figures.append(_("%(count)s not satisfied") % {"count": cost.not_satisfied})
    if cost.lost:
        figures.append(_("%(count)s lost") % {"count": cost.lost})
    if cost.repeat_customers:
        figures.append(
            ngettext("%(count)s repeat customer", "%(count)s repeat customers", cost.repeat_customers)
            % {"count": cost.repeat_customers}
        )
    head = f"{rank}. " if rank is not None else ""
    return head + _(
        "*%(name)s*: %(figures)s; %(per_week)s/week against %(before)s in the 4 weeks before (%(trend)s) · %(cases)s"
    ) % {
        "name": cost.name, "figures": ", ".join(figures), "per_week": format_number(cost.per_week),
        "before": format_number(cost.per_week_before), "trend": trend_word(cost.trend), "cases": numbers(cost.cases),
    }  # fmt: skip


def group_line(group: LookAlike) -> str:
    quoted = "; ".join(f"“{w}”" for w in group.words[:4]) + ("; …" if len(group.words) > 4 else "")
    return ngettext(
        "%(count)s root cause looks alike (%(cases)s): %(words)s. Name them as one cause?",
        "%(count)s root causes look alike (%(cases)s): %(words)s. Name them as one cause?",
        len(group.cases),
    ) % {"count": len(group.cases), "cases": numbers(group.cases), "words": quoted}


def group_choice(group: LookAlike) -> tuple[str, str]:
    """The button that creates the cause with the suggested name and files the cases."""
    return (
        _("Name them “%(name)s”") % {"name": group.name},
        f"cause {','.join(str(n) for n in group.cases)} new {group.name}",
    )


def causes_text(report: CauseReport) -> str:
    lines = [_("*What to fix first, %(period)s* (ranked by cost)") % {"period": report.period.label}]
    if not report.causes:
        lines.append(_("No case resolved in this period is filed under a cause yet."))
    lines += [cost_line(cost, rank) for rank, cost in enumerate(report.causes, 1)]
    if report.groups:
        lines.append(_("*Unfiled causes that look alike* (last 12 weeks):"))
        lines += [f"• {group_line(group)}" for group in report.groups]
        lines.append(_("Press a button to name them as one cause (rename it later with /recover policy cause "
                       "rename), or type /recover cause <cases> new <your name>."))  # fmt: skip
    if report.unfiled:
        lines.append(
            _("Unfiled, like nothing else yet: %(cases)s (file one: /recover cause <case> <cause>).")
            % {"cases": numbers(report.unfiled)}
        )
    return "\n".join(lines)


def when(at: datetime | None, tz: str = "UTC") -> str:
    """`12 Nov 2026`, `12. Nov. 2026`: the day, in the reader's time zone and language."""
    if at is None:
        return _("no due date")
    return format_skeleton("yMMMd", at.astimezone(ZoneInfo(tz)), locale=babel_locale())


def _age(since: datetime, now: datetime) -> str:
    days = (now - since).days
    return _("today") if days < 1 else _("%(days)s d old") % {"days": days}


def action_line(action: ActionView, now: datetime, tz: str = "UTC") -> str:
    cause = f" [{action.cause}]" if action.cause else ""
    values = {"number": action.number, "text": action.text, "cause": cause, "case": action.case_number}
    if action.status == "open":
        if action.due_at is None:
            due = _("no due date")
        elif action.overdue(now):
            due = _("due %(date)s *overdue*") % {"date": when(action.due_at, tz)}
        else:
            due = _("due %(date)s") % {"date": when(action.due_at, tz)}
        return _("%(number)s. %(text)s%(cause)s · %(owner)s · %(due)s · %(age)s · case #%(case)s") % {
            **values, "owner": f"<@{action.owner}>", "due": due, "age": _age(action.created_at, now),
        }  # fmt: skip
    closed = {
        **values, "status": status_word(action.status), "date": when(action.closed_at, tz),
        "by": f"<@{action.closed_by}>",
    }  # fmt: skip
    if action.outcome:
        return _("%(number)s. %(text)s%(cause)s · %(status)s %(date)s by %(by)s: %(outcome)s · case #%(case)s") % {
            **closed, "outcome": action.outcome,
        }  # fmt: skip
    return _("%(number)s. %(text)s%(cause)s · %(status)s %(date)s by %(by)s · case #%(case)s") % closed


def actions_title(which: str) -> str:
    if which == "open":
        return _("Open improvement actions")
    if which == "mine":
        return _("Your open improvement actions")
    return _("Improvement actions (%(which)s)") % {
        "which": status_word(which) if which != "all" else _("all")
    }


def actions_text(actions: list[ActionView], which: str, now: datetime, tz: str = "UTC") -> str:
    title = actions_title(which)
    if not actions:
        return f"*{title}*\n" + _(
            "None. Make a flag an action: /recover action <case> <what will change> [@owner] [due <when>]."
        )
    return "\n".join([f"*{title}*", *(action_line(action, now, tz) for action in actions)])


def _tenths(value: float) -> str:
    """`3.0`, `3,0`: one decimal, written the reader's way."""
    return format_decimal(value, format="#,##0.0", locale=babel_locale())


def action_done_line(action: dict[str, Any]) -> str:
    """`Heat lamp replaced (done 12 Nov): Heat lamp 3.0 → 0.5 cases a week`."""
    values = {
        "text": action["text"], "done": action["done"], "cause": action["cause"] or _("its cause"),
        "before": _tenths(action["before"]), "after": _tenths(action["after"]),
    }  # fmt: skip
    if action["after"] < action["before"]:
        return _("%(text)s (done %(done)s): %(cause)s %(before)s → %(after)s cases a week (worked)") % values
    return _("%(text)s (done %(done)s): %(cause)s %(before)s → %(after)s cases a week (no fall yet)") % values


def digest_lines(section: dict[str, Any]) -> list[str]:
    """The digest's improvement part: what to fix first, then the actions."""
    if not section:
        return []
    lines = []
    if section.get("fix_first"):
        lines.append(_("*What to fix first* (causes by cost this week):"))
        lines += [f"  {line}" for line in section.get("fix_first_lines", [])]
    groups = section.get("groups") or []
    if groups:
        lines.append(_("Unfiled root causes that look alike (name them from /recover causes):"))
        lines += [f"  • {group}" for group in groups[:3]]
    return lines + _action_lines(section.get("actions") or {})


def _action_lines(acts: dict[str, Any]) -> list[str]:
    if not acts or not (acts["opened"] or acts["done"] or acts["overdue"] or acts.get("worked")):
        return []
    values = {"opened": acts["opened"], "done": acts["done"], "overdue": acts["overdue"]}
    if acts.get("overdue_lines"):
        line = _("Improvement actions: %(opened)s opened, %(done)s done, %(overdue)s overdue (%(which)s).") % {
            **values, "which": ", ".join(acts["overdue_lines"])}  # fmt: skip
    else:
        line = _("Improvement actions: %(opened)s opened, %(done)s done, %(overdue)s overdue.") % values
    lines = [line]
    for action in acts.get("worked", []):
        lines.append("  • " + _("Did it work? %(action)s") % {"action": action_done_line(action)})
    return lines
