"""The weekly digest as a reply."""

from __future__ import annotations

from dataclasses import dataclass

from teambot.core.commands.replies import Reply
from teambot.core.insights.digest import Digest


@dataclass
class DigestReply(Reply):
    """A weekly digest (or this week's so far); `digest` is the computed week."""

    digest: Digest | None = None
    text: str = ""
