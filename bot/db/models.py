"""The tables. Every row that concerns a student references `students.id` with ON DELETE CASCADE,
so deleting the student deletes everything about them."""

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: DateTime(timezone=True)}


class Student(Base):
    __tablename__ = "students"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    first_name: Mapped[str] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(16))
    career: Mapped[str | None] = mapped_column(String(40))
    node: Mapped[str | None] = mapped_column(String(40))
    start_payload: Mapped[str | None] = mapped_column(String(64))
    blocked_at: Mapped[datetime | None]
    cohort_id: Mapped[int | None] = mapped_column(
        ForeignKey("cohorts.id", ondelete="SET NULL"), index=True
    )
    joined_cohort_at: Mapped[datetime | None]
    explored_at: Mapped[datetime | None]
    first_seen: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # None: never asked; False: "not now"; True: the lead may see the first name and progress.
    shares: Mapped[bool | None] = mapped_column(Boolean)
    shared_at: Mapped[datetime | None]


class Event(Base):
    """One row per node view, action and command: what usage stats count."""

    __tablename__ = "events"
    # Covers the stats' question counts (kind, name, period, student) without touching rows.
    # The second covers "careers explored": each student's careers and whether they toured
    # them, read in index order instead of sorting the whole log (admin, all time, 100,000
    # students: 1.1 s to 0.55 s on SQLite); it also serves every lookup by student.
    __table_args__ = (
        Index(
            "ix_events_kind_name_created_at_student_id", "kind", "name", "created_at", "student_id"
        ),
        Index("ix_events_student_id_career_kind_name", "student_id", "career", "kind", "name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    career: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ActiveDay(Base):
    """One row per student per UTC day they used the bot: daily active students for the stats,
    counted without scanning the event log."""

    __tablename__ = "active_days"
    __table_args__ = (Index("ix_active_days_day_student_id", "day", "student_id"),)

    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)


class ChecklistAttempt(Base):
    """One walk through a career's fit checklist. Retaking starts a new attempt; old ones stay."""

    __tablename__ = "checklist_attempts"
    __table_args__ = (Index("ix_checklist_attempts_student_career", "student_id", "career"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    career: Mapped[str] = mapped_column(String(40))
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(index=True)


class ChecklistAnswer(Base):
    __tablename__ = "checklist_answers"
    __table_args__ = (UniqueConstraint("attempt_id", "sign_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("checklist_attempts.id", ondelete="CASCADE"))
    sign_index: Mapped[int] = mapped_column(Integer)
    answer: Mapped[str] = mapped_column(String(8))
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuizAttempt(Base):
    """One walk through the interest quiz. Retaking starts a new attempt; old ones stay."""

    __tablename__ = "quiz_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    cursor: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(index=True)
    # Set at the finish, for stats: the matched careers' slugs, best first, comma-separated;
    # "" when the answers could not tell.
    matches: Mapped[str | None] = mapped_column(String(200))


class QuizAnswer(Base):
    __tablename__ = "quiz_answers"
    __table_args__ = (UniqueConstraint("attempt_id", "item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("quiz_attempts.id", ondelete="CASCADE"))
    # The item's id in content/quiz.yaml: answers survive items being reordered.
    item: Mapped[str] = mapped_column(String(32))
    value: Mapped[int] = mapped_column(Integer)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class CareerReason(Base):
    """Why a student felt the way they did about a career, one tap from content/reasons.yaml:
    after the checklist's result (`moment` "checklist") or on leaving it ("leave"). The last
    tap per career and moment stands."""

    __tablename__ = "career_reasons"
    __table_args__ = (UniqueConstraint("student_id", "career", "moment"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    career: Mapped[str] = mapped_column(String(40))
    moment: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Project(Base):
    """A student's run at a career's starter project, with their reminder preference."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("student_id", "career"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    career: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_at: Mapped[datetime | None]
    reminders: Mapped[bool] = mapped_column(default=False)
    reminded_at: Mapped[datetime | None]


class ProjectStepDone(Base):
    __tablename__ = "project_steps_done"
    __table_args__ = (UniqueConstraint("project_id", "step_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(16))
    done_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProjectEntry(Base):
    """What a student wrote at a step, or one logged iteration; `seq` numbers a step's entries."""

    __tablename__ = "project_entries"
    __table_args__ = (UniqueConstraint("project_id", "step_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    step_id: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FsmRecord(Base):
    """aiogram FSM state and data, so a half-typed answer survives a restart without Redis."""

    __tablename__ = "fsm_records"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    state: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class UnansweredQuestion(Base):
    """A question the bot could not answer, kept for content authors; deleted with the student."""

    __tablename__ = "unanswered_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    career: Mapped[str | None] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Staff(Base):
    """Program leads, granted by an admin. Admins themselves come from ADMIN_IDS."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(64))
    granted_by: Mapped[int | None] = mapped_column(BigInteger)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    digest_sent_at: Mapped[datetime | None]


class Cohort(Base):
    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    career: Mapped[str | None] = mapped_column(String(40))
    lead_id: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]


class CohortMove(Base):
    """A student joining a cohort, or moving from one to another."""

    __tablename__ = "cohort_moves"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    student_id: Mapped[int] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), index=True
    )
    from_cohort_id: Mapped[int | None] = mapped_column(
        ForeignKey("cohorts.id", ondelete="SET NULL")
    )
    to_cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    moved_at: Mapped[datetime] = mapped_column(default=utcnow)


class Announcement(Base):
    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The lead's draft it was made from: a second "send" of one draft creates nothing.
    draft: Mapped[str] = mapped_column(String(32), unique=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    sender_id: Mapped[int] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(String(4096))
    node: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(index=True)


class Delivery(Base):
    """The outbox: one row per recipient of an announcement, claimed before it is sent."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("announcement_id", "student_id"),
        Index("ix_deliveries_announcement_status", "announcement_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Sends tried so far; a transient failure puts the row back to pending until
    # next_attempt_at. `reason` is why the last attempt did not deliver (blocked, failed or
    # retrying), a code the lead's progress screen names with a label.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(24))


class Lease(Base):
    """Who runs the background jobs (announcements, reminders) when several workers run:
    the holder renews the lease; another worker takes over only once it has expired."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]


class Secret(Base):
    """A key the bot made itself, once, where no setting gives one (the export pseudonyms'
    key without PSEUDONYM_KEY): kept here, it stays the same across restarts and workers."""

    __tablename__ = "secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HandledUpdate(Base):
    """Telegram updates taken in hand, so that a delivery of the same update again is handled
    once: `done` once handled; a claim not done is being handled, or was left by a worker
    that died (taken again once `claimed_at` is old). Old rows are pruned."""

    __tablename__ = "handled_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    claimed_at: Mapped[datetime] = mapped_column(index=True)
    done: Mapped[bool] = mapped_column(default=False)
    # The process slot that claimed it (host, port and worker number, or polling): the next
    # process in that slot releases what its dead predecessor left in hand.
    holder: Mapped[str | None] = mapped_column(String(80))


class DashboardLogin(Base):
    """A dashboard login link that was opened: its nonce, kept until the link has expired, so
    that each link logs in once (the insert is what claims it)."""

    __tablename__ = "dashboard_logins"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class DashboardSession(Base):
    """A staff member signed in to the dashboard. The cookie holds the session id; only its
    SHA-256 is stored, so a copy of the database opens no session."""

    __tablename__ = "dashboard_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
