"""Announcements to a cohort, sent from an outbox in the database.

Every recipient is a `deliveries` row. A worker claims a row (pending → sending) before it
sends and marks it sent after, so two workers never send the same row and a restart resumes
with the rows still pending. A stop request lets the delivery in hand finish first; only a
hard crash between Telegram's answer and the mark leaves a row "sending", and such a row is
never sent again (no student gets a second copy) but counted as failed. Which process sends
is decided by bot/services/jobs.py.
"""

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError, TelegramRetryAfter
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Announcement, Cohort, Delivery, Student, utcnow
from bot.db.upsert import upsert
from bot.screens import send_screen
from bot.services.cohorts import CohortView
from bot.services.tour import TourService

logger = logging.getLogger(__name__)

TEXT_LIMIT = 3500
PENDING, SENDING, SENT, BLOCKED, FAILED = "pending", "sending", "sent", "blocked", "failed"
RETRIES_AFTER_429 = 5
PROGRESS_EVERY_SECONDS = 2.0


@dataclass(frozen=True)
class AnnouncementView:
    """What the student's announcement node shows."""

    text: str
    node: str | None
    node_label: str | None
    choices: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Progress:
    total: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    pending: int = 0

    @property
    def done(self) -> bool:
        return self.pending == 0


ProgressCallback = Callable[[Announcement, Progress], Awaitable[None]]


def clean_text(text: str | None) -> str | None:
    """The text if it fits one message once escaped for Telegram HTML (`&` takes 5 characters)."""
    cleaned = (text or "").strip()
    return cleaned if cleaned and len(html.escape(cleaned)) <= TEXT_LIMIT else None


