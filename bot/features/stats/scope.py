"""Who may see what: the students a viewer's stats and exports cover.

Leads see their own cohorts only; admins see every cohort. Staff are never counted as students.
"""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.db.models import Cohort, Staff, Student
from bot.services.roles import Viewer


@dataclass(frozen=True)
class Scope:
    """Which students a viewer's stats and exports cover, as SQL conditions."""

    viewer: Viewer
    cohort: Cohort | None
    admin_ids: frozenset[int]

    @property
    def everything(self) -> bool:
        return self.viewer.is_admin and self.cohort is None

    def cohorts(self) -> list[ColumnElement[bool]]:
        """Conditions on Cohort: the cohorts in scope."""
        if self.cohort is not None:
            return [Cohort.id == self.cohort.id]
        if self.viewer.is_admin:
            return []
        return [Cohort.lead_id == self.viewer.telegram_id]

    def students(self) -> list[ColumnElement[bool]]:
        """Conditions on Student: the students in scope. Staff are never counted as students."""
        staff = Student.telegram_id.not_in(select(Staff.telegram_id))
        conditions: list[ColumnElement[bool]] = [staff]
        if self.admin_ids:
            conditions.append(Student.telegram_id.not_in(sorted(self.admin_ids)))
        if self.cohort is not None:
            conditions.append(Student.cohort_id == self.cohort.id)
        elif not self.viewer.is_admin:
            mine = select(Cohort.id).where(Cohort.lead_id == self.viewer.telegram_id)
            conditions.append(Student.cohort_id.in_(mine))
        return conditions

    def counted(self) -> list[ColumnElement[bool]]:
        """Conditions on Student: the students whose activity and progress the viewer sees
        counted exactly. Leads: those who agreed to share it; admins: everyone."""
        if self.viewer.is_admin:
            return self.students()
        return [*self.students(), Student.shares.is_(True)]

    def unshared(self) -> list[ColumnElement[bool]]:
        """Conditions on Student: the students in scope who haven't agreed to share."""
        return [*self.students(), Student.shares.is_not(True)]

    def counted_rows_of(self, column: InstrumentedAttribute[int]) -> ColumnElement[bool]:
        """A condition on another table's `student_id` column: the row is about a student
        the viewer sees counted (see `counted`)."""
        if self.viewer.is_admin:
            return self.rows_of(column)
        return column.in_(select(Student.id).where(*self.counted()))

    def rows_of(self, column: InstrumentedAttribute[int]) -> ColumnElement[bool]:
        """A condition on another table's `student_id` column: the row is about a student in
        scope. For everything, it only leaves out the few staff, without a join."""
        if self.everything:
            staff = [Student.telegram_id.in_(select(Staff.telegram_id))]
            if self.admin_ids:
                staff.append(Student.telegram_id.in_(sorted(self.admin_ids)))
            return column.not_in(select(Student.id).where(or_(*staff)))
        return column.in_(select(Student.id).where(*self.students()))


async def resolve_scope(
    session: AsyncSession, viewer: Viewer, cohort_id: int | None, admin_ids: frozenset[int]
) -> Scope | None:
    """The viewer's scope; None when `cohort_id` is not theirs to see (or does not exist)."""
    cohort = None
    if cohort_id is not None:
        cohort = await session.get(Cohort, cohort_id)
        if cohort is None or not viewer.owns(cohort):
            return None
    return Scope(viewer, cohort, admin_ids)
