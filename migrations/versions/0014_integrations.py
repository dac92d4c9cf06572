"""Teambot in the rest of the stack: API tokens, webhook endpoints and their delivery log, the
Jira link and the issues made from improvement actions.

Revision ID: 0014_integrations
Revises: 0015_languages (written against 0012_digest_indexes; rewired onto the head it merged over)
Create Date: 2026-12-07

New tables only: nothing existing changes, so an upgrade keeps every row and a downgrade
drops just these. Webhook deliveries are due items (kind "webhook"), a table that exists.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from teambot.core.types import UTCDateTime

revision: str = "0014_integrations"
down_revision: str | None = "0015_languages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _str(n: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _str(128), nullable=False),
        sa.Column("name", _str(64), nullable=False),
        sa.Column("scope", _str(8), nullable=False),
        sa.Column("token_hash", _str(64), nullable=False),
        sa.Column("prefix", _str(16), nullable=False),
        sa.Column("created_by", _str(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_api_tokens_team", "api_tokens", ["team_id"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _str(128), nullable=False),
        sa.Column("url", _str(2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("secret", _str(500), nullable=False),
        sa.Column("status", _str(16), nullable=False),
        sa.Column("failing_since", UTCDateTime(), nullable=True),
        sa.Column("disabled_at", UTCDateTime(), nullable=True),
        sa.Column("created_by", _str(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhooks_team", "webhooks", ["team_id"])
    op.create_index("ix_webhooks_status", "webhooks", ["status"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=False),
        sa.Column("event_id", _str(64), nullable=False),
        sa.Column("event_type", _str(40), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", _str(300), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_attempts_hook_at", "webhook_attempts", ["webhook_id", "at"])
    op.create_table(
        "jira_links",
        sa.Column("team_id", _str(128), nullable=False),
        sa.Column("site", _str(255), nullable=False),
        sa.Column("project", _str(32), nullable=False),
        sa.Column("email", _str(254), nullable=False),
        sa.Column("token", _str(2000), nullable=False),
        sa.Column("webhook_secret", _str(500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("team_id"),
    )
    op.create_table(
        "jira_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _str(128), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("issue_key", _str(64), nullable=False),
        sa.Column("issue_id", _str(64), nullable=False),
        sa.Column("created_by", _str(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("checked_at", UTCDateTime(), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("action_id"),
    )
    op.create_index("ix_jira_issues_team_done", "jira_issues", ["team_id", "done_at"])


def downgrade() -> None:
    op.drop_index("ix_jira_issues_team_done", table_name="jira_issues")
    op.drop_table("jira_issues")
    op.drop_table("jira_links")
    op.drop_index("ix_webhook_attempts_hook_at", table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhooks_status", table_name="webhooks")
    op.drop_index("ix_webhooks_team", table_name="webhooks")
    op.drop_table("webhooks")
    op.drop_index("ix_api_tokens_team", table_name="api_tokens")
    op.drop_table("api_tokens")
