"""App Home: my open cases, my due follow-ups, my stats, the team leaderboard, "Open a case"."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import func
from sqlmodel import col, select

from teambot.core.cases.models import Case, CaseStatus
from teambot.core.cases.queries import list_cases
from teambot.core.db import Database
from teambot.core.improvement.home import home_sections
from teambot.slack import blocks
from teambot.slack.runtime import SlackRuntime


async def my_stats(db: Database, team_id: str, user: str) -> dict[str, Any]:
    async with db.session() as s:
        mine = Case.team_id == team_id, Case.owner_id == user
        owned = (await s.exec(select(func.count()).select_from(Case).where(*mine))).one()
        closed = (
            await s.exec(
                select(func.count()).select_from(Case).where(*mine, Case.status == CaseStatus.CLOSED)
            )
        ).one()
        satisfied = (
            await s.exec(select(func.count()).select_from(Case).where(*mine, col(Case.satisfied).is_(True)))
        ).one()
        avg = (await s.exec(select(func.avg(Case.score)).where(*mine, col(Case.score).is_not(None)))).one()
    return {
        "owned": owned,
        "closed": closed,
        "satisfied": satisfied,
        "avg_score": float(avg) if avg is not None else None,
    }


async def due_followups(db: Database, team_id: str, user: str) -> list[Case]:
    async with db.session() as s:
        rows = await s.exec(
            select(Case)
            .where(Case.team_id == team_id, Case.owner_id == user, Case.status == CaseStatus.RESOLVED)
            .order_by(col(Case.followup_due_at))
            .limit(20)
        )
        return list(rows.all())


async def home_for(rt: SlackRuntime, client: AsyncWebClient, team_id: str, user: str) -> dict[str, Any]:
    db = rt.container.db
    person = await rt.people.get(client, team_id, user)
    mine = [c for c in await list_cases(db, team_id, owner=user) if c.status != CaseStatus.RESOLVED]
    return blocks.home_view(
        user=user,
        mine=mine,
        followups=await due_followups(db, team_id, user),
        stats=await my_stats(db, team_id, user),
        leaderboard=await rt.container.shoutouts.leaderboard(team_id),
        now=rt.container.clock.now(),
        tz=person.tz,
        sections_=await home_sections(db, team_id, user, rt.container.clock.now(), person.tz),
    )


async def publish_home(rt: SlackRuntime, client: AsyncWebClient, team_id: str, user: str) -> None:
    await client.views_publish(user_id=user, view=await home_for(rt, client, team_id, user))
