"""Cohorts: a lead's class, joined through an invite link, one cohort per student at a time."""

import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import segno
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.catalog import Catalog
from bot.db.models import Cohort, CohortMove, Staff, Student, as_utc, utcnow
from bot.safe_text import has_visible_text
from bot.services.roles import Role, Viewer, role_of
from bot.services.students import record_event

# 16 URL-safe characters: unguessable, and well within the 64 a deep link may carry.
CODE_BYTES = 12
NAME_LIMIT = 64


class JoinOutcome(StrEnum):
    JOINED = "joined"
    MOVED = "moved"
    ALREADY = "already"
    UNKNOWN = "unknown"
    CLOSED = "closed"
    EXPIRED = "expired"
    # In another cohort already: asked first, moved only once they say so.
    SWITCH = "switch"
    # A lead or admin opening an invite link (their own, testing it): never enrolled.
    STAFF = "staff"


@dataclass(frozen=True)
class SwitchOffer:
    """A student in one cohort who opened another's link: where they are, where it leads."""

    current: Cohort | None
    offered: Cohort


@dataclass(frozen=True)
class CohortView:
    """A cohort as its lead sees it (and, for an announcement's signature, its students)."""

    cohort: Cohort
    link: str = ""
    members: int = 0
    career_title: str | None = None
    # For an admin, who may hand the cohort to another lead: its lead's name ("" when its
    # lead is no longer on staff). None on a lead's own screen.
    lead: str | None = None


@dataclass(frozen=True)
class Handover:
    """An admin handing a cohort to another lead: the cohort, the leads it may go to
    (everyone on staff but its lead), and the one chosen, once chosen."""

    cohort: CohortView
    leads: list[Staff]
    to: Staff | None = None


@dataclass(frozen=True)
class CohortSummary:
    cohort: Cohort
    members: int
    # For an admin's list, which holds every lead's cohorts: whose it is (the lead's name; ""
    # for a lead no longer on staff). None on a lead's own list.
    lead: str | None = None


def clean_name(text: str | None) -> str | None:
    """The name as stored, or None: empty, only invisible characters, or too long."""
    name = " ".join((text or "").split())
    return name if 0 < len(name) <= NAME_LIMIT and has_visible_text(name) else None


def invite_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


def qr_png(link: str) -> bytes:
    """A QR code of the link, large enough for a classroom screen or a printed handout."""
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=12, border=4)
    return buffer.getvalue()


async def hand_cohort(session: AsyncSession, cohort: Cohort, to: Staff) -> int:
    """Makes `to` the cohort's lead (in the bot or with `careerbot cohort hand`); returns
    the former lead's id. Commits."""
    former = cohort.lead_id
    cohort.lead_id = to.telegram_id
    await session.commit()
    return former


async def staff_member(session: AsyncSession, telegram_id: int) -> Staff | None:
    return await session.scalar(select(Staff).where(Staff.telegram_id == telegram_id))


