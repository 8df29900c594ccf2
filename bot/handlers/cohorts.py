"""Program leads' tools: cohorts, invite links and QR codes, announcements; admins manage leads.

Every handler here sits behind IsStaff, checked on every update; every cohort is looked up
through the viewer, so a lead never reaches another lead's cohort, even with forged buttons.
"""

import logging
import re
import uuid

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions.cohorts import (
    ANNOUNCE,
    ANNOUNCE_BUTTON,
    ANNOUNCE_SEND,
    CLOSE,
    COHORTS,
    CREATE,
    NEW,
    OPEN,
    QR,
    RENAME,
    REOPEN,
)
from bot.db.models import Announcement, Cohort, Student
from bot.engine.callbacks import ActionCallback
from bot.filters import IsStaff, PrivateChat, SlashCommand
from bot.screens import answer_with_screen, replace_with_screen, send_screen
from bot.services.broadcast import TEXT_LIMIT, BroadcastService, Progress, clean_text
from bot.services.cohorts import CohortService, clean_name, qr_png
from bot.services.jobs import JobRunner
from bot.services.roles import Viewer, grant_lead, list_leads, revoke_lead
from bot.services.tour import TourService

logger = logging.getLogger(__name__)

COHORT_ACTIONS = frozenset({OPEN, QR, RENAME, CLOSE, REOPEN, ANNOUNCE, ANNOUNCE_SEND})
NO_CAREER = "-"
TELEGRAM_ID = re.compile(r"[1-9][0-9]{0,14}")
ROW_ID = re.compile(r"[1-9][0-9]{0,8}")


class StaffInput(StatesGroup):
    cohort_name = State()
    cohort_rename = State()
    announcement = State()


async def _bot_username(bot: Bot) -> str:
    me = await bot.me()
    return me.username or ""


async def list_cohorts(
    event: Message | CallbackQuery,
    session: AsyncSession,
    student: Student,
    viewer: Viewer,
    tour: TourService,
    cohorts: CohortService,
) -> None:
    screen = tour.render(student, "cohorts", cohorts=await cohorts.visible(session, viewer))
    if isinstance(event, Message):
        await answer_with_screen(event, screen)
    else:
        await event.answer()
        await replace_with_screen(event, screen)


async def new_cohort(
    callback: CallbackQuery, student: Student, state: FSMContext, tour: TourService
) -> None:
    await state.set_state(StaffInput.cohort_name)
    await callback.answer()
    await replace_with_screen(callback, tour.render(student, "cohort_name_prompt"))


async def receive_cohort_name(
    message: Message,
    session: AsyncSession,
    student: Student,
    state: FSMContext,
    bot: Bot,
    tour: TourService,
    cohorts: CohortService,
    viewer: Viewer,
) -> None:
    name = clean_name(message.text)
    if name is None:
        await message.answer(tour.message("cohort_name_invalid", student))
        return
    data = await state.get_data()
    if await state.get_state() == StaffInput.cohort_rename.state:
        cohort = await cohorts.get(session, viewer, int(data.get("cohort_id", 0)))
        await state.clear()
        if cohort is None:
            await list_cohorts(message, session, student, viewer, tour, cohorts)
            return
        await cohorts.rename(session, cohort, name)
        view = await cohorts.view(session, cohort, await _bot_username(bot))
        await answer_with_screen(message, tour.render(student, "cohort", cohort=view))
        return
    await state.set_state(None)
    await state.update_data(cohort_name=name)
    await answer_with_screen(
        message, tour.render(student, "cohort_career_prompt", cohort_name=name)
    )


async def create_cohort(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    session: AsyncSession,
    student: Student,
    state: FSMContext,
    bot: Bot,
    viewer: Viewer,
    tour: TourService,
    cohorts: CohortService,
) -> None:
    name = (await state.get_data()).get("cohort_name")
    if not isinstance(name, str):
        await list_cohorts(callback, session, student, viewer, tour, cohorts)
        return
    career = None if callback_data.arg == NO_CAREER else callback_data.arg
    cohort = await cohorts.create(session, viewer, name, career)
    await state.clear()
    view = await cohorts.view(session, cohort, await _bot_username(bot))
    await callback.answer()
    await replace_with_screen(callback, tour.render(student, "cohort", cohort=view))
    await _send_qr(bot, callback.from_user.id, view.link)


