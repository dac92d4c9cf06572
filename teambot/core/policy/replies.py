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
    # The facts in the reader's language, as the handler computed them (renderers show these),
    # then what the team is linked to outside: ("Jira", "acme.atlassian.net · OPS").
    facts: list[tuple[str, str]] = field(default_factory=list)
    linked: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.facts and self.policy is not None:
            self.facts = [*policy_facts(self.policy), *self.linked]

    @property
    def text(self) -> str:
        """Plain lines for logs and tests; adapters render the facts their own way."""
        assert self.policy is not None
        lines = [f"{label}: {value}" for label, value in self.facts]
        return "\n".join([self.message, *lines] if self.message else lines)
