"""Announcements: a lead writes one to a cohort, may add a button, confirms; the background
jobs deliver it and keep the lead's progress message up to date.

Every handler sits behind IsStaff, and the cohort is looked up through the viewer, from the
button or from the flow's data (the filters of bot/features/cohorts/handlers.py).
"""

import logging
import uuid

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.db.models import Announcement
from bot.engine.callbacks import ActionCallback
from bot.features.announcements.contract import (
    ANNOUNCE,
    ANNOUNCE_BUTTON,
    ANNOUNCE_SEND,
    BUTTON_PROMPT,
    CONFIRM,
    HISTORY,
    HISTORY_ACTION,
    PROGRESS,
    PROMPT,
)
from bot.features.announcements.service import (
    TEXT_LIMIT,
    AnnouncementService,
    Progress,
    clean_text,
)
from bot.features.cohorts.handlers import (
    CohortFlow,
    FlowCohort,
    PagedCohort,
    ViewersCohort,
    cohort_gone,
    cohort_view_and_page,
)
from bot.features.cohorts.service import CohortView
from bot.features.feature import Kit, Wiring
from bot.features.tour.service import TourService
from bot.filters import IsStaff, PrivateChat, SlashCommand
from bot.flow import AnnouncementDraft
from bot.screens import send_screen
from bot.services.jobs import JobRunner
from bot.ui import Ui

logger = logging.getLogger(__name__)
NO_BUTTON = "-"


class AnnouncementInput(StatesGroup):
    text = State()


async def write(callback: CallbackQuery, cohort: CohortView, state: FSMContext, ui: Ui) -> None:
    await state.set_state(AnnouncementInput.text)
    await AnnouncementDraft(cohort_id=cohort.cohort.id).write(state)
    await ui.render(PROMPT, cohort=cohort)


async def receive_text(
    message: Message,
    flow: CohortFlow[AnnouncementDraft],
    ui: Ui,
    announcements: AnnouncementService,
) -> None:
    text = clean_text(message.text)
    if text is None:
        await ui.say("announcement_text_invalid", limit=TEXT_LIMIT)
        return
    await flow.stop_waiting()
    await flow.save(flow.draft.model_copy(update={"text": text, "draft": uuid.uuid4().hex}))
    preview = announcements.view(text, None)
    await ui.render(BUTTON_PROMPT, cohort=flow.cohort, announcement=preview)


async def choose_button(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    flow: CohortFlow[AnnouncementDraft],
    ui: Ui,
    announcements: AnnouncementService,
) -> None:
    choices = {choice["node"] for choice in announcements.node_choices()}
    node = callback_data.arg if callback_data.arg in choices else None
    await flow.save(flow.draft.model_copy(update={"node": node}))
    text = flow.draft.text or ""
    await ui.render(CONFIRM, cohort=flow.cohort, announcement=announcements.view(text, node))


async def send(
    callback: CallbackQuery,
    flow: CohortFlow[AnnouncementDraft],
    ui: Ui,
    announcements: AnnouncementService,
    jobs: JobRunner,
) -> None:
    """Creates the outbox and wakes the sender. The draft's id makes it once: a second press,
    even handled at the same moment by another worker, creates nothing."""
    await ui.answer_press()
    draft = flow.draft
    if draft.text is None or draft.draft is None:
        return
    announcement = await announcements.create(
        ui.session, draft.draft, flow.cohort.cohort, callback.from_user.id, draft.text, draft.node
    )
    await flow.end()
    if announcement is None:
        return
    progress = await announcements.progress(ui.session, announcement.id)
    screen = ui.tour.render(ui.student, PROGRESS, progress=progress)
    sent = await ui.send_text(screen.parts[0])
    announcement.progress_message_id = sent.message_id
    # The sender reads the progress message's id: stored before it is woken.
    await ui.session.commit()
    jobs.wake()


async def history(
    callback: CallbackQuery,
    cohort: CohortView,
    page: int,
    ui: Ui,
    announcements: AnnouncementService,
) -> None:
    sent = await announcements.history(ui.session, cohort, page, ui.tour.admin_ids)
    await ui.render(HISTORY, history=sent)


class ProgressReporter:
    """Keeps the lead's progress message up to date while an announcement goes out."""

    def __init__(self, bot: Bot, tour: TourService) -> None:
        self.bot, self.tour = bot, tour

    async def __call__(self, announcement: Announcement, progress: Progress) -> None:
        screen = self.tour.render(None, PROGRESS, progress=progress)
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


def setup(kit: Kit) -> Wiring:
    settings, tour = kit.settings, kit.services["tour"]
    announcements = AnnouncementService(
        kit.database.session_factory,
        tour,
        settings.broadcast_per_second,
        settings.announcement_retry_hours,
        settings.announcement_retry_base_seconds,
        settings.program_zone,
    )
    # One background sender for announcements and project reminders: they share its pace
    # and its lease (bot/services/jobs.py).
    jobs = JobRunner(
        kit.database.session_factory,
        announcements,
        kit.services["reminders"],
        settings.jobs_lease_seconds,
    )

    async def start_jobs(bot: Bot) -> None:
        jobs.start(bot, ProgressReporter(bot, tour))

    return Wiring(
        services={"announcements": announcements, "jobs": jobs},
        on_startup=[start_jobs],
        on_shutdown=[jobs.stop],
    )


def _has_text(draft: AnnouncementDraft) -> bool:
    return draft.text is not None


def create_router() -> Router:
    router = Router(name="announcements")
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat())
    staff, button = IsStaff(), ActionCallback.filter
    writing = StateFilter(AnnouncementInput.text)
    router.message.register(
        receive_text, writing, ~SlashCommand(), staff, FlowCohort(AnnouncementDraft)
    )
    router.message.register(cohort_gone, writing, ~SlashCommand(), staff)
    router.callback_query.register(write, button(F.name == ANNOUNCE), staff, ViewersCohort())
    has_text = FlowCohort(AnnouncementDraft, ready=_has_text)
    router.callback_query.register(
        choose_button, button(F.name == ANNOUNCE_BUTTON), staff, has_text
    )
    same_cohort = FlowCohort(AnnouncementDraft, button=True, ready=_has_text)
    router.callback_query.register(send, button(F.name == ANNOUNCE_SEND), staff, same_cohort)
    router.callback_query.register(
        history, button(F.name == HISTORY_ACTION), staff, PagedCohort(cohort_view_and_page)
    )
    actions = {ANNOUNCE, ANNOUNCE_BUTTON, ANNOUNCE_SEND, HISTORY_ACTION}
    router.callback_query.register(cohort_gone, button(F.name.in_(actions)), staff)
    return router
