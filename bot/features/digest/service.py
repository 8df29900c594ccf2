"""The weekly digest: program leads who turn it on get, every Monday at DIGEST_HOUR in the
program's time zone (PROGRAM_TIMEZONE), what happened in their cohorts over the week before.

Per cohort: who joined, who was active, who finished the checklist, started or finished the
project, who went quiet, and the new unanswered questions. Students who agreed to share
(`shares` is true) are named by first name; the others are never named, only counted, and a
count of them from 1 to 4 shows as "<5" (`count_for`, the stats' rule) except for how many
joined: membership is not hidden from the lead who runs the cohort. Questions are those of
students who share (all students for an admin), as on the unanswered screen; texts are masked
(`mask`) and never say who asked.

Sending, by the background jobs: a lead's digest is claimed (`digest_sent_at` set) before it
is sent, so it goes out at most once a week, also with several workers and after restarts;
a send that fails for a passing reason gives the claim back, so the next round tries again.
A lead who blocked the bot keeps the claim: tried again the next week, not every round.
Admins (ADMIN_IDS) have no staff row and get no digest unless also granted as a lead.
"""

import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import (
    ChecklistAttempt,
    Cohort,
    Project,
    Staff,
    Student,
    UnansweredQuestion,
    as_utc,
    utcnow,
)
from bot.engine.dialogs import Screen
from bot.features.digest.week import DIGEST_NODE, CohortWeek, DigestSettings, People, Week
from bot.features.reminders.service import Slot
from bot.features.stats.report import Count, count_for
from bot.features.stats.scope import Scope
from bot.features.tour.service import TourService
from bot.screens import send_screen_retrying
from bot.services.masking import mask
from bot.services.roles import Role, Viewer
from bot.services.students import QUIET_AFTER

logger = logging.getLogger(__name__)

WEEK = timedelta(days=7)
MONDAY = 0
NAMES_SHOWN = 10  # first names per line; the rest as "and N more"
QUESTIONS_SHOWN = 5  # question texts per cohort; the rest as "and N more"


def digest_moment(now: datetime, zone: ZoneInfo, hour: int) -> datetime | None:
    """This Monday's DIGEST_HOUR in the program's zone (in UTC), once `now` is past it on that
    Monday; None on any other day. A Monday the bot was down all day is skipped, not made up
    later in the week."""
    local = as_utc(now).astimezone(zone)
    if local.weekday() != MONDAY:
        return None
    moment = datetime.combine(local.date(), time(hour), tzinfo=zone)
    return moment.astimezone(UTC) if local >= moment else None


@dataclass
class DigestReport:
    sent: int = 0
    skipped: int = 0  # no cohorts: nothing to say
    blocked: int = 0
    failed: int = 0


# A student row as the digest reads it: cohort, first name, agreed to share.
_Row = tuple[int, str, bool | None]