async def _send_qr(bot: Bot, chat_id: int, link: str) -> None:
    photo = BufferedInputFile(qr_png(link), filename="invite-qr.png")
    await bot.send_photo(chat_id, photo, caption=link, parse_mode=None)


async def cohort_action(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    session: AsyncSession,
    student: Student,
    state: FSMContext,
    bot: Bot,
    viewer: Viewer,
    tour: TourService,
    cohorts: CohortService,
    broadcast: BroadcastService,
    jobs: JobRunner,
) -> None:
    """Every button about one cohort: the cohort is looked up through the viewer first."""
    cohort_id = int(callback_data.arg) if ROW_ID.fullmatch(callback_data.arg) else 0
    cohort = await cohorts.get(session, viewer, cohort_id)
    if cohort is None:
        await callback.answer(tour.message("menu_changed", student))
        await list_cohorts(callback, session, student, viewer, tour, cohorts)
        return
    action = callback_data.name
    if action in (CLOSE, REOPEN):
        await cohorts.set_open(session, cohort, action == REOPEN)
    view = await cohorts.view(session, cohort, await _bot_username(bot))
    await callback.answer()
    if action == QR:
        await _send_qr(bot, callback.from_user.id, view.link)
        return
    if action == RENAME:
        await state.set_state(StaffInput.cohort_rename)
        await state.set_data({"cohort_id": cohort.id})
        await replace_with_screen(callback, tour.render(student, "cohort_name_prompt"))
        return
    if action == ANNOUNCE:
        await state.set_state(StaffInput.announcement)
        await state.set_data({"cohort_id": cohort.id})
        await replace_with_screen(callback, tour.render(student, "announce_prompt", cohort=view))
        return
    if action == ANNOUNCE_SEND:
        await _send_announcement(
            callback, session, student, state, bot, viewer, tour, broadcast, jobs, cohort
        )
        return
    await replace_with_screen(callback, tour.render(student, "cohort", cohort=view))


async def receive_announcement(
    message: Message,
    session: AsyncSession,
    student: Student,
    state: FSMContext,
    bot: Bot,
    viewer: Viewer,
    tour: TourService,
    cohorts: CohortService,
    broadcast: BroadcastService,
) -> None:
    text = clean_text(message.text)
    if text is None:
        await message.answer(tour.message("announce_text_invalid", student, limit=TEXT_LIMIT))
        return
    data = await state.get_data()
    cohort = await cohorts.get(session, viewer, int(data.get("cohort_id", 0)))
    await state.set_state(None)
    if cohort is None:
        await list_cohorts(message, session, student, viewer, tour, cohorts)
        return
    await state.set_data({"cohort_id": cohort.id, "text": text, "draft": uuid.uuid4().hex})
    view = await cohorts.view(session, cohort, await _bot_username(bot))
    screen = tour.render(
        student, "announce_button_prompt", cohort=view, announcement=broadcast.view(text, None)
    )
    await answer_with_screen(message, screen)


async def choose_announcement_button(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    session: AsyncSession,
    student: Student,
    state: FSMContext,
    bot: Bot,
    viewer: Viewer,
    tour: TourService,
    cohorts: CohortService,
    broadcast: BroadcastService,
) -> None:
    data = await state.get_data()
    cohort = await cohorts.get(session, viewer, int(data.get("cohort_id", 0)))
    text = data.get("text")
    choices = {choice["node"] for choice in broadcast.node_choices()}
    node = callback_data.arg if callback_data.arg in choices else None
    if cohort is None or not isinstance(text, str):
        await list_cohorts(callback, session, student, viewer, tour, cohorts)
        return
    await state.update_data(node=node)
    view = await cohorts.view(session, cohort, await _bot_username(bot))
    screen = tour.render(
        student, "announce_confirm", cohort=view, announcement=broadcast.view(text, node)
    )
    await callback.answer()
    await replace_with_screen(callback, screen)


