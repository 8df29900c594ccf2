"""students.shares, staff.digest: consent to be named to the lead, and the weekly digest

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("students", schema=None) as batch_op:
        # NULL: never asked; false: "not now"; true: the lead may see the first name.
        batch_op.add_column(sa.Column("shares", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("shared_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("digest", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("digest_sent_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("digest_sent_at")
        batch_op.drop_column("digest")
    with op.batch_alter_table("students", schema=None) as batch_op:
        batch_op.drop_column("shared_at")
        batch_op.drop_column("shares")
