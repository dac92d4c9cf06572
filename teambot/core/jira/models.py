"""A team's Jira link (the API token sealed with the SecretBox) and the issues made from actions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from teambot.core.types import UTCDateTime


class JiraLink(SQLModel, table=True):
    """One Jira Cloud project per team; set on the server (`teambot jira link`), never in chat."""

    __tablename__ = "jira_links"

    team_id: str = Field(primary_key=True, max_length=128)
    site: str = Field(max_length=255)  # <name>.atlassian.net (or a stand-in's base URL in tests)
    project: str = Field(max_length=32)
    email: str = Field(max_length=254)
    token: str = Field(max_length=2000)  # sealed
    webhook_secret: str = Field(max_length=500)  # sealed; Jira signs its webhook with it
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class JiraIssue(SQLModel, table=True):
    """The Jira issue an improvement action was sent to (one per action)."""

    __tablename__ = "jira_issues"
    __table_args__ = (Index("ix_jira_issues_team_done", "team_id", "done_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=128)
    action_id: int = Field(unique=True)
    issue_key: str = Field(max_length=64)
    issue_id: str = Field(max_length=64)
    created_by: str = Field(max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)
    checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
