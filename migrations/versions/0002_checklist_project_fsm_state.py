"""checklist, project, fsm state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 06:28:51.237016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fsm_records",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=100), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_fsm_records")),
    )
    with op.batch_alter_table("fsm_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fsm_records_user_id"), ["user_id"], unique=False)

    op.create_table(
        "checklist_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("career", sa.String(length=40), nullable=False),
        sa.Column("cursor", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_checklist_attempts_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_attempts")),
    )
    with op.batch_alter_table("checklist_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checklist_attempts_finished_at"), ["finished_at"], unique=False
        )
        batch_op.create_index(
            "ix_checklist_attempts_student_career", ["student_id", "career"], unique=False
        )

    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("career", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders", sa.Boolean(), nullable=False),
        sa.Column("nudged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["student_id"],
            ["students.id"],
            name=op.f("fk_projects_student_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("student_id", "career", name=op.f("uq_projects_student_id_career")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_projects_last_activity_at"), ["last_activity_at"], unique=False
        )

    op.create_table(
        "checklist_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("sign_index", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["checklist_attempts.id"],
            name=op.f("fk_checklist_answers_attempt_id_checklist_attempts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_answers")),
        sa.UniqueConstraint(
            "attempt_id", "sign_index", name=op.f("uq_checklist_answers_attempt_id_sign_index")
        ),
    )
    op.create_table(
        "project_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_entries_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_entries")),
        sa.UniqueConstraint(
            "project_id", "step_id", "seq", name=op.f("uq_project_entries_project_id_step_id_seq")
        ),
    )
    op.create_table(
        "project_steps_done",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("step_id", sa.String(length=16), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_steps_done_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_steps_done")),
        sa.UniqueConstraint(
            "project_id", "step_id", name=op.f("uq_project_steps_done_project_id_step_id")
        ),
    )
    with op.batch_alter_table("students", schema=None) as batch_op:
        batch_op.add_column(sa.Column("blocked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("students", schema=None) as batch_op:
        batch_op.drop_column("blocked_at")

    op.drop_table("project_steps_done")
    op.drop_table("project_entries")
    op.drop_table("checklist_answers")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_last_activity_at"))

    op.drop_table("projects")
    with op.batch_alter_table("checklist_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_checklist_attempts_student_career")
        batch_op.drop_index(batch_op.f("ix_checklist_attempts_finished_at"))

    op.drop_table("checklist_attempts")
    with op.batch_alter_table("fsm_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fsm_records_user_id"))

    op.drop_table("fsm_records")
