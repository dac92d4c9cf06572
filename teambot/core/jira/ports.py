"""What the Jira link needs from the outside: Jira's REST API (an adapter speaks HTTP) and the
improvement loop's actions (whichever feature keeps them), each behind a small port."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class JiraError(Exception):
    """Jira refused (its `errorMessages` and `errors`, joined into one sentence) or was unreachable."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class JiraCredentials:
    base_url: str  # https://<name>.atlassian.net
    email: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class CreatedIssue:
    id: str
    key: str


class JiraApi(Protocol):
    """Jira Cloud REST API v3, the four calls Teambot makes."""

    async def project(self, creds: JiraCredentials, key: str) -> dict[str, Any]: ...

    async def create_issue(self, creds: JiraCredentials, fields: dict[str, Any]) -> CreatedIssue: ...

    async def issue_status(self, creds: JiraCredentials, key: str) -> str:
        """The issue's status category key: `new`, `indeterminate` or `done`."""
        ...

    async def transition_to_done(self, creds: JiraCredentials, key: str) -> bool:
        """Move the issue along a transition into the done category; False when none is offered."""
        ...


@dataclass(frozen=True)
class ActionInfo:
    """An improvement action as the Jira issue tells it."""

    id: int
    team_id: str
    title: str
    cause: str | None = None
    cases: list[tuple[int, str]] = field(default_factory=list)  # (number, link)
    done: bool = False


class Actions(Protocol):
    """The improvement loop's actions: read one, mark one done (with its timeline event)."""

    async def get(self, team_id: str, action_id: int) -> ActionInfo: ...

    async def mark_done(self, team_id: str, action_id: int, actor: str, note: str) -> None: ...
