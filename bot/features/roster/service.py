"""A cohort's students, one row each, as their lead may see them: the roster screen and the CSV.

A student who agreed to share (`students.shares` true) is shown to the lead by first name with
their progress; any other is "Student N" (N by join order in the cohort, stable while they
stay) and nothing else. Admins see everyone's progress, still without the names of those who
did not agree. Hidden students are ordered by N alone, never by anything they did, so their
place in the list tells the lead nothing either.

Everything comes from a few grouped queries over the students asked for (a page of ten, or
an export's scope), never from a query per student. The admins' list of every student
(`everyone_page`) picks its page of fifty in SQL, by last active, and reads the progress of
those fifty alone, however many students there are.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.content.catalog import Catalog
from bot.content.models import Profile
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
    utcnow,
)
from bot.features.checklist.service import result_of, signs_of
from bot.features.stats.scope import Scope
from bot.features.tour.nodes import SECTIONS
from bot.services.roles import Viewer
from bot.services.students import QUIET_AFTER

PAGE_SIZE = 10
# The dashboard's list of every student: a page of a table on a laptop.
EVERYONE_PAGE_SIZE = 50

# A condition on a table's student id column: the rows of the students asked for.
Who = Callable[[InstrumentedAttribute[int]], ColumnElement[bool]]


@dataclass(frozen=True)
class ChecklistProgress:
    signs: int
    # The attempt under way: how many signs it has answered (None: none under way).
    answered: int | None
    finished: bool
    # The last finished attempt's leaning ("strong", "mixed", "weak"), as its result shows.
    leaning: str | None


@dataclass(frozen=True)
class ProjectProgress:
    step: int  # the step to work on, from 1; past the last once finished
    steps: int
    step_title: str | None  # None once finished
    finished: bool
    iterations: int
    last_note: datetime | None


@dataclass(frozen=True)
class Progress:
    """What a lead may see of a student who shares (an admin, of everyone)."""

    career: str | None  # the current career's title
    sections: int  # tour sections of the current career opened
    sections_total: int
    checklist: ChecklistProgress | None  # None: never opened
    project: ProjectProgress | None  # None: not started
    joined: datetime | None
    last_active: datetime
    quiet: bool  # started, then nothing for QUIET_AFTER
    careers: list[str]  # titles of every career tried, in the catalog's order


@dataclass(frozen=True)
class RosterEntry:
    student_id: int
    number: int  # "Student N": by join order in the cohort
    cohort_id: int | None
    cohort: str
    shares: bool
    name: str | None  # the first name, only of a student who shares
    progress: Progress | None  # None: hidden from this viewer


class Paged:
    """The pages around `page` (from 1) of `pages`: None at either end."""

    page: int
    pages: int

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


@dataclass(frozen=True)
class RosterPage(Paged):
    cohort: Cohort
    entries: list[RosterEntry]
    page: int  # from 1
    pages: int
    total: int
    first: int = field(default=1)  # the position of the page's first entry, from 1


@dataclass(frozen=True)
class StudentsPage(Paged):
    """A page of every student, most recently active first, as an admin sees them."""

    entries: list[RosterEntry]
    page: int  # from 1
    pages: int
    total: int


@dataclass(frozen=True)
class _Member:
    id: int
    first_name: str
    shares: bool
    cohort_id: int | None
    cohort: str
    joined: datetime | None
    first_seen: datetime
    last_seen: datetime
    explored: bool
    career: str | None


def _order(members: Sequence[_Member], reveal: bool, now: datetime) -> list[tuple[int, _Member]]:
    """The members of one cohort with their numbers, in roster order: those the viewer sees
    (`reveal`: everyone) who started and went quiet first, then the others they see by last
    active; then the hidden ones by number."""
    by_join = sorted(members, key=lambda m: (as_utc(m.joined or m.first_seen), m.id))
    numbered = [(number, member) for number, member in enumerate(by_join, start=1)]
    quiet_before = now - QUIET_AFTER

    def key(pair: tuple[int, _Member]) -> tuple[Any, ...]:
        number, member = pair
        if not (reveal or member.shares):
            return (2, 0.0, number)
        quiet = member.explored and as_utc(member.last_seen) < quiet_before
        return (0 if quiet else 1, -as_utc(member.last_seen).timestamp(), number)

    return sorted(numbered, key=key)


@dataclass(frozen=True)
class RosterService:
    catalog: Catalog
    admin_ids: frozenset[int] = frozenset()

    async def page(
        self,
        session: AsyncSession,
        viewer: Viewer,
        cohort: Cohort,
        page: int,
        now: datetime | None = None,
    ) -> RosterPage | None:
        """One page of the cohort's roster (from 1); None past the last page. The caller has
        checked that the viewer may see the cohort."""
        now = now or utcnow()
        scope = Scope(viewer, cohort, self.admin_ids)
        members = await self._members(session, scope.students())
        ordered = _order(members, viewer.is_admin, now)
        pages = max(1, -(-len(ordered) // PAGE_SIZE))
        if not 1 <= page <= pages:
            return None
        start = (page - 1) * PAGE_SIZE
        chosen = ordered[start : start + PAGE_SIZE]
        entries = await self._entries(session, viewer, chosen, now)
        return RosterPage(cohort, entries, page, pages, len(ordered), start + 1)

    async def everyone(
        self, session: AsyncSession, scope: Scope, now: datetime | None = None
    ) -> list[RosterEntry]:
        """Every student of the scope, cohort by cohort (by name; students in no cohort
        last), each cohort in roster order: the CSV's rows."""
        now = now or utcnow()
        members = await self._members(session, scope.students())
        groups: dict[int | None, list[_Member]] = {}
        for member in members:
            groups.setdefault(member.cohort_id, []).append(member)
        ordered: list[tuple[int, _Member]] = []
        for cohort_id in sorted(
            groups, key=lambda found: (found is None, groups[found][0].cohort, found or 0)
        ):
            ordered += _order(groups[cohort_id], scope.viewer.is_admin, now)
        return await self._entries(session, scope.viewer, ordered, now, scope)

    async def everyone_page(
        self, session: AsyncSession, viewer: Viewer, page: int, now: datetime | None = None
    ) -> StudentsPage | None:
        """A page of every student (from 1; a page past either end reads as the nearest
        one), most recently active first, each as the admin's roster of their cohort shows
        them. None for a lead: their roster orders hidden students by number alone, and a
        list by last active would tell them who was active.

        One ordered LIMIT/OFFSET query picks the page (on the index on last_seen); the
        numbers and progress are read for the page's students only."""
        if not viewer.is_admin:
            return None
        now = now or utcnow()
        scope = Scope(viewer, None, self.admin_ids)
        counted = select(func.count()).select_from(Student).where(*scope.students())
        total = int(await session.scalar(counted) or 0)
        pages = max(1, -(-total // EVERYONE_PAGE_SIZE))
        page = min(max(page, 1), pages)
        members = await self._members(session, scope.students(), page)
        numbers = await self._numbers(session, scope, members)
        ordered = [(numbers[member.id], member) for member in members]
        entries = await self._entries(session, viewer, ordered, now)
        return StudentsPage(entries, page, pages, total)

    @staticmethod
    async def _numbers(
        session: AsyncSession, scope: Scope, members: list[_Member]
    ) -> dict[int, int]:
        """Each member's N of "Student N", as `_order` numbers their cohort (students in no
        cohort as one group, as the CSV does): counted over the members' cohorts only."""
        if not members:
            return {}
        cohort_ids = sorted({m.cohort_id for m in members if m.cohort_id is not None})
        groups = [Student.cohort_id.in_(cohort_ids)]
        if any(member.cohort_id is None for member in members):
            groups.append(Student.cohort_id.is_(None))
        numbered = (
            select(
                Student.id,
                func.row_number()
                .over(
                    partition_by=Student.cohort_id,
                    order_by=(
                        func.coalesce(Student.joined_cohort_at, Student.first_seen),
                        Student.id,
                    ),
                )
                .label("number"),
            )
            .where(*scope.students(), or_(*groups))
            .subquery()
        )
        rows = await session.execute(
            select(numbered.c.id, numbered.c.number).where(
                numbered.c.id.in_([member.id for member in members])
            )
        )
        return {student_id: int(number) for student_id, number in rows.all()}

    async def _members(
        self,
        session: AsyncSession,
        conditions: Iterable[ColumnElement[bool]],
        page: int | None = None,
    ) -> list[_Member]:
        """The students meeting `conditions`; given a `page` (from 1), only that page of
        EVERYONE_PAGE_SIZE, most recently active first."""
        query = (
            select(
                Student.id,
                Student.first_name,
                Student.shares,
                Student.cohort_id,
                Cohort.name,
                Student.joined_cohort_at,
                Student.first_seen,
                Student.last_seen,
                Student.explored_at.is_not(None),
                Student.career,
            )
            .outerjoin(Cohort, Cohort.id == Student.cohort_id)
            .where(*conditions)
        )
        if page is not None:
            query = (
                query.order_by(Student.last_seen.desc(), Student.id.desc())
                .limit(EVERYONE_PAGE_SIZE)
                .offset((page - 1) * EVERYONE_PAGE_SIZE)
            )
        rows = await session.execute(query)
        return [
            _Member(
                row[0],
                row[1],
                row[2] is True,
                row[3],
                row[4] or "",
                *row[5:8],
                bool(row[8]),
                row[9],
            )
            for row in rows.all()
        ]

    async def _entries(
        self,
        session: AsyncSession,
        viewer: Viewer,
        ordered: list[tuple[int, _Member]],
        now: datetime,
        scope: Scope | None = None,
    ) -> list[RosterEntry]:
        shown = [member for _, member in ordered if viewer.is_admin or member.shares]
        if scope is None or len(shown) <= PAGE_SIZE:
            ids = sorted(member.id for member in shown)

            def who(column: InstrumentedAttribute[int]) -> ColumnElement[bool]:
                return column.in_(ids)

        else:
            # A whole export: the scope as a subquery, not thousands of ids.
            conditions = scope.students()
            if not viewer.is_admin:
                conditions.append(Student.shares.is_(True))
            students = select(Student.id).where(*conditions)

            def who(column: InstrumentedAttribute[int]) -> ColumnElement[bool]:
                return column.in_(students)

        details = await self._progress(session, shown, who, now) if shown else {}
        return [
            RosterEntry(
                member.id,
                number,
                member.cohort_id,
                member.cohort,
                member.shares,
                member.first_name if member.shares else None,
                details.get(member.id),
            )
            for number, member in ordered
        ]

    async def _progress(
        self, session: AsyncSession, members: list[_Member], who: Who, now: datetime
    ) -> dict[int, Progress]:
        sections = await self._sections(session, who)
        checklists = await self._checklists(session, who)
        projects = await self._projects(session, who)
        tried = await self._tried(session, who)
        quiet_before = now - QUIET_AFTER
        found: dict[int, Progress] = {}
        for member in members:
            profile = self.catalog.get(member.career)
            slugs = tried.get(member.id, set()) | ({member.career} if member.career else set())
            found[member.id] = Progress(
                career=profile.title if profile else None,
                sections=sections.get(member.id, 0),
                sections_total=len(SECTIONS),
                checklist=self._checklist(profile, checklists.get(member.id)),
                project=self._project(profile, projects.get(member.id)),
                joined=member.joined,
                last_active=member.last_seen,
                quiet=member.explored and as_utc(member.last_seen) < quiet_before,
                careers=[p.title for p in self.catalog.by_area if p.slug in slugs],
            )
        return found

    @staticmethod
    def _current(table: Any) -> ColumnElement[bool]:
        """The row is about the student's current career."""
        return and_(Student.id == table.student_id, Student.career == table.career)

    async def _sections(self, session: AsyncSession, who: Who) -> dict[int, int]:
        # From the students out, by a left join: SQLite then looks each student's views up
        # in events (student_id, career, kind, name) instead of walking every view of those
        # screens by (kind, name): one cohort at 2,000,000 events, 0.07-0.1 s -> 1 ms.
        views = and_(self._current(Event), Event.kind == "view", Event.name.in_(SECTIONS))
        rows = await session.execute(
            select(Student.id, func.count(func.distinct(Event.name)))
            .select_from(Student)
            .outerjoin(Event, views)
            .where(who(Student.id))
            .group_by(Student.id)
        )
        return {student_id: int(count) for student_id, count in rows.all()}

    async def _checklists(
        self, session: AsyncSession, who: Who
    ) -> dict[int, list[tuple[int, datetime | None, dict[int, str]]]]:
        """Each student's attempts at their current career's checklist, oldest first: id,
        finished_at, answers."""
        attempts = (
            select(ChecklistAttempt.id)
            .join(Student, self._current(ChecklistAttempt))
            .where(who(ChecklistAttempt.student_id))
        )
        answers: dict[int, dict[int, str]] = {}
        rows = await session.execute(
            select(
                ChecklistAnswer.attempt_id, ChecklistAnswer.sign_index, ChecklistAnswer.answer
            ).where(ChecklistAnswer.attempt_id.in_(attempts))
        )
        for attempt_id, index, answer in rows.all():
            answers.setdefault(attempt_id, {})[index] = answer
        found: dict[int, list[tuple[int, datetime | None, dict[int, str]]]] = {}
        listed = await session.execute(
            select(ChecklistAttempt.student_id, ChecklistAttempt.id, ChecklistAttempt.finished_at)
            .where(ChecklistAttempt.id.in_(attempts))
            .order_by(ChecklistAttempt.id)
        )
        for student_id, attempt_id, finished_at in listed.all():
            found.setdefault(student_id, []).append(
                (attempt_id, finished_at, answers.get(attempt_id, {}))
            )
        return found

    @staticmethod
    def _checklist(
        profile: Profile | None, attempts: list[tuple[int, datetime | None, dict[int, str]]] | None
    ) -> ChecklistProgress | None:
        if profile is None or not attempts:
            return None
        finished = [attempt for attempt in attempts if attempt[1] is not None]
        open_ = [attempt for attempt in attempts if attempt[1] is None]
        newer = open_ and (not finished or open_[-1][0] > finished[-1][0])
        under_way = open_[-1] if newer else None
        leaning = result_of(profile, *finished[-1]).leaning if finished else None
        return ChecklistProgress(
            signs=len(signs_of(profile)),
            answered=len(under_way[2]) if under_way else None,
            finished=bool(finished),
            leaning=leaning,
        )

    async def _projects(
        self, session: AsyncSession, who: Who
    ) -> dict[int, tuple[datetime | None, set[str], list[tuple[str, bool, datetime]]]]:
        """Each student's project on their current career: finished_at, the steps done, and
        its entries (step id, whether it has a note, when)."""
        projects = (
            select(Project.id).join(Student, self._current(Project)).where(who(Project.student_id))
        )
        done: dict[int, set[str]] = {}
        rows = await session.execute(
            select(ProjectStepDone.project_id, ProjectStepDone.step_id).where(
                ProjectStepDone.project_id.in_(projects)
            )
        )
        for project_id, step_id in rows.all():
            done.setdefault(project_id, set()).add(step_id)
        entries: dict[int, list[tuple[str, bool, datetime]]] = {}
        logged = await session.execute(
            select(
                ProjectEntry.project_id,
                ProjectEntry.step_id,
                ProjectEntry.note.is_not(None),
                ProjectEntry.created_at,
            ).where(ProjectEntry.project_id.in_(projects))
        )
        for project_id, step_id, noted, created_at in logged.all():
            entries.setdefault(project_id, []).append((step_id, bool(noted), created_at))
        listed = await session.execute(
            select(Project.student_id, Project.id, Project.finished_at).where(
                Project.id.in_(projects)
            )
        )
        return {
            student_id: (finished_at, done.get(project_id, set()), entries.get(project_id, []))
            for student_id, project_id, finished_at in listed.all()
        }

    @staticmethod
    def _project(
        profile: Profile | None,
        project: tuple[datetime | None, set[str], list[tuple[str, bool, datetime]]] | None,
    ) -> ProjectProgress | None:
        if profile is None or project is None:
            return None
        finished_at, done, entries = project
        steps = profile.project.steps
        number, current = next(
            ((n, step) for n, step in enumerate(steps, start=1) if step.id not in done),
            (len(steps) + 1, None),
        )
        repeatable = {step.id for step in steps if step.repeatable}
        notes = [created_at for _, noted, created_at in entries if noted]
        return ProjectProgress(
            step=number,
            steps=len(steps),
            step_title=current.title if current else None,
            finished=current is None or finished_at is not None,
            iterations=sum(1 for step_id, _, _ in entries if step_id in repeatable),
            last_note=max(notes, key=as_utc) if notes else None,
        )

    @staticmethod
    async def _tried(session: AsyncSession, who: Who) -> dict[int, set[str]]:
        """As /progress counts them: careers chosen, or whose checklist or project began."""
        tried = union(
            select(Event.student_id, Event.name).where(
                Event.kind == "career", who(Event.student_id)
            ),
            select(ChecklistAttempt.student_id, ChecklistAttempt.career).where(
                who(ChecklistAttempt.student_id)
            ),
            select(Project.student_id, Project.career).where(who(Project.student_id)),
        )
        found: dict[int, set[str]] = {}
        for student_id, slug in (await session.execute(tried)).all():
            found.setdefault(student_id, set()).add(slug)
        return found