async def _send_announcement(
    callback: CallbackQuery,
    session: AsyncSession,
    student: Student,
    state: FSMContext,
    bot: Bot,
    viewer: Viewer,
    tour: TourService,
    broadcast: BroadcastService,
    jobs: JobRunner,
    cohort: Cohort,
) -> None:
    """Creates the outbox and wakes the sender. The draft's id makes it once: a second press,
    even handled at the same moment by another worker, creates nothing."""
    data = await state.get_data()
    text, draft = data.get("text"), data.get("draft")
    if (
        data.get("cohort_id") != cohort.id
        or not isinstance(text, str)
        or not isinstance(draft, str)
    ):
        return
    node = data.get("node") if isinstance(data.get("node"), str) else None
    announcement = await broadcast.create(session, draft, cohort, viewer.telegram_id, text, node)
    await state.clear()
    if announcement is None:
        return
    progress = await broadcast.progress(session, announcement.id)
    screen = tour.render(student, "announce_progress", progress=progress)
    sent = await bot.send_message(callback.from_user.id, screen.parts[0])
    announcement.progress_message_id = sent.message_id
    await session.commit()
    jobs.wake()


class ProgressReporter:
    """Keeps the lead's progress message up to date while an announcement goes out."""

    def __init__(self, bot: Bot, tour: TourService) -> None:
        self.bot, self.tour = bot, tour

    async def __call__(self, announcement: Announcement, progress: Progress) -> None:
        screen = self.tour.render(None, "announce_progress", progress=progress)
        try:
            if announcement.progress_message_id is None:
                await send_screen(self.bot, announcement.sender_id, screen)
            else:
                await self.bot.edit_message_text(
                    screen.parts[0],
                    chat_id=announcement.sender_id,
                    message_id=announcement.progress_message_id,
                )
        except TelegramAPIError as exc:
            logger.info("progress of announcement %s not shown: %s", announcement.id, exc.message)


async def manage_leads(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    student: Student,
    viewer: Viewer,
    tour: TourService,
) -> None:
    """/leads, /addlead <telegram id> <name>, /removelead <telegram id> (admins only)."""
    if command.command == "leads":
        leads = await list_leads(session)
        await answer_with_screen(message, tour.render(student, "leads", leads=leads))
        return
    words = (command.args or "").split(maxsplit=1)
    if not words or not TELEGRAM_ID.fullmatch(words[0]):
        await message.answer(tour.message("lead_usage", student))
        return
    telegram_id = int(words[0])
    if command.command == "addlead":
        name = words[1].strip() if len(words) > 1 else words[0]
        added = await grant_lead(session, telegram_id, name, viewer.telegram_id)
        reply = "lead_added" if added else "lead_exists"
        await message.answer(tour.message(reply, student, telegram_id=telegram_id, lead_name=name))
        return
    removed = await revoke_lead(session, telegram_id)
    reply = "lead_removed" if removed else "lead_unknown"
    await message.answer(tour.message(reply, student, telegram_id=telegram_id))


def create_router() -> Router:
    router = Router(name="cohorts")
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat())
    staff, admin = IsStaff(), IsStaff(admin_only=True)
    router.message.register(manage_leads, Command("leads", "addlead", "removelead"), admin)
    router.message.register(list_cohorts, Command("cohorts"), staff)
    router.message.register(
        receive_cohort_name,
        StateFilter(StaffInput.cohort_name),
        ~SlashCommand(),
        staff,
    )
    router.message.register(
        receive_cohort_name, StateFilter(StaffInput.cohort_rename), ~SlashCommand(), staff
    )
    router.message.register(
        receive_announcement, StateFilter(StaffInput.announcement), ~SlashCommand(), staff
    )
    router.callback_query.register(list_cohorts, ActionCallback.filter(F.name == COHORTS), staff)
    router.callback_query.register(new_cohort, ActionCallback.filter(F.name == NEW), staff)
    router.callback_query.register(create_cohort, ActionCallback.filter(F.name == CREATE), staff)
    router.callback_query.register(
        choose_announcement_button, ActionCallback.filter(F.name == ANNOUNCE_BUTTON), staff
    )
    router.callback_query.register(
        cohort_action, ActionCallback.filter(F.name.in_(COHORT_ACTIONS)), staff
    )
    return router
