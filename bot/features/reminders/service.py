"""Reminders for students who opted in and left their project untouched for a while.

A reminder is claimed in the database before it is sent, so it goes out at most once per
idle period, also with several workers, and never again after a restart. Run by the
background jobs, each reminder takes a turn of the announcements' pace and lease check
(`slot`), so the rate across all workers holds and a process that lost the lease stops
before its next one.
"""

import contextlib
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.content.models import Profile
from bot.db.models import Project, Student, utcnow
from bot.features.project.service import ProjectService
from bot.features.tour.service import TourService
from bot.screens import send_screen_retrying
from bot.services.students import record_event

logger = logging.getLogger(__name__)

# A message's turn: waited for before a reminder is claimed and sent (AnnouncementService.slot).
Slot = Callable[[], AbstractAsyncContextManager[None]]


@dataclass
class ReminderReport:
    sent: int = 0
    blocked: int = 0
    failed: int = 0


@dataclass(frozen=True)
class ReminderService:
    session_factory: async_sessionmaker[AsyncSession]
    tour: TourService
    project: ProjectService
    idle_days: int

    async def switch(
        self, session: AsyncSession, student: Student, profile: Profile, enabled: bool
    ) -> None:
        """Turns the reminders of the student's project of this career on or off."""
        await session.execute(
            update(Project)
            .where(Project.student_id == student.id, Project.career == profile.slug)
            .values(reminders=enabled)
        )
        await record_event(session, student, "reminders", "on" if enabled else "off", commit=False)

    async def send_due(
        self, bot: Bot, now: datetime | None = None, slot: Slot = contextlib.nullcontext
    ) -> ReminderReport:
        now = now or utcnow()
        report = ReminderReport()
        async with self.session_factory() as session:
            due = await session.execute(
                select(Project.id)
                .join(Student, Student.id == Project.student_id)
                .where(
                    Project.reminders.is_(True),
                    Project.finished_at.is_(None),
                    Project.last_activity_at <= now - timedelta(days=self.idle_days),
                    or_(
                        Project.reminded_at.is_(None),
                        Project.reminded_at < Project.last_activity_at,
                    ),
                    Student.blocked_at.is_(None),
                )
                .order_by(Project.id)
            )
            project_ids = list(due.scalars())
        for project_id in project_ids:
            async with slot():
                await self._remind(bot, project_id, now, report)
        return report

    async def _remind(
        self, bot: Bot, project_id: int, now: datetime, report: ReminderReport
    ) -> None:
        async with self.session_factory() as session:
            claimed = await session.execute(
                update(Project)
                .where(
                    Project.id == project_id,
                    or_(
                        Project.reminded_at.is_(None),
                        Project.reminded_at < Project.last_activity_at,
                    ),
                )
                .values(reminded_at=now)
            )
            await session.commit()
            if getattr(claimed, "rowcount", 0) != 1:
                return
            project = await session.get(Project, project_id)
            student = await session.get(Student, project.student_id) if project else None
            profile = self.tour.catalog.get(project.career) if project else None
            if project is None or student is None or profile is None:
                return
            current = (await self.project.overview(session, student, profile)).current
            if current is None:
                return
            context = self.tour.context(student, step=current)
            context["profile"] = profile
            screen = self.tour.dialogs.render("reminder", context)
            # Ends the read: no connection is held while Telegram answers (SQLite has one).
            await session.commit()
            try:
                await send_screen_retrying(bot, student.telegram_id, screen)
                report.sent += 1
            except TelegramForbiddenError:
                student.blocked_at = now
                project.reminders = False
                await session.commit()
                report.blocked += 1
            except TelegramAPIError as exc:
                logger.warning("reminder for project %s failed: %s", project_id, type(exc).__name__)
                report.failed += 1
