"""active days, stats index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 07:36:14.986417
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "active_days",
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_active_days_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("student_id", "day", name=op.f("pk_active_days")),
    )
    with op.batch_alter_table("active_days", schema=None) as batch_op:
        batch_op.create_index("ix_active_days_day_student_id", ["day", "student_id"], unique=False)

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_kind_name"))
        batch_op.create_index(
            "ix_events_kind_name_created_at_student_id",
            ["kind", "name", "created_at", "student_id"],
            unique=False,
        )

    # The days students were active before this table existed, from the event log.
    if op.get_bind().dialect.name == "postgresql":
        day_of = "(({column}) AT TIME ZONE 'UTC')::date"
    else:
        day_of = "substr({column}, 1, 10)"
    op.execute(
        "INSERT INTO active_days (student_id, day) "
        f"SELECT student_id, {day_of.format(column='created_at')} FROM events "
        f"UNION SELECT id, {day_of.format(column='last_seen')} FROM students"
    )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_kind_name_created_at_student_id")
        batch_op.create_index(batch_op.f("ix_events_kind_name"), ["kind", "name"], unique=False)

    with op.batch_alter_table("active_days", schema=None) as batch_op:
        batch_op.drop_index("ix_active_days_day_student_id")

    op.drop_table("active_days")
