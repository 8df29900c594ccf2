"""/export and `careerbot export`: per-student progress as CSV, one row per student.

Students appear under a pseudonym (a keyed BLAKE2 hash of their internal id, keyed with
PSEUDONYM_KEY, or without it with a random key made once and kept in the database): the same
student gets the same pseudonym in every export, and no name or Telegram id is written. The
rows come from one query over grouped subqueries, never from a query per student.
"""

import csv
import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, literal, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.content.catalog import Catalog
from bot.db.models import (
    ChecklistAnswer,
    ChecklistAttempt,
    Cohort,
    Event,
    Project,
    ProjectEntry,
    ProjectStepDone,
    Student,
    as_utc,
)
from bot.features.stats.scope import resolve_scope
from bot.services.roles import Viewer
from bot.services.secrets import PSEUDONYM_KEY, stored_secret

COLUMNS = (
    "student",
    "cohort",
    "career",
    "careers_explored",
    "joined",
    "last_active",
    "explored_tour",
    "checklist_finished",
    "fit_signs_recognised",
    "project_started",
    "project_steps_done",
    "project_finished",
    "iterations",
)
PSEUDONYM_BYTES = 8
YES, NO = "yes", "no"
# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection"): = + - @, tab
# and carriage return; and the full-width forms of = + - @, which some spreadsheets (East
# Asian locales) take for the ASCII ones.
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def configured_key(settings: Settings) -> str | None:
    """PSEUDONYM_KEY, if set."""
    return settings.pseudonym_key.get_secret_value() if settings.pseudonym_key else None


def pseudonym(student_id: int, key: str) -> str:
    """A stable, keyed pseudonym: without the key it can't be traced back to the student."""
    secret = hashlib.blake2b(key.encode("utf-8"), digest_size=32).digest()
    digest = hashlib.blake2b(str(student_id).encode(), key=secret, digest_size=PSEUDONYM_BYTES)
    return digest.hexdigest()


# With a BOM, so that spreadsheet apps (Excel) read names in UTF-8, not as mojibake.
CSV_ENCODING = "utf-8-sig"


@dataclass(frozen=True)
class ExportRow:
    student: str
    cohort: str
    career: str
    careers_explored: str  # every career the student explored: slugs, sorted, space-separated
    joined: str
    last_active: str
    explored_tour: str
    checklist_finished: str
    fit_signs_recognised: str
    project_started: str
    project_steps_done: int
    project_finished: str
    iterations: int

    def values(self) -> list[Any]:
        return [getattr(self, column) for column in COLUMNS]


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet shows as text, never runs as a formula (OWASP's advice: a
    leading single quote when it starts with a formula character).

    Spreadsheets may drop leading spaces (LibreOffice's "trim spaces", Excel's import), so a
    formula character after leading whitespace counts too; the quote then goes first, and
    the cell's text is otherwise kept as it is. Numbers are written as numbers.
    """
    if not isinstance(value, str) or not value:
        return value
    first = value.lstrip(" \u00a0\u3000\n\v\f")[:1] or value[:1]
    return "'" + value if first in FORMULA_STARTS else value


def write_csv(rows: Iterable[ExportRow]) -> str:
    """Every export's CSV (the bot's /export and `careerbot export`): every cell neutralised.

    Rows end in CRLF (RFC 4180): the writer quotes a cell holding any character of the line
    ending, so a carriage return inside a name is quoted too, never a row break.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(column) for column in COLUMNS])
    for row in rows:
        writer.writerow([neutralise(value) for value in row.values()])
    return buffer.getvalue()


@dataclass(frozen=True)
class Export:
    rows: list[ExportRow]

    def csv(self) -> str:
        return write_csv(self.rows)

    def csv_file(self) -> bytes:
        """The CSV as a file to open in a spreadsheet app: the bot's upload and the command
        line's `-o` give the same bytes."""
        return self.csv().encode(CSV_ENCODING)


def _day(moment: datetime | None) -> str:
    return as_utc(moment).date().isoformat() if moment is not None else ""


def _flag(value: Any) -> str:
    return YES if value else NO


