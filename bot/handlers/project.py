"""The starter project: steps, notes typed as messages, iterations and the reminder opt-in."""

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions.project import DONE, LOG, NOTE, REMIND, START, STEP
from bot.content.models import Profile
from bot.db.models import Student
from bot.engine.callbacks import ActionCallback
from bot.filters import PrivateChat, SlashCommand
from bot.handlers.tour import show_changed_menu
from bot.screens import answer_with_screen, replace_with_screen
from bot.services.project import NOTE_LIMIT, NoteRefused, ProjectService, StepView, clean_note
from bot.services.students import record_event
from bot.services.tour import TourService


class ProjectInput(StatesGroup):
    note = State()


def parse_step_seq(arg: str) -> tuple[str, int] | None:
    step_id, _, seq = arg.partition(".")
    if not step_id or not (seq.isascii() and seq.isdigit()) or len(seq) > 6:
        return None
    return step_id, int(seq)


async def _show_step(
    callback: CallbackQuery,
    session: AsyncSession,
    student: Student,
    tour: TourService,
    view: StepView | None,
) -> None:
    if view is None:
        await show_changed_menu(callback, session, student, tour)
        return
    screen = await tour.show(session, student, "project_step", step=view)
    await callback.answer()
    await replace_with_screen(callback, screen)


async def start(
    callback: CallbackQuery,
    session: AsyncSession,
    student: Student,
    tour: TourService,
    project: ProjectService,
) -> None:
    profile = tour.profile_of(student)
    view = await project.start(session, student, profile) if profile else None
    await _show_step(callback, session, student, tour, view)


async def open_step(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    session: AsyncSession,
    student: Student,
    tour: TourService,
    project: ProjectService,
) -> None:
    profile = tour.profile_of(student)
    view = await project.step(session, student, profile, callback_data.arg) if profile else None
    await _show_step(callback, session, student, tour, view)


async def mark_done(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    session: AsyncSession,
    student: Student,
    tour: TourService,
    project: ProjectService,
) -> None:
    profile = tour.profile_of(student)
    if profile is None:
        await show_changed_menu(callback, session, student, tour)
        return
    view = await project.mark_done(session, student, profile, callback_data.arg)
    if view is None:
        await _not_reached(callback, session, student, tour, project, profile)
        return
    await _show_step(callback, session, student, tour, view)


async def log_iteration(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    session: AsyncSession,
    student: Student,
    tour: TourService,
    project: ProjectService,
) -> None:
    profile = tour.profile_of(student)
    parsed = parse_step_seq(callback_data.arg)
    view = None
    if profile is not None and parsed is not None:
        view = await project.add_entry(session, student, profile, *parsed, note=None)
    await _show_step(callback, session, student, tour, view)


async def ask_for_note(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    session: AsyncSession,
    student: Student,
    state: FSMContext,
    tour: TourService,
    project: ProjectService,
) -> None:
    """Waits for the note as the student's next message; the wait survives a restart."""
    profile = tour.profile_of(student)
    parsed = parse_step_seq(callback_data.arg)
    view = await project.step(session, student, profile, parsed[0]) if profile and parsed else None
    if view is None or parsed is None or not view.step.note_prompt:
        await show_changed_menu(callback, session, student, tour)
        return
    await state.set_state(ProjectInput.note)
    await state.set_data({"career": student.career, "step": parsed[0], "seq": parsed[1]})
    screen = await tour.show(session, student, "project_note_prompt", step=view, limit=NOTE_LIMIT)
    await callback.answer()
    await replace_with_screen(callback, screen)


async def receive_note(
    message: Message,
    session: AsyncSession,
    student: Student,
    state: FSMContext,
    tour: TourService,
    project: ProjectService,
) -> None:
    data = await state.get_data()
    profile = tour.profile_of(student)
    view = None
    if profile is not None and profile.slug == data.get("career"):
        view = await project.step(session, student, profile, str(data.get("step")))
    if profile is None or view is None:
        await state.clear()
        await answer_with_screen(
            message, await tour.show(session, student, tour.entry_node(student))
        )
        return
    if message.text is None:
        await message.answer(tour.message("note_needs_text", student, step=view))
        return
    try:
        note = clean_note(message.text)
    except NoteRefused as refused:
        length = len(message.text.strip())
        await message.answer(
            tour.message(refused.reason, student, step=view, limit=NOTE_LIMIT, length=length)
        )
        return
    saved = await project.add_entry(
        session, student, profile, view.step.id, int(data.get("seq", 1)), note
    )
    await state.clear()
    target = saved or view
    await answer_with_screen(
        message, await tour.show(session, student, "project_step", step=target)
    )


async def remind(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    session: AsyncSession,
    student: Student,
    tour: TourService,
    project: ProjectService,
) -> None:
    profile = tour.profile_of(student)
    if profile is None or callback_data.arg not in {"on", "off"}:
        await show_changed_menu(callback, session, student, tour)
        return
    await project.set_reminders(session, student, profile, callback_data.arg == "on")
    screen = await tour.show(session, student, "project")
    await callback.answer()
    await replace_with_screen(callback, screen)


async def _not_reached(
    callback: CallbackQuery,
    session: AsyncSession,
    student: Student,
    tour: TourService,
    project: ProjectService,
    profile: Profile,
) -> None:
    """A step that isn't open yet: say so and show the step the student is really on."""
    current = (await project.overview(session, student, profile)).current
    if current is None:
        await show_changed_menu(callback, session, student, tour)
        return
    screen = await tour.show(session, student, "project_step", step=current)
    await callback.answer(tour.message("step_not_reached", student))
    await replace_with_screen(callback, screen)


async def progress(
    message: Message, session: AsyncSession, student: Student, tour: TourService
) -> None:
    await record_event(session, student, "command", "progress", commit=False)
    await answer_with_screen(message, await tour.show(session, student, "progress"))


def create_router() -> Router:
    router = Router(name="project")
    router.callback_query.filter(PrivateChat())
    router.message.filter(PrivateChat())
    router.message.register(progress, Command("progress"))
    router.message.register(receive_note, StateFilter(ProjectInput.note), ~SlashCommand())
    router.callback_query.register(start, ActionCallback.filter(F.name == START))
    router.callback_query.register(open_step, ActionCallback.filter(F.name == STEP))
    router.callback_query.register(mark_done, ActionCallback.filter(F.name == DONE))
    router.callback_query.register(log_iteration, ActionCallback.filter(F.name == LOG))
    router.callback_query.register(ask_for_note, ActionCallback.filter(F.name == NOTE))
    router.callback_query.register(remind, ActionCallback.filter(F.name == REMIND))
    return router