@dataclass(frozen=True)
class CohortService:
    catalog: Catalog
    link_days: int = 0
    # ADMIN_IDS: staff, who are never enrolled by an invite link.
    admin_ids: frozenset[int] = frozenset()

    async def create(
        self, session: AsyncSession, viewer: Viewer, name: str, career: str | None
    ) -> Cohort:
        if career is not None and self.catalog.get(career) is None:
            career = None
        cohort = Cohort(
            code=secrets.token_urlsafe(CODE_BYTES),
            name=name[:NAME_LIMIT],
            career=career,
            lead_id=viewer.telegram_id,
            expires_at=utcnow() + timedelta(days=self.link_days) if self.link_days else None,
        )
        session.add(cohort)
        await session.commit()
        return cohort

    async def visible(self, session: AsyncSession, viewer: Viewer) -> list[CohortSummary]:
        """The viewer's cohorts (an admin's: all), newest first, with member counts."""
        members = (
            select(Student.cohort_id, func.count().label("members"))
            .where(Student.cohort_id.is_not(None))
            .group_by(Student.cohort_id)
            .subquery()
        )
        query = (
            select(Cohort, func.coalesce(members.c.members, 0), Staff.name)
            .outerjoin(members, members.c.cohort_id == Cohort.id)
            .outerjoin(Staff, Staff.telegram_id == Cohort.lead_id)
            .order_by(Cohort.id.desc())
        )
        if not viewer.is_admin:
            query = query.where(Cohort.lead_id == viewer.telegram_id)
        rows = await session.execute(query)
        return [
            CohortSummary(cohort, count, (lead or "") if viewer.is_admin else None)
            for cohort, count, lead in rows.all()
        ]

    async def get(self, session: AsyncSession, viewer: Viewer, cohort_id: int) -> Cohort | None:
        """The cohort if the viewer may see it; None for anyone else's."""
        cohort = await session.get(Cohort, cohort_id)
        return cohort if cohort is not None and viewer.owns(cohort) else None

    async def view(
        self,
        session: AsyncSession,
        cohort: Cohort,
        bot_username: str,
        viewer: Viewer | None = None,
    ) -> CohortView:
        count = await session.scalar(
            select(func.count()).select_from(Student).where(Student.cohort_id == cohort.id)
        )
        profile = self.catalog.get(cohort.career)
        lead = None
        if viewer is not None and viewer.is_admin:
            lead = await self.lead_name(session, cohort.lead_id) or ""
        return CohortView(
            cohort=cohort,
            link=invite_link(bot_username, cohort.code),
            members=int(count or 0),
            career_title=profile.title if profile else None,
            lead=lead,
        )

    async def lead_name(self, session: AsyncSession, telegram_id: int) -> str | None:
        """The lead's name; None for someone not (or no longer) on staff."""
        return await session.scalar(select(Staff.name).where(Staff.telegram_id == telegram_id))

    async def is_staff(self, session: AsyncSession, telegram_id: int) -> bool:
        return await role_of(session, telegram_id, self.admin_ids) is not Role.STUDENT

    async def handover(
        self, session: AsyncSession, cohort: CohortView, to: int | None = None
    ) -> Handover | None:
        """Who the cohort may go to, and with `to`, that lead: None when `to` is not (or no
        longer) on staff, or already leads the cohort."""
        leads = list(
            (
                await session.execute(
                    select(Staff)
                    .where(Staff.telegram_id != cohort.cohort.lead_id)
                    .order_by(Staff.name, Staff.telegram_id)
                )
            ).scalars()
        )
        if to is None:
            return Handover(cohort, leads)
        chosen = next((lead for lead in leads if lead.telegram_id == to), None)
        return None if chosen is None else Handover(cohort, leads, chosen)

    async def hand(self, session: AsyncSession, cohort: Cohort, to: Staff) -> int:
        return await hand_cohort(session, cohort, to)

    async def rename(self, session: AsyncSession, cohort: Cohort, name: str) -> None:
        cohort.name = name[:NAME_LIMIT]
        await session.commit()

    async def set_open(self, session: AsyncSession, cohort: Cohort, is_open: bool) -> None:
        cohort.closed_at = None if is_open else utcnow()
        await session.commit()

    async def join(
        self,
        session: AsyncSession,
        student: Student,
        code: str,
        now: datetime | None = None,
        *,
        confirmed: bool = False,
    ) -> tuple[JoinOutcome, Cohort | None]:
        """Puts the student in the cohort of `code` and on its career; records any move.

        A student already in another cohort is moved only `confirmed` (they said yes to
        SWITCH); staff are never enrolled, so a lead can try their own link."""
        cohort = await session.scalar(select(Cohort).where(Cohort.code == code))
        if cohort is None:
            return JoinOutcome.UNKNOWN, None
        if cohort.closed_at is not None:
            return JoinOutcome.CLOSED, cohort
        if cohort.expires_at is not None and as_utc(cohort.expires_at) <= (now or utcnow()):
            return JoinOutcome.EXPIRED, cohort
        if student.cohort_id == cohort.id:
            return JoinOutcome.ALREADY, cohort
        if await role_of(session, student.telegram_id, self.admin_ids) is not Role.STUDENT:
            return JoinOutcome.STAFF, cohort
        if student.cohort_id is not None and not confirmed:
            return JoinOutcome.SWITCH, cohort
        outcome = JoinOutcome.MOVED if student.cohort_id is not None else JoinOutcome.JOINED
        session.add(
            CohortMove(
                student_id=student.id, from_cohort_id=student.cohort_id, to_cohort_id=cohort.id
            )
        )
        student.cohort_id = cohort.id
        student.joined_cohort_at = utcnow()
        # Consent is given to one group's lead: a new group asks again.
        student.shares, student.shared_at = None, None
        if cohort.career is not None and self.catalog.get(cohort.career) is not None:
            student.career = cohort.career
        await record_event(session, student, "cohort", outcome.value)
        return outcome, cohort

    async def switch_offer(
        self, session: AsyncSession, student: Student, offered: Cohort
    ) -> SwitchOffer:
        current = await session.get(Cohort, student.cohort_id) if student.cohort_id else None
        return SwitchOffer(current, offered)
