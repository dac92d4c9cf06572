"""The policy as a reply: every adapter renders the same facts."""

from __future__ import annotations

from dataclasses import dataclass, field

from teambot.core.commands.replies import Reply
from teambot.core.policy.facts import policy_facts
from teambot.core.policy.models import Policy


@dataclass
class PolicyReply(Reply):
    policy: Policy | None = None
    viewer: str = ""
    message: str = ""
    linked: list[tuple[str, str]] = field(default_factory=list)  # outside systems: ("Jira", "acme... · OPS")

    @property
    def facts(self) -> list[tuple[str, str]]:
        """The policy's facts and what the team is linked to: what every adapter shows."""
        assert self.policy is not None
        return [*policy_facts(self.policy), *self.linked]

    @property
    def text(self) -> str:
        """Plain lines for logs and tests; adapters render the facts their own way."""
        lines = [f"{label}: {value}" for label, value in self.facts]
        return "\n".join([self.message, *lines] if self.message else lines)
