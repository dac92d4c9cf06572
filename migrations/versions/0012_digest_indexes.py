"""Indexes for the digest computed in SQL.

Revision ID: 0012_digest_indexes
Revises: 0007_intake
Create Date: 2026-12-01

- timeline_events (team_id, kind, at): the digest reads one kind of event per figure over a
  week (resolutions, apologies, follow-up answers...), not every event of the week.
- cases (team_id, closed_at) and (team_id, reopened_count): the cases that may have been open
  at a week's end (not closed, closed after it, or ever reopened) come through these, not a
  scan of the team's whole history.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_digest_indexes"
down_revision: str | None = "0007_intake"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_timeline_team_kind_at", "timeline_events", ["team_id", "kind", "at"])
    op.create_index("ix_cases_team_closed", "cases", ["team_id", "closed_at"])
    op.create_index("ix_cases_team_reopened", "cases", ["team_id", "reopened_count"])


def downgrade() -> None:
    op.drop_index("ix_cases_team_reopened", table_name="cases")
    op.drop_index("ix_cases_team_closed", table_name="cases")
    op.drop_index("ix_timeline_team_kind_at", table_name="timeline_events")