class BroadcastService:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        tour: TourService,
        per_second: float,
    ) -> None:
        self.session_factory = session_factory
        self.tour = tour
        self.interval = 1.0 / per_second

    def node_choices(self) -> list[dict[str, str]]:
        """Tour nodes an announcement's button may open: those with a `node_<id>` label."""
        labels = self.tour.dialogs.labels
        return [
            {"node": name.removeprefix("node_"), "label": label}
            for name, label in labels.items()
            if name.startswith("node_") and self.tour.knows(name.removeprefix("node_"))
        ]

    def view(self, text: str, node: str | None) -> AnnouncementView:
        labels = {choice["node"]: choice["label"] for choice in self.node_choices()}
        return AnnouncementView(text, node, labels.get(node or ""), self.node_choices())

    async def create(
        self,
        session: AsyncSession,
        draft: str,
        cohort: Cohort,
        sender_id: int,
        text: str,
        node: str | None,
    ) -> Announcement | None:
        """The announcement with one pending delivery per member (known-blocked ones marked).

        None when this draft was already sent: two presses of "send" make one announcement.
        """
        created = await upsert(
            session,
            Announcement,
            {
                "draft": draft,
                "cohort_id": cohort.id,
                "sender_id": sender_id,
                "text": text,
                "node": node,
            },
            ["draft"],
        )
        if not created:
            await session.rollback()
            return None
        announcement = await session.scalar(select(Announcement).where(Announcement.draft == draft))
        assert announcement is not None
        members = await session.execute(
            select(Student.id, Student.blocked_at).where(Student.cohort_id == cohort.id)
        )
        session.add_all(
            Delivery(
                announcement_id=announcement.id,
                student_id=student_id,
                status=PENDING if blocked_at is None else BLOCKED,
            )
            for student_id, blocked_at in members.all()
        )
        await session.commit()
        return announcement

    async def progress(self, session: AsyncSession, announcement_id: int) -> Progress:
        rows = await session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.announcement_id == announcement_id)
            .group_by(Delivery.status)
        )
        counts: dict[str, int] = {status: count for status, count in rows.all()}
        return Progress(
            total=sum(counts.values()),
            sent=counts.get(SENT, 0),
            blocked=counts.get(BLOCKED, 0),
            failed=counts.get(FAILED, 0),
            pending=counts.get(PENDING, 0) + counts.get(SENDING, 0),
        )

    async def send_unfinished(self, bot: Bot, report: ProgressCallback) -> None:
        """Sends every unfinished announcement, oldest first."""
        async with self.session_factory() as session:
            unfinished = list(
                (
                    await session.execute(
                        select(Announcement.id)
                        .where(Announcement.finished_at.is_(None))
                        .order_by(Announcement.id)
                    )
                ).scalars()
            )
        for announcement_id in unfinished:
            await self.send(bot, announcement_id, report)

    async def send(self, bot: Bot, announcement_id: int, report: ProgressCallback) -> Progress:
        loop = asyncio.get_running_loop()
        next_send = loop.time()
        last_report = loop.time()
        while True:
            async with self.session_factory() as session:
                announcement = await session.get(Announcement, announcement_id)
                if announcement is None:
                    return Progress()
                pending = list(
                    (
                        await session.execute(
                            select(Delivery.id)
                            .where(
                                Delivery.announcement_id == announcement_id,
                                Delivery.status == PENDING,
                            )
                            .order_by(Delivery.id)
                            .limit(100)
                        )
                    ).scalars()
                )
            if not pending:
                break
            for delivery_id in pending:
                await asyncio.sleep(max(0.0, next_send - loop.time()))
                delivery = asyncio.ensure_future(self._deliver(bot, announcement, delivery_id))
                try:
                    attempted = await asyncio.shield(delivery)
                except asyncio.CancelledError:
                    await delivery
                    raise
                if attempted:
                    next_send = loop.time() + self.interval
                if loop.time() - last_report >= PROGRESS_EVERY_SECONDS:
                    last_report = loop.time()
                    await self._report(announcement, report)
        async with self.session_factory() as session:
            # Only a crash leaves a row "sending" now: sent or not, nobody knows, so it is
            # counted as failed rather than risk a second copy.
            await session.execute(
                update(Delivery)
                .where(Delivery.announcement_id == announcement_id, Delivery.status == SENDING)
                .values(status=FAILED, updated_at=utcnow())
            )
            await session.execute(
                update(Announcement)
                .where(Announcement.id == announcement_id, Announcement.finished_at.is_(None))
                .values(finished_at=utcnow())
            )
            await session.commit()
            final = await self.progress(session, announcement_id)
        await report(announcement, final)
        return final

    async def _report(self, announcement: Announcement, report: ProgressCallback) -> None:
        async with self.session_factory() as session:
            progress = await self.progress(session, announcement.id)
        await report(announcement, progress)

    async def _deliver(self, bot: Bot, announcement: Announcement, delivery_id: int) -> bool:
        """Claims and sends one delivery; False when another worker had claimed it."""
        async with self.session_factory() as session:
            claimed = await session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.status == PENDING)
                .values(status=SENDING, updated_at=utcnow())
            )
            await session.commit()
            if getattr(claimed, "rowcount", 0) != 1:
                return False
            delivery = await session.get(Delivery, delivery_id)
            student = await session.get(Student, delivery.student_id) if delivery else None
            cohort = await session.get(Cohort, announcement.cohort_id)
            if delivery is None or student is None or cohort is None:
                return False
            # Ends the read: no connection is held while Telegram answers (SQLite has one).
            await session.commit()
            status = await self._send_to(bot, announcement, cohort, student)
            delivery.status = status
            delivery.updated_at = utcnow()
            if status == BLOCKED:
                student.blocked_at = utcnow()
            await session.commit()
            return True

    async def _send_to(
        self, bot: Bot, announcement: Announcement, cohort: Cohort, student: Student
    ) -> str:
        view = self.view(announcement.text, announcement.node)
        screen = self.tour.render(
            student, "announcement", announcement=view, cohort=CohortView(cohort)
        )
        for _ in range(RETRIES_AFTER_429):
            try:
                await send_screen(bot, student.telegram_id, screen)
                return SENT
            except TelegramRetryAfter as exc:
                await asyncio.sleep(exc.retry_after)
            except TelegramForbiddenError:
                return BLOCKED
            except TelegramAPIError as exc:
                logger.warning("announcement %s: %s", announcement.id, type(exc).__name__)
                return FAILED
        return FAILED
