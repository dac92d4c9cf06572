"""The policy as a reply: every adapter renders the same facts."""

from __future__ import annotations

from dataclasses import dataclass

from teambot.core.commands.replies import Reply
from teambot.core.policy.facts import policy_facts
from teambot.core.policy.models import Policy


@dataclass
class PolicyReply(Reply):
    policy: Policy | None = None
    viewer: str = ""
    message: str = ""

    @property
    def text(self) -> str:
        """Plain lines for logs and tests; adapters render the facts their own way."""
        assert self.policy is not None
        lines = [f"{label}: {value}" for label, value in policy_facts(self.policy)]
        return "\n".join([self.message, *lines] if self.message else lines)
