"""events (student_id, career, kind, name): "careers explored" read from an index

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Built before the old index goes, so lookups by student are never without one.
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_student_id_career_kind_name",
            ["student_id", "career", "kind", "name"],
            unique=False,
        )
        batch_op.drop_index(batch_op.f("ix_events_student_id"))


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_student_id"), ["student_id"], unique=False)
        batch_op.drop_index("ix_events_student_id_career_kind_name")
