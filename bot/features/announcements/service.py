"""Announcements to a cohort, sent from an outbox in the database.

Every recipient is a `deliveries` row. A worker claims a row (pending → sending) before it
sends and marks it after, so two workers never send the same row and a restart resumes
with the rows still pending. Telegram's answer decides the mark:

- delivered: sent;
- 403 (the student blocked the bot or deleted their account): blocked;
- 400 "chat not found", or any other refusal of the message itself: failed, with the reason;
- a transient failure (a 5xx, a timeout or a connection error, a 429): pending again, with
  the time of the next attempt (exponential back-off with jitter; after a 429 the wait
  Telegram asks for, during which nothing is sent to anyone), so the sender goes on with the
  others and comes back to it. Once the next attempt would fall beyond the retry budget
  (ANNOUNCEMENT_RETRY_HOURS after the announcement was made) it is failed ("gave up").

An announcement is finished when no delivery is pending. A stop request lets the delivery in
hand finish first; only a hard crash between Telegram's answer and the mark leaves a row
"sending", and such a row is never sent again (no student gets a second copy) but counted as
failed ("interrupted"). Which process sends is decided by bot/services/jobs.py: `fence` is
its check, before every message, that this process still holds the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Announcement, Cohort, Delivery, Staff, Student, as_utc, utcnow
from bot.db.upsert import upsert
from bot.engine.dialogs import ANNOUNCEMENT_NODE_LABEL
from bot.features.cohorts.service import CohortView
from bot.features.tour.service import TourService
from bot.safe_text import has_visible_text

# aiogram only where a message is sent: `content check` renders the announcement views without it.
if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.exceptions import TelegramAPIError

logger = logging.getLogger(__name__)

TEXT_LIMIT = 3500
PENDING, SENDING, SENT, BLOCKED, FAILED = "pending", "sending", "sent", "blocked", "failed"
PROGRESS_EVERY_SECONDS = 2.0
RETRY_CAP_SECONDS = 900.0

# Why a delivery is blocked, failed or waiting to be tried again (Delivery.reason).
BLOCKED_BOT = "blocked"
SERVER_ERROR, NETWORK_ERROR, TOO_MANY_REQUESTS = "server_error", "network_error", "flood"
CHAT_NOT_FOUND, REFUSED = "chat_not_found", "refused"
GAVE_UP, INTERRUPTED = "gave_up", "interrupted"
# The lead sees failures counted by reason, each named by the label `delivery_<reason>`.
FAILED_REASONS = (CHAT_NOT_FOUND, REFUSED, GAVE_UP, INTERRUPTED)
FAILURE_LABELS = frozenset(f"delivery_{reason}" for reason in FAILED_REASONS)


@dataclass(frozen=True)
class AnnouncementView:
    """What the student's announcement node shows."""

    text: str
    node: str | None
    node_label: str | None
    choices: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class FailureCount:
    label: str
    count: int


@dataclass
class Progress:
    total: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    # Not yet delivered nor given up, `retrying` of them after a transient failure.
    pending: int = 0
    retrying: int = 0
    failures: list[FailureCount] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.pending == 0


@dataclass(frozen=True)
class Attempt:
    """What one send came to: the delivery's new status and reason, and for a retry when."""

    status: str
    reason: str | None = None
    next_attempt_at: datetime | None = None
    # Telegram's flood control: no message to anyone for this long.
    pause: float = 0.0


ProgressCallback = Callable[[Announcement, Progress], Awaitable[None]]

HISTORY_PAGE = 5
EXCERPT_CHARS = 80


@dataclass(frozen=True)
class SentAnnouncement:
    """One announcement of a cohort's history, as its lead sees it."""

    sent_at: datetime
    # The sender's staff name; None for an admin (not on the staff list) or a removed lead.
    sender: str | None
    by_admin: bool
    excerpt: str
    delivered: int
    pending: int
    blocked: int
    failed: int


