"""The digest's improvement part, as plain data: what to fix first (the week's causes by cost,
all of them for the Pareto chart, the top 3 in words), look-alike unfiled causes, and the actions
(opened, done, overdue this week; and for each action done at least two weeks before the week's
end, its cause's cases a week in the 4 weeks before it was done and since, up to 4 weeks)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from teambot.core.cases.models import Case
from teambot.core.db import Database
from teambot.core.i18n import babel_locale
from teambot.core.improvement.costs import LIVE, WEEK, cause_costs, look_alikes
from teambot.core.improvement.models import ActionStatus, Cause, ImprovementAction
from teambot.core.improvement.render import cost_line, group_line
from teambot.core.policy.models import Policy

TOP = 3
SETTLE = 2 * WEEK  # an action done less long ago has not had time to show
REVIEW = 12 * WEEK  # actions done longer ago than this are no longer reviewed


async def improvement_part(db: Database, policy: Policy, start: datetime, end: datetime) -> dict[str, Any]:
    async with db.read() as s:
        costs = await cause_costs(s, policy, start, end)
        groups, _ = await look_alikes(s, policy.team_id, end)
        actions = await _actions(s, policy.team_id, start, end, ZoneInfo(policy.digest_timezone))
    return {
        "fix_first": [asdict(cost) | {"trend": cost.trend} for cost in costs[:TOP]],
        "fix_first_lines": [cost_line(cost, rank) for rank, cost in enumerate(costs[:TOP], 1)],
        "pareto": [{"cause": cost.name, "points": cost.points, "cases": len(cost.cases)} for cost in costs],
        "groups": [group_line(group) for group in groups],
        "actions": actions,
    }


async def _count(s: AsyncSession, *where: Any) -> int:
    return int((await s.exec(select(func.count()).select_from(ImprovementAction).where(*where))).one())


async def _actions(
    s: AsyncSession, team_id: str, start: datetime, end: datetime, zone: ZoneInfo
) -> dict[str, Any]:
    a = ImprovementAction
    opened = await _count(s, a.team_id == team_id, col(a.created_at) >= start, col(a.created_at) < end)
    done = await _count(s, a.team_id == team_id, a.status == ActionStatus.DONE, col(a.closed_at) >= start,
                        col(a.closed_at) < end)  # fmt: skip
    still_open = (a.status == ActionStatus.OPEN) | (col(a.closed_at) >= end)
    late = (
        await s.exec(
            select(a.number, a.owner_id).where(
                a.team_id == team_id, col(a.created_at) < end, still_open, col(a.due_at) < end
            ).order_by(col(a.number))
        )
    ).all()  # fmt: skip
    reviewed = (
        await s.exec(
            select(a, Cause.name)
            .outerjoin(Cause, col(Cause.id) == col(a.cause_id))
            .where(a.team_id == team_id, a.status == ActionStatus.DONE, col(a.cause_id).is_not(None),
                   col(a.closed_at) <= end - SETTLE, col(a.closed_at) >= end - REVIEW)
            .order_by(col(a.closed_at))
        )
    ).all()  # fmt: skip
    worked = []
    for action, cause in reviewed:
        assert action.closed_at is not None
        before = await _per_week(s, team_id, action.cause_id, action.closed_at - 4 * WEEK, action.closed_at)
        after_end = min(action.closed_at + 4 * WEEK, end)
        after = await _per_week(s, team_id, action.cause_id, action.closed_at, after_end)
        worked.append({
            "action": action.number, "text": action.text, "cause": cause, "before": before, "after": after,
            "done": format_skeleton("MMMd", action.closed_at.astimezone(zone), locale=babel_locale()),
        })  # fmt: skip
    return {
        "opened": opened, "done": done, "overdue": len(late),
        "overdue_lines": [f"{n} <@{owner}>" for n, owner in late], "worked": worked,
    }  # fmt: skip


async def _per_week(
    s: AsyncSession, team_id: str, cause_id: int | None, start: datetime, end: datetime
) -> float:
    """The cause's cases a week, by when they were opened, over [start, end)."""
    if end <= start:
        return 0.0
    n = (
        await s.exec(
            select(func.count()).select_from(Case).where(
                Case.team_id == team_id, LIVE, Case.cause_id == cause_id,
                col(Case.opened_at) >= start, col(Case.opened_at) < end,
            )
        )
    ).one()  # fmt: skip
    return round(int(n) / max((end - start) / WEEK, 1 / 7), 2)
