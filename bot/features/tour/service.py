"""Moving a student through the dialog tree of their career."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.catalog import Catalog
from bot.content.models import Profile
from bot.db.models import Student, utcnow
from bot.db.rows import write_columns
from bot.engine.dialogs import Dialogs, Screen
from bot.features.feature import Getter
from bot.features.tour.nodes import CAREER_LIST_NODE, ENTRY_NODES, HOME_NODE
from bot.services.roles import role_of
from bot.services.students import record_event


@dataclass(frozen=True)
class TourService:
    catalog: Catalog
    dialogs: Dialogs
    getters: Mapping[str, Getter] = field(default_factory=dict)
    # ADMIN_IDS: who sees the nodes whose `roles` name admins.
    admin_ids: frozenset[int] = frozenset()

    def profile_of(self, student: Student) -> Profile | None:
        return self.catalog.get(student.career)

    def context(self, student: Student | None, **extra: Any) -> dict[str, Any]:
        return {
            "profile": self.profile_of(student) if student else None,
            "careers": self.catalog.by_area,
            "areas": self.catalog.areas,
            "student": {"first_name": student.first_name if student else ""},
            **extra,
        }

    def message(self, name: str, student: Student, **extra: Any) -> str:
        return self.dialogs.message(name, self.context(student, **extra))

    def entry_node(self, student: Student) -> str:
        """Where a student lands: their career's menu, or the career list when none is chosen
        (with a single career, there is nothing to choose: `show` picks it)."""
        if self.profile_of(student) is not None or self.catalog.only() is not None:
            return HOME_NODE
        return CAREER_LIST_NODE

    def knows(self, node_id: str) -> bool:
        return node_id in self.dialogs.nodes

    async def may_open(self, session: AsyncSession, student: Student, node_id: str) -> bool:
        """Whether the student may see the node: it exists, and its `roles`, if any, include
        theirs (looked up afresh, and only for nodes that name roles)."""
        if not self.dialogs.restricted(node_id):
            return self.knows(node_id)
        role = await role_of(session, student.telegram_id, self.admin_ids)
        return self.dialogs.open_to(node_id, role)

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

    def render(self, student: Student | None, node_id: str, **extra: Any) -> Screen:
        """A screen outside the student's journey (staff tools): no event, no position."""
        return self.dialogs.render(node_id, self.context(student, **extra))

    async def show(
        self, session: AsyncSession, student: Student, node_id: str, **extra: Any
    ) -> Screen:
        """The node's screen for this student; records the view and the position. Commits.

        Every way a node is opened (a button, a command, a deep link, an announcement's button,
        the stored position on resume) comes through here, so here is where a node's `roles`
        are enforced: a node the student may not see, or no longer exists, shows their entry
        node instead. Variables the node uses and the caller did not pass come from the
        getters; a node that needs what only an action can supply (a checklist question,
        say) is not reachable on its own, so the student lands on their entry node instead.
        """
        if not await self.may_open(session, student, node_id):
            node_id = self.entry_node(student)
        await self.ensure_career(session, student)
        profile = self.profile_of(student)
        if profile is None and self.dialogs.uses_profile(node_id):
            node_id = CAREER_LIST_NODE
        missing = [name for name in self.dialogs.nodes[node_id].uses if name not in extra]
        if any(name not in self.getters for name in missing):
            # The entry node may use variables of its own (the career list's reasons).
            node_id = self.entry_node(student)
            missing = [name for name in self.dialogs.nodes[node_id].uses if name not in extra]
        for name in missing:
            extra[name] = await self.getters[name](session, student, profile)
        screen = self.dialogs.render(node_id, self.context(student, **extra))
        position: dict[str, Any] = {"node": node_id}
        if student.explored_at is None and node_id not in ENTRY_NODES and profile is not None:
            position["explored_at"] = utcnow()
        await write_columns(session, student, **position)
        await record_event(session, student, "view", node_id)
        return screen