@dataclass(frozen=True)
class History:
    """A page of a cohort's announcements, newest first (pages count from 1)."""

    cohort: CohortView
    entries: list[SentAnnouncement]
    page: int
    pages: int
    total: int


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The first words of the text on one line, cut between words, "…" when cut."""
    words = text.split()
    kept: list[str] = []
    for word in words:
        if len(" ".join([*kept, word])) > limit:
            break
        kept.append(word)
    if not kept:  # a first word longer than the limit
        return words[0][:limit] + "…" if words else ""
    return " ".join(kept) + ("…" if len(kept) < len(words) else "")


def clean_text(text: str | None) -> str | None:
    """The text if it shows something (not only zero-width or format characters) and fits one
    message once escaped for Telegram HTML (`&` takes 5 characters)."""
    cleaned = (text or "").strip()
    if not has_visible_text(cleaned):
        return None
    return cleaned if len(html.escape(cleaned)) <= TEXT_LIMIT else None


class AnnouncementService:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        tour: TourService,
        per_second: float,
        retry_hours: float,
        retry_base_seconds: float,
        zone: tzinfo = UTC,
    ) -> None:
        self.session_factory = session_factory
        # Leads read the history in the program's time zone (PROGRAM_TIMEZONE), as the digest.
        self.zone = zone
        self.tour = tour
        self.interval = 1.0 / per_second
        self.retry_budget = timedelta(hours=retry_hours)
        self.retry_base = retry_base_seconds
        # The monotonic time before which no message goes out: the pace, across announcements.
        self._next_send = 0.0
        # What the lead was last shown of each unfinished announcement.
        self._shown: dict[int, Progress] = {}

    @contextlib.asynccontextmanager
    async def slot(self, fence: Callable[[], Awaitable[None]]) -> AsyncIterator[None]:
        """One message's turn at BROADCAST_PER_SECOND, which announcements and project
        reminders share: waits for it, checks the lease (`fence`), and counts the next turn
        from when the message was sent."""
        await self._wait_turn(fence)
        try:
            yield
        finally:
            self._spend_turn()

    async def _wait_turn(self, fence: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(max(0.0, self._next_send - time.monotonic()))
        await fence()

    def _spend_turn(self, pause: float = 0.0) -> None:
        """The next message waits the pace, or longer when Telegram asked for a pause."""
        self._next_send = time.monotonic() + max(self.interval, pause)

    def hold_off(self, seconds: float) -> None:
        """No message for `seconds` from now, e.g. when this process has just taken the
        sending over from another, which may have sent a moment ago."""
        self._next_send = max(self._next_send, time.monotonic() + seconds)

    def node_choices(self) -> list[dict[str, str]]:
        """Tour nodes an announcement's button may open: those with a `node_<id>` label."""
        labels = self.tour.dialogs.labels
        prefix = ANNOUNCEMENT_NODE_LABEL
        return [
            {"node": name.removeprefix(prefix), "label": label}
            for name, label in labels.items()
            if name.startswith(prefix) and self.tour.knows(name.removeprefix(prefix))
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

    async def history(
        self,
        session: AsyncSession,
        cohort: CohortView,
        page: int,
        admin_ids: frozenset[int],
    ) -> History:
        """The cohort's announcements, newest first, a page at a time (a page past the last
        shows the last), with who sent each and where its deliveries stand."""
        cohort_id = cohort.cohort.id
        total = int(
            await session.scalar(select(func.count()).where(Announcement.cohort_id == cohort_id))
            or 0
        )
        pages = max(1, -(-total // HISTORY_PAGE))
        page = min(max(page, 1), pages)
        rows = (
            await session.execute(
                select(Announcement, Staff.name)
                .outerjoin(Staff, Staff.telegram_id == Announcement.sender_id)
                .where(Announcement.cohort_id == cohort_id)
                .order_by(Announcement.id.desc())
                .limit(HISTORY_PAGE)
                .offset((page - 1) * HISTORY_PAGE)
            )
        ).all()
        counts: dict[int, Counter[str]] = {announcement.id: Counter() for announcement, _ in rows}
        if counts:
            statuses = await session.execute(
                select(Delivery.announcement_id, Delivery.status, func.count())
                .where(Delivery.announcement_id.in_(counts))
                .group_by(Delivery.announcement_id, Delivery.status)
            )
            for announcement_id, status, count in statuses.all():
                counts[announcement_id][status] += count
        entries = [
            SentAnnouncement(
                sent_at=as_utc(announcement.created_at).astimezone(self.zone),
                sender=name,
                by_admin=announcement.sender_id in admin_ids,
                excerpt=excerpt(announcement.text),
                delivered=counts[announcement.id][SENT],
                pending=counts[announcement.id][PENDING] + counts[announcement.id][SENDING],
                blocked=counts[announcement.id][BLOCKED],
                failed=counts[announcement.id][FAILED],
            )
            for announcement, name in rows
        ]
        return History(cohort, entries, page, pages, total)

    async def progress(self, session: AsyncSession, announcement_id: int) -> Progress:
        rows = await session.execute(
            select(Delivery.status, Delivery.reason, func.count())
            .where(Delivery.announcement_id == announcement_id)
            .group_by(Delivery.status, Delivery.reason)
        )
        statuses: Counter[str] = Counter()
        failures: Counter[str] = Counter()
        retrying = 0
        for status, reason, count in rows.all():
            statuses[status] += count
            if status == FAILED:
                failures[reason if reason in FAILED_REASONS else REFUSED] += count
            elif status == PENDING and reason is not None:
                retrying += count
        labels = self.tour.dialogs.labels
        return Progress(
            total=sum(statuses.values()),
            sent=statuses[SENT],
            blocked=statuses[BLOCKED],
            failed=statuses[FAILED],
            pending=statuses[PENDING] + statuses[SENDING],
            retrying=retrying,
            failures=[
                FailureCount(labels[f"delivery_{reason}"], failures[reason])
                for reason in FAILED_REASONS
                if failures[reason]
            ],
        )

    async def send_unfinished(
        self, bot: Bot, report: ProgressCallback, fence: Callable[[], Awaitable[None]]
    ) -> None:
        """Sends what is due of every unfinished announcement, oldest first."""
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
            await self.send(bot, announcement_id, report, fence)

    async def send(
        self,
        bot: Bot,
        announcement_id: int,
        report: ProgressCallback,
        fence: Callable[[], Awaitable[None]],
    ) -> Progress:
        """Sends the deliveries that are due, at the pace; finishes the announcement if none
        is left pending. Those waiting for a retry are left to a later call."""
        last_report = time.monotonic()
        while True:
            async with self.session_factory() as session:
                announcement = await session.get(Announcement, announcement_id)
                if announcement is None:
                    return Progress()
                due = list(
                    (
                        await session.execute(
                            select(Delivery.id)
                            .where(
                                Delivery.announcement_id == announcement_id,
                                Delivery.status == PENDING,
                                or_(
                                    Delivery.next_attempt_at.is_(None),
                                    Delivery.next_attempt_at <= utcnow(),
                                ),
                            )
                            .order_by(Delivery.id)
                            .limit(100)
                        )
                    ).scalars()
                )
            if not due:
                break
            for delivery_id in due:
                await self._wait_turn(fence)
                delivery = asyncio.ensure_future(self._deliver(bot, announcement, delivery_id))
                try:
                    attempt = await asyncio.shield(delivery)
                except asyncio.CancelledError:
                    await delivery
                    raise
                if attempt is not None:
                    self._spend_turn(attempt.pause)
                if time.monotonic() - last_report >= PROGRESS_EVERY_SECONDS:
                    last_report = time.monotonic()
                    await self._report(announcement, report)
        await fence()  # a row "sending" may be another holder's message on its way
        async with self.session_factory() as session:
            left = await session.scalar(
                select(func.count()).where(
                    Delivery.announcement_id == announcement_id, Delivery.status == PENDING
                )
            )
            if not left:
                # Only a crash leaves a row "sending" now: sent or not, nobody knows, so it is
                # counted as failed rather than risk a second copy.
                await session.execute(
                    update(Delivery)
                    .where(Delivery.announcement_id == announcement_id, Delivery.status == SENDING)
                    .values(status=FAILED, reason=INTERRUPTED, updated_at=utcnow())
                )
                await session.execute(
                    update(Announcement)
                    .where(Announcement.id == announcement_id, Announcement.finished_at.is_(None))
                    .values(finished_at=utcnow())
                )
                await session.commit()
        return await self._report(announcement, report)

    async def _report(self, announcement: Announcement, report: ProgressCallback) -> Progress:
        """Shows the lead the counts, unless they are what the lead sees already."""
        async with self.session_factory() as session:
            progress = await self.progress(session, announcement.id)
        if self._shown.get(announcement.id) != progress:
            await report(announcement, progress)
        if progress.done:
            self._shown.pop(announcement.id, None)
        else:
            self._shown[announcement.id] = progress
        return progress

    async def _deliver(
        self, bot: Bot, announcement: Announcement, delivery_id: int
    ) -> Attempt | None:
        """Claims and sends one delivery; None when another worker had claimed it."""
        async with self.session_factory() as session:
            claimed = await session.execute(
                update(Delivery)
                .where(Delivery.id == delivery_id, Delivery.status == PENDING)
                .values(status=SENDING, attempts=Delivery.attempts + 1, updated_at=utcnow())
            )
            await session.commit()
            if getattr(claimed, "rowcount", 0) != 1:
                return None
            delivery = await session.get(Delivery, delivery_id)
            student = await session.get(Student, delivery.student_id) if delivery else None
            cohort = await session.get(Cohort, announcement.cohort_id)
            if delivery is None or student is None or cohort is None:
                return None
            # Ends the read: no connection is held while Telegram answers (SQLite has one).
            await session.commit()
            attempt = await self._send_to(bot, announcement, cohort, student, delivery.attempts)
            delivery.status = attempt.status
            delivery.reason = attempt.reason
            delivery.next_attempt_at = attempt.next_attempt_at
            delivery.updated_at = utcnow()
            if attempt.status == BLOCKED:
                student.blocked_at = utcnow()
            await session.commit()
            return attempt

    async def _send_to(
        self,
        bot: Bot,
        announcement: Announcement,
        cohort: Cohort,
        student: Student,
        attempts: int,
    ) -> Attempt:
        from aiogram.exceptions import (
            ClientDecodeError,
            TelegramAPIError,
            TelegramBadRequest,
            TelegramEntityTooLarge,
            TelegramForbiddenError,
            TelegramNetworkError,
            TelegramRetryAfter,
            TelegramServerError,
        )

        from bot.screens import send_screen

        view = self.view(announcement.text, announcement.node)
        screen = self.tour.render(
            student, "announcement", announcement=view, cohort=CohortView(cohort)
        )
        try:
            await send_screen(bot, student.telegram_id, screen)
        except TelegramForbiddenError:
            return Attempt(BLOCKED, BLOCKED_BOT)
        except TelegramRetryAfter as exc:
            return self._retry(announcement, TOO_MANY_REQUESTS, exc.retry_after, exc.retry_after)
        except TelegramEntityTooLarge as exc:  # a TelegramNetworkError, but for good
            return self._refused(announcement, REFUSED, exc)
        except (TelegramServerError, TelegramNetworkError, ClientDecodeError) as exc:
            # ClientDecodeError: a proxy's error page (e.g. a 502 in HTML) instead of JSON.
            reason = NETWORK_ERROR if isinstance(exc, TelegramNetworkError) else SERVER_ERROR
            logger.info("announcement %s: %s, to be tried again", announcement.id, reason)
            return self._retry(announcement, reason, self._backoff(attempts))
        except TelegramBadRequest as exc:
            reason = CHAT_NOT_FOUND if "chat not found" in exc.message.lower() else REFUSED
            return self._refused(announcement, reason, exc)
        except TelegramAPIError as exc:
            return self._refused(announcement, REFUSED, exc)
        return Attempt(SENT)

    def _backoff(self, attempts: int) -> float:
        """Doubling from the base with every attempt, capped, and jittered so that the
        deliveries that failed together are not all tried again in the same second."""
        ceiling = min(RETRY_CAP_SECONDS, self.retry_base * 2 ** min(attempts - 1, 30))
        return random.uniform(ceiling / 2, ceiling)

    def _retry(
        self, announcement: Announcement, reason: str, delay: float, pause: float = 0.0
    ) -> Attempt:
        now = utcnow()
        next_attempt_at = now + timedelta(seconds=delay)
        if next_attempt_at > as_utc(announcement.created_at) + self.retry_budget:
            logger.warning(
                "announcement %s: gave up on a delivery after %s (retry budget spent)",
                announcement.id,
                reason,
            )
            return Attempt(FAILED, GAVE_UP)
        return Attempt(PENDING, reason, next_attempt_at, pause)

    @staticmethod
    def _refused(announcement: Announcement, reason: str, exc: TelegramAPIError) -> Attempt:
        logger.warning("announcement %s: %s (%s)", announcement.id, reason, type(exc).__name__)
        return Attempt(FAILED, reason)
