"""App Home: the person's own view from core/cases/home.py (the same facts as Teams' home and
`/recover home`), the team leaderboard and "Open a case"."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from teambot.core.improvement.home import person_home
from teambot.slack import blocks
from teambot.slack.runtime import SlackRuntime


async def home_for(runtime: SlackRuntime, client: AsyncWebClient, team_id: str, user: str) -> dict[str, Any]:
    person = await runtime.people.get(client, team_id, user)
    return blocks.home_view(
        await person_home(runtime.container.db, team_id, user, runtime.container.clock.now(), person.tz),
        leaderboard=await runtime.container.shoutouts.leaderboard(team_id),
        now=runtime.container.clock.now(),
        tz=person.tz,
    )


async def publish_home(runtime: SlackRuntime, client: AsyncWebClient, team_id: str, user: str) -> None:
    await client.views_publish(user_id=user, view=await home_for(runtime, client, team_id, user))
