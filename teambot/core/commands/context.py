"""Who is asking, from where: the same for the shell, Slack and Teams."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Context:
    team_id: str
    channel_id: str
    user_id: str
    platform: str = "shell"
    tz: str = "UTC"
    source_ref: str | None = None  # the platform's id for the request, so a retry changes nothing
    direct: bool = False  # a direct message with the bot, not a channel the team shares
    user_name: str | None = None  # the person's display name, when the platform told us (signs mails)
    locale: str | None = None  # the person's language as their platform says it ("de-DE"), if it does
    language: str = "en"  # what Teambot speaks with them: set by Commands, read by the adapter's renderer
    team_language: str = "en"  # what the team's channel reads (cards, what a step says there): set by Commands
