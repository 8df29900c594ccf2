"""Moving a student through the dialog tree of their career."""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.catalog import Catalog
from bot.content.models import Profile
from bot.db.models import Student
from bot.engine.dialogs import Dialogs, Screen
from bot.services.students import record_event

CAREER_LIST_NODE = "careers"
HOME_NODE = "menu"


@dataclass(frozen=True)
class TourService:
    catalog: Catalog
    dialogs: Dialogs

    def profile_of(self, student: Student) -> Profile | None:
        return self.catalog.get(student.career)

    def context(self, student: Student, **extra: Any) -> dict[str, Any]:
        return {
            "profile": self.profile_of(student),
            "careers": list(self.catalog),
            "student": {"first_name": student.first_name},
            **extra,
        }

    def message(self, name: str, student: Student, **extra: Any) -> str:
        return self.dialogs.message(name, self.context(student, **extra))

    def entry_node(self, student: Student) -> str:
        """Where a student lands: their career's menu, or the career list when none is chosen."""
        if self.profile_of(student) is not None:
            return HOME_NODE
        return CAREER_LIST_NODE

    def knows(self, node_id: str) -> bool:
        return node_id in self.dialogs.nodes

    async def choose_career(self, session: AsyncSession, student: Student, slug: str) -> bool:
        """Switches the student to a career; False when the catalog has no such career."""
        if self.catalog.get(slug) is None:
            return False
        student.career = slug
        await record_event(session, student, "career", slug)
        return True

    async def ensure_career(self, session: AsyncSession, student: Student) -> None:
        """With a single career there is nothing to choose, so the student starts on it."""
        only = self.catalog.only()
        if self.profile_of(student) is None and only is not None:
            await self.choose_career(session, student, only.slug)

    async def show(
        self, session: AsyncSession, student: Student, node_id: str, **extra: Any
    ) -> Screen:
        """The node's screen for this student; records the view and the position. Commits."""
        if node_id != CAREER_LIST_NODE and self.profile_of(student) is None:
            node_id = CAREER_LIST_NODE
        screen = self.dialogs.render(node_id, self.context(student, **extra))
        student.node = node_id
        await record_event(session, student, "view", node_id)
        return screen
