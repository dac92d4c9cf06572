"""One settings model: working hours, the target clock, pattern thresholds, the shout-out
allowance and people's time zones move from team_schedules into policies; team_schedules goes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (column, type, server default): the defaults are the ones TeamSchedule had.
COLUMNS = [
    ("work_start", sqlmodel.sql.sqltypes.AutoString(length=5), sa.text("'09:00'")),
    ("work_end", sqlmodel.sql.sqltypes.AutoString(length=5), sa.text("'18:00'")),
    ("work_days", sa.JSON(), sa.text("'[0, 1, 2, 3, 4]'")),
    ("targets_in_working_hours", sa.Boolean(), sa.false()),
    ("timezones", sa.JSON(), sa.text("'{}'")),
    ("pattern_min_cases", sa.Integer(), sa.text("3")),
    ("pattern_rise_percent", sa.Integer(), sa.text("200")),
    ("repeat_customer_days", sa.Integer(), sa.text("30")),
    ("shoutouts_per_day", sa.Integer(), sa.text("3")),
]
NAMES = [name for name, _, _ in COLUMNS]


def upgrade() -> None:
    for name, type_, default in COLUMNS:
        op.add_column("policies", sa.Column(name, type_, nullable=False, server_default=default))
    # A team's schedule row exists only once its policy does (the old code read the policy first).
    for name in NAMES:
        op.execute(
            f"UPDATE policies SET {name} = (SELECT s.{name} FROM team_schedules s "
            f"WHERE s.team_id = policies.team_id) "
            f"WHERE EXISTS (SELECT 1 FROM team_schedules s WHERE s.team_id = policies.team_id)"
        )
    op.drop_table("team_schedules")


def downgrade() -> None:
    op.create_table(
        "team_schedules",
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        *[sa.Column(name, type_, nullable=False, server_default=default) for name, type_, default in COLUMNS],
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id"),
    )
    cols = ", ".join(NAMES)
    op.execute(
        f"INSERT INTO team_schedules (team_id, {cols}, updated_at) SELECT team_id, {cols}, updated_at FROM policies"
    )
    with op.batch_alter_table("policies") as batch:
        for name in NAMES:
            batch.drop_column(name)
