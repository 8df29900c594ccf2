"""Usage stats for admins and program leads, computed with indexed SQL aggregates.

Nothing here loads one row per student into Python: every number is a COUNT or SUM that the
database works out, grouped at most by cohort, career, dialog node, intent or day.

A student may explore several careers, each with its own checklist attempts and project: the
funnel per career counts a student under every career they touched, while the funnels per
cohort and overall count each student once.

Leads see aggregates of their own cohorts only (see scope). Every breakdown counts the
students the viewer sees counted (`Scope.counted`: for leads, those who agreed to share), and
exactly; the others' activity and progress is counted only in each cohort's "haven't shared"
funnel, through `count_for` (see report).

The period: students active in it (a day of theirs in active_days) and their progress to
date, and how many started in it.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, case, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.content.catalog import Catalog
from bot.content.reasons import Reasons
from bot.db.models import (
    ActiveDay,
    CareerReason,
    ChecklistAttempt,
    Cohort,
    Event,
    Project,
    ProjectStepDone,
    QuizAttempt,
    Staff,
    Student,
    UnansweredQuestion,
    as_utc,
    utcnow,
)
from bot.features.checklist.service import signs_of
from bot.features.questions.service import FALLBACK
from bot.features.stats.report import (
    ACTIVE_WINDOWS,
    CohortPage,
    CohortStats,
    Count,
    Day,
    DropOff,
    Funnel,
    Group,
    QuizCounts,
    Ranked,
    ReasonGroup,
    StatsReport,
    Stop,
    count_for,
)
from bot.features.stats.scope import Scope, resolve_scope
from bot.features.tour.nodes import ENTRY_NODES
from bot.services.masking import mask
from bot.services.roles import Viewer

CHART_DAYS = 30  # the daily-active chart covers the period, at most this many days
TOP = 10
COHORT_LIMIT = 20
COHORT_PAGE = 25  # cohorts per page of the dashboard's overview
MATCHES_SHOWN = 5  # the careers the quiz matched most

EMPTY = (0, 0, 0, 0, 0)
# A period as days: the first and the last (UTC), None for all time.
Window = tuple[date, date] | None
# A period as moments: from and to, None for all time.
Span = tuple[datetime, datetime] | None

if TYPE_CHECKING:
    from bot.engine.dialogs import Dialogs


def _sum(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@dataclass(frozen=True)
class StatsService:
    catalog: Catalog
    admin_ids: frozenset[int] = frozenset()
    reasons: Reasons = field(default_factory=Reasons)
    # Node id → the screen's title (the dialogs' `title:`), for "where they are now".
    screens: Mapping[str, str] = field(default_factory=dict)

    async def scope(
        self, session: AsyncSession, viewer: Viewer, cohort_id: int | None
    ) -> Scope | None:
        return await resolve_scope(session, viewer, cohort_id, self.admin_ids)

    async def report(
        self,
        session: AsyncSession,
        viewer: Viewer,
        cohort_id: int | None,
        days: int | None,
        now: datetime | None = None,
    ) -> StatsReport | None:
        """The stats the viewer may see, for the period of `days` (None: all time) before
        `now`; None when `cohort_id` is not one of the viewer's cohorts."""
        scope = await self.scope(session, viewer, cohort_id)
        if scope is None:
            return None
        now = as_utc(now or utcnow())
        since = None if days is None else now - timedelta(days=days)
        window = _window(days, now)
        exact = viewer.is_admin

        counted = scope.counted()
        # The moments the period spans: a range the dashboard picks may end in the past.
        span = None if since is None else (since, now)
        started = counted
        if since is not None:
            started = [*counted, Student.first_seen >= since, Student.first_seen <= now]
        in_period = [*counted, *_active_in(window)]

        groups = await self._funnel_groups(session, in_period)
        funnel = _funnel(_add(groups.values()))
        members, sharing = await self._membership(session, scope)
        cohorts, more = await self._cohorts(session, scope, groups, window, exact)
        careers = self._careers(await self._career_funnels(session, in_period), groups)
        career_reasons, cohort_reasons = await self._reasons(session, in_period, cohorts)
        return StatsReport(
            exact=exact,
            cohort_id=scope.cohort.id if scope.cohort else None,
            cohort_name=scope.cohort.name if scope.cohort else None,
            cohort_count=await self._cohort_count(session, scope),
            days=days,
            now=now,
            members=members,
            sharing=sharing,
            started=Count(await self._count(session, started)),
            active=await self._active(session, counted, now),
            funnel=funnel,
            nodes=await self._nodes(session, in_period),
            intents=await self._intents(session, scope, span),
            unanswered=Count(await self._unanswered_total(session, scope, span)),
            unanswered_top=await self._unanswered_top(session, scope, span) if exact else [],
            cohorts=cohorts,
            cohorts_more=more,
            careers=careers,
            daily=await self._daily(session, scope, now, days),
            quiz=await self._quiz(session, in_period),
            career_reasons=career_reasons,
            cohort_reasons=cohort_reasons,
            dropoff=await self._dropoff(session, in_period),
        )

    async def cohort_page(
        self,
        session: AsyncSession,
        viewer: Viewer,
        page: int,
        days: int | None,
        now: datetime | None = None,
    ) -> CohortPage:
        """A page of the viewer's cohorts, newest first, with each one's funnel over the
        period: only that page's students are counted, so a page costs the same with 20
        cohorts or 2,000."""
        scope = Scope(viewer, None, self.admin_ids)
        now = as_utc(now or utcnow())
        window = _window(days, now)
        total = await self._cohort_count(session, scope)
        pages = max(1, -(-total // COHORT_PAGE))
        page = min(max(page, 1), pages)
        rows = await session.execute(
            select(Cohort.id, Staff.name)
            .outerjoin(Staff, Staff.telegram_id == Cohort.lead_id)
            .where(*scope.cohorts())
            .order_by(Cohort.id.desc())
            .limit(COHORT_PAGE)
            .offset((page - 1) * COHORT_PAGE)
        )
        leads: dict[int, str | None] = {cohort_id: name for cohort_id, name in rows.all()}
        listed = list(leads)
        in_period = [
            *scope.counted(),
            Student.cohort_id.in_(listed),
            *_active_in(window),
        ]
        totals = _per_cohort(await self._funnel_groups(session, in_period)) if listed else {}
        groups = await self._groups(session, scope, listed, totals, window, viewer.is_admin)
        return CohortPage(
            exact=viewer.is_admin,
            days=days,
            now=now,
            groups=groups,
            leads=leads if viewer.is_admin else {},
            page=page,
            pages=pages,
            total=total,
        )

    async def cohort_stats(
        self,
        session: AsyncSession,
        scope: Scope,
        days: int | None,
        now: datetime | None = None,
    ) -> CohortStats:
        """The part of the report one cohort's page shows (see CohortStats), without the
        rest's queries (careers, questions, quiz, reasons, days). `scope`: the viewer's, of
        one cohort (see `scope`)."""
        if scope.cohort is None:
            raise ValueError("cohort_stats is about one cohort")
        now = as_utc(now or utcnow())
        window = _window(days, now)
        in_period = [*scope.counted(), *_active_in(window)]
        totals = _per_cohort(await self._funnel_groups(session, in_period))
        exact = scope.viewer.is_admin
        [group] = await self._groups(session, scope, [scope.cohort.id], totals, window, exact)
        return CohortStats(
            exact=exact,
            days=days,
            now=now,
            group=group,
            nodes=await self._nodes(session, in_period),
            dropoff=await self._dropoff(session, in_period),
        )

    async def _count(self, session: AsyncSession, conditions: list[ColumnElement[bool]]) -> int:
        query = select(func.count()).select_from(Student).where(*conditions)
        return int(await session.scalar(query) or 0)

    async def _membership(self, session: AsyncSession, scope: Scope) -> tuple[int, int]:
        """Students in scope, and of them those who agreed to share: never hidden."""
        query = select(func.count(), _sum(Student.shares.is_(True))).where(*scope.students())
        members, sharing = (await session.execute(query)).one()
        return int(members), int(sharing)

    async def _quiz(self, session: AsyncSession, started: list[ColumnElement[bool]]) -> QuizCounts:
        rows = await session.execute(
            select(QuizAttempt.student_id, QuizAttempt.finished_at, QuizAttempt.matches)
            .join(Student, Student.id == QuizAttempt.student_id)
            .where(*started)
        )
        began: set[int] = set()
        finished: set[int] = set()
        matched: set[tuple[int, str]] = set()
        for student_id, finished_at, matches in rows.all():
            began.add(student_id)
            if finished_at is not None:
                finished.add(student_id)
                matched.update((student_id, slug) for slug in (matches or "").split(",") if slug)
        by_career = Counter(slug for _, slug in matched)
        top = sorted(by_career.items(), key=lambda item: (-item[1], item[0]))[:MATCHES_SHOWN]
        ranked = [Ranked(self._career_name(slug), Count(count)) for slug, count in top]
        return QuizCounts(Count(len(began)), Count(len(finished)), ranked)

    async def _funnel_groups(
        self, session: AsyncSession, started: list[ColumnElement[bool]]
    ) -> dict[tuple[int | None, str | None], tuple[int, ...]]:
        """The funnel of the students in `started` (those active in the period), per
        (cohort, career).

        Each later step is counted from its own (much smaller) table joined to the students,
        rather than probing every student for attempts and projects.
        """
        # Career first: SQLite, without statistics, would otherwise walk the whole cohort
        # index to group, instead of using the first_seen range or the smaller table.
        key = (Student.career, Student.cohort_id)
        groups: dict[tuple[int | None, str | None], list[int]] = {}

        def add(rows: Any, offset: int) -> None:
            for career, cohort_id, *values in rows:
                slot = groups.setdefault((cohort_id, career), [0, 0, 0, 0, 0])
                for index, value in enumerate(values):
                    slot[offset + index] = int(value or 0)

        students = select(*key, func.count(), func.count(Student.explored_at))
        add(await session.execute(students.where(*started).group_by(*key)), 0)
        checklist = (
            select(*key, func.count(func.distinct(ChecklistAttempt.student_id)))
            .join(Student, Student.id == ChecklistAttempt.student_id)
            .where(ChecklistAttempt.finished_at.is_not(None), *started)
            .group_by(*key)
        )
        add(await session.execute(checklist), 2)
        finished = case((Project.finished_at.is_not(None), Project.student_id))
        projects = (
            select(
                *key,
                func.count(func.distinct(Project.student_id)),
                func.count(func.distinct(finished)),
            )
            .join(Student, Student.id == Project.student_id)
            .where(*started)
            .group_by(*key)
        )
        add(await session.execute(projects), 3)
        return {group: tuple(values) for group, values in groups.items()}

    async def _cohort_count(self, session: AsyncSession, scope: Scope) -> int:
        query = select(func.count()).select_from(Cohort).where(*scope.cohorts())
        return int(await session.scalar(query) or 0)

    async def _cohorts(
        self,
        session: AsyncSession,
        scope: Scope,
        groups: dict[tuple[int | None, str | None], tuple[int, ...]],
        window: Window,
        exact: bool,
    ) -> tuple[list[Group], int]:
        """The funnel per cohort: the busiest first (by students counted), then the newest of
        the rest, up to COHORT_LIMIT; students of no cohort last (admins only). Each with its
        membership and the funnel of its students who haven't shared."""
        totals = _per_cohort(groups)
        busiest = sorted(
            (cohort_id for cohort_id in totals if cohort_id is not None),
            key=lambda cohort_id: (-totals[cohort_id][0], -cohort_id),
        )
        listed = busiest[:COHORT_LIMIT]
        if len(listed) < COHORT_LIMIT:
            newest = await session.execute(
                select(Cohort.id)
                .where(*scope.cohorts(), Cohort.id.not_in(listed))
                .order_by(Cohort.id.desc())
                .limit(COHORT_LIMIT - len(listed))
            )
            listed.extend(newest.scalars())
        result = await self._groups(session, scope, listed, totals, window, exact)
        if None in totals:
            result.append(Group(None, None, _funnel(totals[None])))
        return result, max(0, len(busiest) - len(listed))

    async def _groups(
        self,
        session: AsyncSession,
        scope: Scope,
        listed: list[int],
        totals: dict[int | None, tuple[int, ...]],
        window: Window,
        exact: bool,
    ) -> list[Group]:
        """The `listed` cohorts' groups, in that order: each one's funnel (from `totals`),
        membership and the funnel of its students who haven't shared."""
        names: dict[int, str] = {}
        members: dict[int, tuple[int, int]] = {}
        unshared: dict[int | None, tuple[int, ...]] = {}
        if listed:
            rows = await session.execute(
                select(Cohort.id, Cohort.name).where(Cohort.id.in_(listed))
            )
            names = {cohort_id: name for cohort_id, name in rows.all()}
            listed_students = [*scope.students(), Student.cohort_id.in_(listed)]
            counts = await session.execute(
                select(Student.cohort_id, func.count(), _sum(Student.shares.is_(True)))
                .where(*listed_students)
                .group_by(Student.cohort_id)
            )
            members = {cohort_id: (int(n), int(s)) for cohort_id, n, s in counts.all()}
            # For a lead, the non-sharers' funnel is all time whatever the period: two
            # periods' exact figures (9 all time, 7 in 30 days) would otherwise give away the
            # small difference between them.
            hidden = [
                *scope.unshared(),
                Student.cohort_id.in_(listed),
                *(_active_in(window) if exact else ()),
            ]
            for (cohort_id, _career), values in (
                await self._funnel_groups(session, hidden)
            ).items():
                unshared[cohort_id] = _add((unshared.get(cohort_id, EMPTY), values))
        result = []
        for cohort_id in listed:
            joined, sharing = members.get(cohort_id, (0, 0))
            others = tuple(count_for(value, exact) for value in unshared.get(cohort_id, EMPTY))
            result.append(
                Group(
                    cohort_id,
                    names.get(cohort_id),
                    _funnel(totals.get(cohort_id, EMPTY)),
                    joined,
                    sharing,
                    Funnel(*others),
                )
            )
        return result

    async def _career_funnels(
        self, session: AsyncSession, started: list[ColumnElement[bool]]
    ) -> dict[str, list[int]]:
        """The funnel per career of the students active in the period: a student counts
        under every career they touched (an event of it, or their current career), and the
        later steps are that career's tour views, finished attempts and project."""
        in_period = select(Student.id).where(*started)
        # The same test that sets Student.explored_at, per career: a view beyond the entry
        # screens while on that career.
        toured = case(
            (and_(Event.kind == "view", Event.name.not_in(sorted(ENTRY_NODES))), 1), else_=0
        )
        from_events = (
            select(
                Event.student_id.label("student_id"),
                Event.career.label("career"),
                func.max(toured).label("toured"),
            )
            .where(Event.career.is_not(None), Event.student_id.in_(in_period))
            .group_by(Event.student_id, Event.career)
        )
        # Their current career too, should an older row have no event of it.
        current = select(Student.id, Student.career, literal(0)).where(
            Student.career.is_not(None), *started
        )
        pairs = union_all(from_events, current).subquery()
        per_student = (
            select(pairs.c.career.label("career"), func.max(pairs.c.toured).label("toured"))
            .group_by(pairs.c.student_id, pairs.c.career)
            .subquery()
        )
        funnels: dict[str, list[int]] = {}

        def add(rows: Any, offset: int) -> None:
            for career, *values in rows:
                slot = funnels.setdefault(career, [0, 0, 0, 0, 0])
                for index, value in enumerate(values):
                    slot[offset + index] = int(value or 0)

        touched = select(
            per_student.c.career, func.count(), func.sum(per_student.c.toured)
        ).group_by(per_student.c.career)
        add(await session.execute(touched), 0)
        checklist = (
            select(ChecklistAttempt.career, func.count(func.distinct(ChecklistAttempt.student_id)))
            .where(
                ChecklistAttempt.finished_at.is_not(None),
                ChecklistAttempt.student_id.in_(in_period),
            )
            .group_by(ChecklistAttempt.career)
        )
        add(await session.execute(checklist), 2)
        # One project per student and career: no DISTINCT needed.
        projects = (
            select(Project.career, func.count(), func.count(Project.finished_at))
            .where(Project.student_id.in_(in_period))
            .group_by(Project.career)
        )
        add(await session.execute(projects), 3)
        return funnels

    def _careers(
        self,
        funnels: dict[str, list[int]],
        groups: dict[tuple[int | None, str | None], tuple[int, ...]],
    ) -> list[Group]:
        """The careers students explored, most explored first, then by title; students with
        no career yet last."""
        listed = []
        for career, values in funnels.items():
            listed.append(Group(None, self._career_name(career), _funnel(tuple(values))))
        listed.sort(key=lambda group: (-(group.funnel.active.exact or 0), group.name or ""))
        none = _add(values for (_cohort, career), values in groups.items() if career is None)
        if none[0]:
            listed.append(Group(None, None, _funnel(none)))
        return listed

    async def _reasons(
        self,
        session: AsyncSession,
        started: list[ColumnElement[bool]],
        cohorts: list[Group],
    ) -> tuple[list[ReasonGroup], list[ReasonGroup]]:
        """The reasons the students active in the period gave, per career (by title) and
        per cohort listed (in the report's order): students per reason, each counted once
        per career or cohort whichever moment they gave it at."""
        students = func.count(func.distinct(CareerReason.student_id))
        in_period = select(Student.id).where(*started)
        per_career = (
            select(CareerReason.career, CareerReason.reason, students)
            .where(CareerReason.student_id.in_(in_period))
            .group_by(CareerReason.career, CareerReason.reason)
        )
        careers: dict[str, dict[str, int]] = {}
        for career, reason, value in await session.execute(per_career):
            careers.setdefault(career, {})[reason] = int(value)
        per_cohort = (
            select(Student.cohort_id, CareerReason.reason, students)
            .join(Student, Student.id == CareerReason.student_id)
            .where(*started)
            .group_by(Student.cohort_id, CareerReason.reason)
        )
        found: dict[int | None, dict[str, int]] = {}
        for cohort_id, reason, value in await session.execute(per_cohort):
            found.setdefault(cohort_id, {})[reason] = int(value)
        by_career = sorted(
            (
                ReasonGroup(self._career_name(career), self._reason_counts(counts))
                for career, counts in careers.items()
            ),
            key=lambda group: group.name or "",
        )
        by_cohort = [
            ReasonGroup(group.name, self._reason_counts(found[group.id]))
            for group in cohorts
            if group.id in found
        ]
        return by_career, by_cohort

    def _career_name(self, slug: str) -> str:
        """A career removed from the catalog still has its students: shown by its slug."""
        profile = self.catalog.get(slug)
        return profile.title if profile else slug

    def _reason_counts(self, counts: dict[str, int]) -> list[Ranked]:
        """In the order of content/reasons.yaml; ids since removed after them, by id."""
        order = {reason.id: index for index, reason in enumerate(self.reasons.choices)}
        ids = sorted(counts, key=lambda reason: (order.get(reason, len(order)), reason))
        return [Ranked(self.reasons.label(reason), Count(counts[reason])) for reason in ids]

    async def _active(
        self, session: AsyncSession, counted: list[ColumnElement[bool]], now: datetime
    ) -> dict[int, Count]:
        columns = [_sum(Student.last_seen >= now - timedelta(days=d)) for d in ACTIVE_WINDOWS]
        row = (await session.execute(select(*columns).where(*counted))).one()
        return {days: Count(int(value)) for days, value in zip(ACTIVE_WINDOWS, row, strict=True)}

    async def _nodes(
        self, session: AsyncSession, started: list[ColumnElement[bool]]
    ) -> list[Ranked]:
        """Where the students active in the period are now: the title of their last screen.
        Screens without a title (or since removed) count together as "" (other screens);
        None: no screen yet. Several screens may share a title."""
        rows = await session.execute(
            select(Student.node, func.count()).where(*started).group_by(Student.node)
        )
        by_title: Counter[str | None] = Counter()
        for node, value in rows.all():
            by_title[None if node is None else self.screens.get(node, "")] += int(value)
        ranked = sorted(by_title.items(), key=lambda item: (-item[1], item[0] or "~"))
        return [Ranked(title, Count(value)) for title, value in ranked[:TOP]]

    async def _intents(self, session: AsyncSession, scope: Scope, span: Span) -> list[Ranked]:
        total = func.count().label("total")
        conditions = [
            Event.kind == "question",
            Event.name != FALLBACK,
            scope.counted_rows_of(Event.student_id),
        ]
        if span is not None:
            conditions.append(Event.created_at.between(*span))
        query = (
            select(Event.name, total)
            .where(*conditions)
            .group_by(Event.name)
            .order_by(total.desc(), Event.name)
            .limit(TOP)
        )
        rows = await session.execute(query)
        return [Ranked(name, Count(int(value))) for name, value in rows.all()]

    def _unanswered_where(self, scope: Scope, span: Span) -> list[ColumnElement[bool]]:
        conditions = [scope.counted_rows_of(UnansweredQuestion.student_id)]
        if span is not None:
            conditions.append(UnansweredQuestion.created_at.between(*span))
        return conditions

    async def _unanswered_total(self, session: AsyncSession, scope: Scope, span: Span) -> int:
        query = select(func.count()).select_from(UnansweredQuestion)
        return int(await session.scalar(query.where(*self._unanswered_where(scope, span))) or 0)

    async def _unanswered_top(
        self, session: AsyncSession, scope: Scope, span: Span
    ) -> list[Ranked]:
        """The most frequent texts (case aside), personal details masked; only admins see
        what students typed."""
        key = func.lower(UnansweredQuestion.text)
        total = func.count().label("total")
        query = (
            select(func.min(UnansweredQuestion.text), total)
            .where(*self._unanswered_where(scope, span))
            .group_by(key)
            .order_by(total.desc(), key)
            .limit(TOP)
        )
        rows = await session.execute(query)
        return [Ranked(mask(text), Count(int(value))) for text, value in rows.all()]

    async def _daily(
        self, session: AsyncSession, scope: Scope, now: datetime, days: int | None
    ) -> list[Day]:
        """Students counted active on each day of the period (at most CHART_DAYS), today
        included, from the day the earliest cohort in scope was made: none before it."""
        span = min(days or CHART_DAYS, CHART_DAYS)
        first = now.date() - timedelta(days=span - 1)
        if not scope.everything:
            created = await session.scalar(
                select(func.min(Cohort.created_at)).where(*scope.cohorts())
            )
            if created is not None:
                first = min(max(first, as_utc(created).date()), now.date())
        total = func.count().label("total")
        query = (
            select(ActiveDay.day, total)
            .where(ActiveDay.day >= first, scope.counted_rows_of(ActiveDay.student_id))
            .group_by(ActiveDay.day)
        )
        found = {day: int(value) for day, value in (await session.execute(query)).all()}
        count = (now.date() - first).days + 1
        return [
            Day(day, Count(found.get(day, 0)))
            for day in (first + timedelta(days=offset) for offset in range(count))
        ]

    async def _dropoff(
        self, session: AsyncSession, started: list[ColumnElement[bool]]
    ) -> list[DropOff]:
        """Per career, of the students active in the period: at which sign those who began
        its checklist and never finished it stopped (their latest attempt's cursor), and at
        which step those with an unfinished project are (steps are done in order)."""
        in_period = select(Student.id).where(*started)
        latest = (
            select(func.max(ChecklistAttempt.id))
            .where(
                ChecklistAttempt.finished_at.is_(None), ChecklistAttempt.student_id.in_(in_period)
            )
            .group_by(ChecklistAttempt.student_id, ChecklistAttempt.career)
        )
        done = aliased(ChecklistAttempt)
        finished_it = (
            select(done.id)
            .where(
                done.student_id == ChecklistAttempt.student_id,
                done.career == ChecklistAttempt.career,
                done.finished_at.is_not(None),
            )
            .exists()
        )
        signs = await session.execute(
            select(ChecklistAttempt.career, ChecklistAttempt.cursor, func.count())
            .where(ChecklistAttempt.id.in_(latest), ~finished_it)
            .group_by(ChecklistAttempt.career, ChecklistAttempt.cursor)
        )
        steps_done = (
            select(Project.career.label("career"), func.count(ProjectStepDone.id).label("done"))
            .outerjoin(ProjectStepDone, ProjectStepDone.project_id == Project.id)
            .where(Project.finished_at.is_(None), Project.student_id.in_(in_period))
            .group_by(Project.id, Project.career)
            .subquery()
        )
        steps = await session.execute(
            select(steps_done.c.career, steps_done.c.done, func.count()).group_by(
                steps_done.c.career, steps_done.c.done
            )
        )
        checklist: dict[str, Counter[int]] = {}
        for career, cursor, value in signs.all():
            checklist.setdefault(career, Counter())[int(cursor)] += int(value)
        project: dict[str, Counter[int]] = {}
        for career, reached, value in steps.all():
            project.setdefault(career, Counter())[int(reached)] += int(value)
        found = [
            DropOff(
                self._career_name(career),
                self._sign_stops(career, checklist.get(career, Counter())),
                self._step_stops(career, project.get(career, Counter())),
            )
            for career in set(checklist) | set(project)
        ]
        return sorted(found, key=lambda group: group.name)

    def _sign_stops(self, career: str, cursors: Counter[int]) -> list[Stop]:
        """The sign each stopped at: the one after those answered (the cursor)."""
        profile = self.catalog.get(career)
        signs = signs_of(profile) if profile else []
        total = len(signs) or (max(cursors, default=0) + 1)
        stopped: Counter[int] = Counter()
        for cursor, value in cursors.items():
            stopped[min(cursor, total - 1)] += value
        return [
            Stop(index + 1, total, signs[index].text if signs else None, Count(value))
            for index, value in sorted(stopped.items())
        ]

    def _step_stops(self, career: str, reached: Counter[int]) -> list[Stop]:
        """The step each is at: the one after those done."""
        profile = self.catalog.get(career)
        titles = [step.title for step in profile.project.steps] if profile else []
        total = len(titles) or (max(reached, default=0) + 1)
        at: Counter[int] = Counter()
        for done, value in reached.items():
            at[min(done, total - 1)] += value
        return [
            Stop(index + 1, total, titles[index] if titles else None, Count(value))
            for index, value in sorted(at.items())
        ]


def _add(rows: Iterable[tuple[int, ...]]) -> tuple[int, ...]:
    totals = [0, 0, 0, 0, 0]
    for row in rows:
        for index, value in enumerate(row):
            totals[index] += value
    return tuple(totals)


def _per_cohort(
    groups: dict[tuple[int | None, str | None], tuple[int, ...]],
) -> dict[int | None, tuple[int, ...]]:
    """The funnel groups per (cohort, career) added up per cohort."""
    per_cohort: dict[int | None, list[tuple[int, ...]]] = {}
    for (cohort_id, _career), values in groups.items():
        per_cohort.setdefault(cohort_id, []).append(values)
    return {cohort_id: _add(values) for cohort_id, values in per_cohort.items()}


def _funnel(values: tuple[int, ...]) -> Funnel:
    return Funnel(*(Count(value) for value in values))


def _window(days: int | None, now: datetime) -> "Window":
    """The UTC days of a period of `days` ending with `now`'s day; None: all time."""
    return None if days is None else (now.date() - timedelta(days=days - 1), now.date())


def _active_in(window: "Window") -> list[ColumnElement[bool]]:
    """Conditions on Student: active on a day of `window` (None: all time, no condition). The
    last day bounds it too: a range the dashboard picks may end in the past."""
    if window is None:
        return []
    first, last = window
    active = select(ActiveDay.student_id).where(ActiveDay.day >= first, ActiveDay.day <= last)
    return [Student.id.in_(active)]


def screen_titles(dialogs: "Dialogs") -> dict[str, str]:
    """Node id → the screen's `title:` in the dialogs, for "where they are now"."""
    return {node_id: node.title for node_id, node in dialogs.nodes.items() if node.title}
