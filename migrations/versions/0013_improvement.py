"""The improvement loop: a team's causes, the cause each case is filed under, improvement actions.

- causes: a team's vocabulary of why things go wrong (unique per team by its lower-cased key).
- cases.cause_id (and cause_by: "meaning" when the bot filed it, "person" when someone chose it),
  with an index (team_id, cause_id) for ranking causes by cost. Existing cases stay unfiled: their
  root-cause words are kept and come up as suggested groups.
- improvement_actions: numbered per team, tied to a case and its cause, followed to done or dropped.

Revision ID: 0013_improvement
Revises: 0016_ops
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from teambot.core.types import UTCDateTime

revision: str = "0013_improvement"
down_revision: str | None = "0016_ops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "causes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("team_id", "key", name="uq_causes_team_key"),
    )
    # Plain ADD COLUMNs: SQLite's batch mode would copy `cases`, which other tables reference.
    # SQLite gets no foreign-key constraint on the new column (ALTER TABLE cannot add one).
    op.add_column("cases", sa.Column("cause_id", sa.Integer(), nullable=True))
    op.add_column("cases", sa.Column("cause_by", sa.String(16), nullable=True))
    if not _sqlite():
        op.create_foreign_key("fk_cases_cause_id_causes", "cases", "causes", ["cause_id"], ["id"])
    op.create_index("ix_cases_team_cause", "cases", ["team_id", "cause_id"])
    op.create_table(
        "improvement_actions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("team_id", sa.String(128), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("cause_id", sa.Integer(), sa.ForeignKey("causes.id"), nullable=True),
        sa.Column("text", sa.String(), nullable=False),
        sa.Column("owner_id", sa.String(128), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(128), nullable=True),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.UniqueConstraint("team_id", "number", name="uq_actions_team_number"),
    )
    op.create_index("ix_actions_team_status", "improvement_actions", ["team_id", "status"])
    op.create_index("ix_actions_owner_status", "improvement_actions", ["owner_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_actions_owner_status", table_name="improvement_actions")
    op.drop_index("ix_actions_team_status", table_name="improvement_actions")
    op.drop_table("improvement_actions")
    op.drop_index("ix_cases_team_cause", table_name="cases")
    if not _sqlite():
        op.drop_constraint("fk_cases_cause_id_causes", "cases", type_="foreignkey")
    op.drop_column("cases", "cause_by")
    op.drop_column("cases", "cause_id")
    op.drop_table("causes")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"