@dataclass(frozen=True)
class ExportService:
    catalog: Catalog
    # PSEUDONYM_KEY; None: the key kept in the database.
    pseudonym_key: str | None
    admin_ids: frozenset[int] = frozenset()

    async def key(self, session: AsyncSession) -> str:
        """The pseudonyms' key: PSEUDONYM_KEY, or the stored one, made on first use in the
        session's transaction (a writable session: the caller commits)."""
        return self.pseudonym_key or await stored_secret(session, PSEUDONYM_KEY)

    def _fit_signs(self) -> ColumnElement[Any]:
        """How many fit signs the attempt's career has: answers below it are fit signs."""
        counts = {profile.slug: len(profile.checklist.fits) for profile in self.catalog}
        if not counts:
            return literal(0)
        return case(counts, value=ChecklistAttempt.career, else_=0)

    def _repeatable(self) -> ColumnElement[bool]:
        """Entries logged at repeatable steps are iterations (other entries are notes)."""
        conditions = [
            and_(Project.career == profile.slug, ProjectEntry.step_id.in_(steps))
            for profile in self.catalog
            if (steps := [step.id for step in profile.project.steps if step.repeatable])
        ]
        return or_(*conditions) if conditions else false()

    async def export(
        self, session: AsyncSession, viewer: Viewer, cohort_id: int | None, key: str
    ) -> Export | None:
        """The rows the viewer may export, pseudonyms keyed with `key` (from `key()`); None
        when `cohort_id` is not theirs."""
        scope = await resolve_scope(session, viewer, cohort_id, self.admin_ids)
        if scope is None:
            return None
        finished = (
            select(
                ChecklistAttempt.student_id.label("student_id"),
                func.max(ChecklistAttempt.id).label("latest"),
            )
            .where(ChecklistAttempt.finished_at.is_not(None))
            .group_by(ChecklistAttempt.student_id)
            .subquery()
        )
        fit_yes = (
            select(
                ChecklistAnswer.attempt_id.label("attempt_id"),
                func.count().label("yes"),
            )
            .join(ChecklistAttempt, ChecklistAttempt.id == ChecklistAnswer.attempt_id)
            .where(
                ChecklistAnswer.attempt_id.in_(select(finished.c.latest)),
                ChecklistAnswer.answer == "yes",
                ChecklistAnswer.sign_index < self._fit_signs(),
            )
            .group_by(ChecklistAnswer.attempt_id)
            .subquery()
        )
        projects = (
            select(
                Project.student_id.label("student_id"),
                func.max(case((Project.finished_at.is_not(None), 1), else_=0)).label("finished"),
            )
            .group_by(Project.student_id)
            .subquery()
        )
        steps = (
            select(Project.student_id.label("student_id"), func.count().label("done"))
            .join(ProjectStepDone, ProjectStepDone.project_id == Project.id)
            .group_by(Project.student_id)
            .subquery()
        )
        iterations = (
            select(Project.student_id.label("student_id"), func.count().label("logged"))
            .join(ProjectEntry, ProjectEntry.project_id == Project.id)
            .where(self._repeatable())
            .group_by(Project.student_id)
            .subquery()
        )
        # As /stats counts them: any event of the career, or the student's current career.
        touched = union(
            select(Event.student_id.label("student_id"), Event.career.label("career")).where(
                Event.career.is_not(None), scope.rows_of(Event.student_id)
            ),
            select(Student.id, Student.career).where(
                Student.career.is_not(None), *scope.students()
            ),
        ).subquery()
        explored = (
            select(
                touched.c.student_id,
                func.aggregate_strings(touched.c.career, " ").label("careers"),
            )
            .group_by(touched.c.student_id)
            .subquery()
        )
        query = (
            select(
                Student.id,
                Cohort.name,
                Student.career,
                explored.c.careers,
                Student.first_seen,
                Student.last_seen,
                Student.explored_at,
                finished.c.latest,
                fit_yes.c.yes,
                projects.c.student_id,
                func.coalesce(steps.c.done, 0),
                projects.c.finished,
                func.coalesce(iterations.c.logged, 0),
            )
            .outerjoin(Cohort, Cohort.id == Student.cohort_id)
            .outerjoin(explored, explored.c.student_id == Student.id)
            .outerjoin(finished, finished.c.student_id == Student.id)
            .outerjoin(fit_yes, fit_yes.c.attempt_id == finished.c.latest)
            .outerjoin(projects, projects.c.student_id == Student.id)
            .outerjoin(steps, steps.c.student_id == Student.id)
            .outerjoin(iterations, iterations.c.student_id == Student.id)
            .where(*scope.students())
            .order_by(Cohort.name, Student.first_seen, Student.id)
        )
        result = await session.execute(query)
        return Export([self._row(row, key) for row in result.all()])

    def _row(self, row: Sequence[Any], key: str) -> ExportRow:
        (
            student_id,
            cohort,
            career,
            careers,
            first_seen,
            last_seen,
            explored_at,
            latest,
            fit_yes,
            project,
            steps_done,
            project_finished,
            iterations,
        ) = row
        return ExportRow(
            student=pseudonym(student_id, key),
            cohort=cohort or "",
            career=career or "",
            # The database joins them in no set order.
            careers_explored=" ".join(sorted((careers or "").split())),
            joined=_day(first_seen),
            last_active=_day(last_seen),
            explored_tour=_flag(explored_at),
            checklist_finished=_flag(latest),
            fit_signs_recognised="" if latest is None else str(fit_yes or 0),
            project_started=_flag(project),
            project_steps_done=int(steps_done),
            project_finished=_flag(project_finished),
            iterations=int(iterations),
        )