@dataclass
class DigestService:
    session_factory: async_sessionmaker[AsyncSession]
    tour: TourService
    zone: ZoneInfo
    hour: int
    admin_ids: frozenset[int] = frozenset()
    # The time now; tests set a Monday morning of their choosing.
    clock: Callable[[], datetime] = field(default=utcnow)

    def settings(self, lead: Staff) -> DigestSettings:
        return DigestSettings(bool(lead.digest), self.hour, self.zone.key)

    @staticmethod
    async def lead(session: AsyncSession, telegram_id: int) -> Staff | None:
        """The lead's staff row; None for an admin who is not also granted as a lead."""
        found = await session.scalar(select(Staff).where(Staff.telegram_id == telegram_id))
        return found

    async def switch(self, session: AsyncSession, lead: Staff, on: bool) -> None:
        """Turns the lead's digest on or off. Turned on, the first one comes next Monday."""
        lead.digest = on
        await session.flush()

    async def week(self, session: AsyncSession, lead: Staff, now: datetime) -> Week:
        """What the lead's digest says at `now`: the seven days before this Monday's
        DIGEST_HOUR, and everything since."""
        moment = digest_moment(now, self.zone, self.hour)
        start = (moment or as_utc(now)) - WEEK
        cohorts = list(
            await session.scalars(
                select(Cohort).where(Cohort.lead_id == lead.telegram_id).order_by(Cohort.id)
            )
        )
        # The students of the cohorts they lead, as for any lead; an admin who is also a
        # lead gets exact counts, as admins do everywhere.
        mine = Scope(Viewer(lead.telegram_id, Role.LEAD), None, self.admin_ids).students()
        exact = lead.telegram_id in self.admin_ids
        weeks = await self._cohort_weeks(session, cohorts, mine, start, as_utc(now), exact)
        local_start = start.astimezone(self.zone).date()
        return Week(lead.name, local_start, local_start + timedelta(days=6), weeks)

    async def _cohort_weeks(
        self,
        session: AsyncSession,
        cohorts: Sequence[Cohort],
        mine: list[ColumnElement[bool]],
        start: datetime,
        now: datetime,
        exact: bool,
    ) -> list[CohortWeek]:
        async def rows(*conditions: ColumnElement[bool]) -> list[_Row]:
            query = (
                select(Student.cohort_id, Student.first_name, Student.shares)
                .where(*mine, *conditions)
                .order_by(Student.first_name, Student.id)
            )
            # Every row has a cohort: `mine` picks the students of the lead's cohorts.
            found = (await session.execute(query)).all()
            return [(cohort or 0, name, shares) for cohort, name, shares in found]

        def students_of(table: Any, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
            return Student.id.in_(select(table.student_id).where(*conditions))

        members = await rows()
        joined = await rows(Student.joined_cohort_at >= start)
        active = await rows(Student.last_seen >= start)
        checklist = await rows(students_of(ChecklistAttempt, ChecklistAttempt.finished_at >= start))
        started = await rows(students_of(Project, Project.started_at >= start))
        finished = await rows(students_of(Project, Project.finished_at >= start))
        # Began something (the tour, the checklist or the project), has not finished a
        # project, and has not been back for a week.
        quiet = await rows(
            Student.last_seen < now - QUIET_AFTER,
            or_(
                Student.explored_at.is_not(None),
                students_of(ChecklistAttempt),
                students_of(Project),
            ),
            ~students_of(Project, Project.finished_at.is_not(None)),
        )
        # As on the unanswered screen: a lead reads only the questions of students who share.
        askers = [] if exact else [Student.shares.is_(True)]
        questions = await session.execute(
            select(Student.cohort_id, UnansweredQuestion.text)
            .join(Student, Student.id == UnansweredQuestion.student_id)
            .where(*mine, *askers, UnansweredQuestion.created_at >= start)
            .order_by(UnansweredQuestion.created_at, UnansweredQuestion.id)
        )
        # Any student's name in a question is masked, whoever asked it.
        names = sorted({name for _, name, _ in members})
        texts: dict[int, list[str]] = {}
        for cohort_id, text in questions.all():
            texts.setdefault(cohort_id or 0, []).append(mask(text, names))

        def people(found: list[_Row], cohort_id: int, *, count_exact: bool = exact) -> People:
            return _people([row for row in found if row[0] == cohort_id], count_exact)

        weeks = []
        for cohort in cohorts:
            asked = texts.get(cohort.id, [])
            weeks.append(
                CohortWeek(
                    name=cohort.name,
                    members=sum(1 for row in members if row[0] == cohort.id),
                    # Joining is membership, which the lead sees anyway: counted exactly.
                    joined=people(joined, cohort.id, count_exact=True),
                    active=people(active, cohort.id),
                    checklist=people(checklist, cohort.id),
                    project_started=people(started, cohort.id),
                    project_finished=people(finished, cohort.id),
                    quiet=people(quiet, cohort.id),
                    questions=asked[:QUESTIONS_SHOWN],
                    questions_more=max(0, len(asked) - QUESTIONS_SHOWN),
                )
            )
        return weeks

    def render(self, week: Week) -> Screen:
        return self.tour.render(None, DIGEST_NODE, digest_week=week)

    async def send_due(
        self, bot: Bot, slot: Slot = contextlib.nullcontext, now: datetime | None = None
    ) -> DigestReport:
        """Sends this week's digest to every lead who turned it on and has not had it; on a
        Monday past DIGEST_HOUR only."""
        now = as_utc(now or self.clock())
        report = DigestReport()
        moment = digest_moment(now, self.zone, self.hour)
        if moment is None:
            return report
        async with self.session_factory() as session:
            due = await session.scalars(
                select(Staff.id).where(Staff.digest.is_(True), _not_sent_since(moment))
            )
            lead_ids = list(due)
        for lead_id in lead_ids:
            async with slot():
                await self._send(bot, lead_id, moment, now, report)
        return report

    async def _send(
        self, bot: Bot, lead_id: int, moment: datetime, now: datetime, report: DigestReport
    ) -> None:
        async with self.session_factory() as session:
            lead = await session.get(Staff, lead_id)
            if lead is None:
                return
            previous = lead.digest_sent_at
            claimed = await session.execute(
                update(Staff)
                .where(Staff.id == lead_id, Staff.digest.is_(True), _not_sent_since(moment))
                .values(digest_sent_at=now)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
            if getattr(claimed, "rowcount", 0) != 1:
                return
            try:
                week = await self.week(session, lead, now)
                # Ends the read: no connection is held while Telegram answers.
                await session.commit()
                if not week.cohorts:
                    report.skipped += 1
                    return
                await send_screen_retrying(bot, lead.telegram_id, self.render(week))
                report.sent += 1
            except TelegramForbiddenError:
                report.blocked += 1
            except TelegramBadRequest as exc:
                # Refused for good ("chat not found"): trying every minute all Monday would
                # only repeat the warning, so the claim stands until next week.
                logger.warning("digest for staff %s refused: %s", lead_id, exc.message)
                report.failed += 1
            except Exception as exc:
                # A passing failure (Telegram down, a timeout) or a fault of ours: the claim
                # is given back, so the next round tries again and this lead's failure stops
                # no one else's digest.
                level = logging.WARNING if isinstance(exc, TelegramAPIError) else logging.ERROR
                logger.log(level, "digest for staff %s failed: %s", lead_id, type(exc).__name__)
                await session.rollback()
                await session.execute(
                    update(Staff).where(Staff.id == lead_id).values(digest_sent_at=previous)
                )
                await session.commit()
                report.failed += 1


def _not_sent_since(moment: datetime) -> ColumnElement[bool]:
    return or_(Staff.digest_sent_at.is_(None), Staff.digest_sent_at < moment)


def _people(rows: Sequence[_Row], exact: bool) -> People:
    named = [name for _, name, shares in rows if shares is True]
    others = sum(1 for _, _, shares in rows if shares is not True)
    # None is no secret (the stats' rule hides 0 too; here "<5" means 1 to 4).
    hidden = Count(0) if others == 0 else count_for(others, exact)
    return People(named[:NAMES_SHOWN], max(0, len(named) - NAMES_SHOWN), hidden)
