"""Index cases by (team_id, resolved_at): root-cause patterns and the digest read a week of resolutions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cases_team_resolved", "cases", ["team_id", "resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_team_resolved", table_name="cases")
