"""The unanswered questions of a viewer's students, for leads and admins: texts only, never
who asked, newest first, a page at a time, personal details masked.

A lead gets the questions of their own cohorts' students who agreed to share: a question
is activity, and a non-sharing student's activity reaches leads only in the stats' funnel.
Admins get every student's. Names are masked with the asker's first name and those of the
asker's cohort, whom a question most likely names.
"""

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Student, UnansweredQuestion, as_utc
from bot.features.stats.scope import resolve_scope
from bot.services.masking import mask
from bot.services.roles import Viewer

PAGE_SIZE = 8
EVERYONE = "all"  # the scope of a page that covers all the viewer may see, not one cohort


@dataclass(frozen=True)
class Question:
    text: str
    asked_on: str  # the UTC date, ISO


@dataclass(frozen=True)
class UnansweredPage:
    scope: str  # a cohort id, or EVERYONE: what the page buttons carry
    cohort_id: int | None
    cohort_name: str | None
    exact: bool  # an admin's: every student, sharing or not
    questions: list[Question]
    page: int
    pages: int
    total: int

    @property
    def newer(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def older(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


def sample_page() -> UnansweredPage:
    questions = [Question("Can I do it from home? I'm [name], [phone]", "2026-11-30")]
    return UnansweredPage("1", 1, "Class 9B", False, questions, 1, 2, 9)


@dataclass(frozen=True)
class UnansweredService:
    admin_ids: frozenset[int]

    async def page(
        self, session: AsyncSession, viewer: Viewer, cohort_id: int | None, page: int
    ) -> UnansweredPage | None:
        """One page (from 1, kept within the pages there are); None when `cohort_id` is not
        the viewer's to see."""
        scope = await resolve_scope(session, viewer, cohort_id, self.admin_ids)
        if scope is None:
            return None
        askers = select(Student.id).where(*scope.students())
        if not viewer.is_admin:
            askers = askers.where(Student.shares.is_(True))
        mine = UnansweredQuestion.student_id.in_(askers)
        total = int(
            await session.scalar(select(func.count()).select_from(UnansweredQuestion).where(mine))
            or 0
        )
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(page, 1), pages)
        rows = (
            await session.execute(
                select(
                    UnansweredQuestion.text,
                    UnansweredQuestion.created_at,
                    Student.first_name,
                    Student.cohort_id,
                )
                .join(Student, Student.id == UnansweredQuestion.student_id)
                .where(mine)
                .order_by(UnansweredQuestion.created_at.desc(), UnansweredQuestion.id.desc())
                .offset((page - 1) * PAGE_SIZE)
                .limit(PAGE_SIZE)
            )
        ).all()
        classmates = await self._names(session, {row.cohort_id for row in rows if row.cohort_id})
        questions = [
            Question(
                mask(text, [first_name, *classmates.get(cohort or 0, [])]),
                as_utc(created_at).date().isoformat(),
            )
            for text, created_at, first_name, cohort in rows
        ]
        cohort = scope.cohort
        return UnansweredPage(
            str(cohort.id) if cohort is not None else EVERYONE,
            cohort.id if cohort is not None else None,
            cohort.name if cohort is not None else None,
            viewer.is_admin,
            questions,
            page,
            pages,
            total,
        )

    async def _names(self, session: AsyncSession, cohort_ids: set[int]) -> dict[int, list[str]]:
        """The first names of the students of each cohort."""
        if not cohort_ids:
            return {}
        rows = await session.execute(
            select(Student.cohort_id, Student.first_name).where(Student.cohort_id.in_(cohort_ids))
        )
        names: dict[int, list[str]] = defaultdict(list)
        for cohort_id, first_name in rows.all():
            if cohort_id is not None:
                names[cohort_id].append(first_name)
        return names
