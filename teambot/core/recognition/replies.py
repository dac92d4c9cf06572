"""The leaderboard as a reply."""

from __future__ import annotations

from dataclasses import dataclass, field

from teambot.core.commands.replies import Reply
from teambot.core.recognition.shoutouts import LeaderRow


@dataclass
class LeaderboardReply(Reply):
    """Top recoverers."""

    rows: list[LeaderRow] = field(default_factory=list)
    days: int = 30
    text: str = ""
