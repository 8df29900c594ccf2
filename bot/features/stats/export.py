"""/export and `careerbot export`: per-student progress as CSV, one row per student, as the
roster shows them (bot/features/roster/service.py).

A lead's file names the students who agreed to share by first name, with their progress; any
other student is a "Student N" row (N by join order in the cohort) with every progress column
empty. An admin's file has everyone's progress, still "Student N" for those who did not
agree. A row whose progress the viewer sees also carries a pseudonym (a keyed BLAKE2 hash of
the student's internal id, keyed with PSEUDONYM_KEY, or without it with a random key made
once and kept in the database): the same student gets the same pseudonym in every export.
Times are ISO 8601 in UTC; careers are the catalog's titles.
"""

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.content.catalog import Catalog
from bot.db.models import as_utc, utcnow
from bot.features.roster.service import RosterEntry, RosterService
from bot.features.stats.scope import resolve_scope
from bot.services.roles import Viewer
from bot.services.secrets import PSEUDONYM_KEY, stored_secret

COLUMNS = (
    "student",
    "pseudonym",
    "cohort",
    "shares",
    "joined",
    "last_active",
    "quiet",
    "career",
    "careers_tried",
    "tour_sections_seen",
    "tour_sections",
    "checklist_signs_answered",
    "checklist_signs",
    "checklist_finished",
    "checklist_result",
    "project_started",
    "project_step",
    "project_step_title",
    "project_steps",
    "project_finished",
    "iterations",
    "last_note",
)
# A student whose name the viewer may not see: N by join order in their cohort.
UNNAMED = "Student {number}"
# Between career titles in one cell (titles may hold commas, never this).
TITLES_SEPARATOR = "; "
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
    """One student's row: every cell as written (empty where the viewer may not see it)."""

    student: str
    pseudonym: str = ""
    cohort: str = ""
    shares: str = ""
    joined: str = ""
    last_active: str = ""
    quiet: str = ""
    career: str = ""
    careers_tried: str = ""
    tour_sections_seen: int | str = ""
    tour_sections: int | str = ""
    checklist_signs_answered: int | str = ""
    checklist_signs: int | str = ""
    checklist_finished: str = ""
    checklist_result: str = ""
    project_started: str = ""
    project_step: int | str = ""
    project_step_title: str = ""
    project_steps: int | str = ""
    project_finished: str = ""
    iterations: int | str = ""
    last_note: str = ""

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


def file_name(cohort_id: int | None) -> str:
    """The name the file goes by, from the bot and the dashboard alike."""
    which = f"cohort-{cohort_id}" if cohort_id is not None else "all"
    return f"progress-{which}-{utcnow().date().isoformat()}.csv"


def _moment(moment: datetime | None) -> str:
    """ISO 8601 in UTC, to the second: 2026-12-02T09:30:00Z."""
    if moment is None:
        return ""
    return as_utc(moment).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _flag(value: Any) -> str:
    return YES if value else NO


def export_row(entry: RosterEntry, key: str) -> ExportRow:
    """The row of a roster entry: name and progress as far as the viewer may see them."""
    student = entry.name or UNNAMED.format(number=entry.number)
    progress = entry.progress
    if progress is None:
        return ExportRow(student=student, cohort=entry.cohort, shares=_flag(entry.shares))
    checklist, project = progress.checklist, progress.project
    return ExportRow(
        student=student,
        pseudonym=pseudonym(entry.student_id, key),
        cohort=entry.cohort,
        shares=_flag(entry.shares),
        joined=_moment(progress.joined),
        last_active=_moment(progress.last_active),
        quiet=_flag(progress.quiet),
        career=progress.career or "",
        careers_tried=TITLES_SEPARATOR.join(progress.careers),
        tour_sections_seen=progress.sections if progress.career else "",
        tour_sections=progress.sections_total if progress.career else "",
        checklist_signs_answered="" if checklist is None else (checklist.answered or ""),
        checklist_signs="" if checklist is None else checklist.signs,
        checklist_finished=_flag(checklist and checklist.finished),
        checklist_result=(checklist.leaning or "") if checklist else "",
        project_started=_flag(project),
        project_step="" if project is None or project.finished else project.step,
        project_step_title=(project.step_title or "") if project else "",
        project_steps="" if project is None else project.steps,
        project_finished=_flag(project and project.finished),
        iterations="" if project is None else project.iterations,
        last_note=_moment(project.last_note) if project else "",
    )


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

    async def export(
        self, session: AsyncSession, viewer: Viewer, cohort_id: int | None, key: str
    ) -> Export | None:
        """The rows the viewer may export, pseudonyms keyed with `key` (from `key()`); None
        when `cohort_id` is not theirs."""
        scope = await resolve_scope(session, viewer, cohort_id, self.admin_ids)
        if scope is None:
            return None
        roster = RosterService(self.catalog, self.admin_ids)
        entries = await roster.everyone(session, scope)
        return Export([export_row(entry, key) for entry in entries])
