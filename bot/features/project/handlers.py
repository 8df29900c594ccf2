"""The starter project: steps, notes typed as messages, iterations, and /progress."""

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.content.models import Profile
from bot.engine.callbacks import ActionCallback
from bot.features.feature import Kit, Wiring, required
from bot.features.project.contract import DONE, KEEP_NOTE, LOG, NOTE, START, STEP
from bot.features.project.progress import ProgressService
from bot.features.project.service import (
    NOTE_LIMIT,
    NoteRefused,
    ProjectService,
    StepView,
    clean_note,
)
from bot.filters import OfCareer, PrivateChat, SlashCommand
from bot.flow import NoteDraft, NoteOffer
from bot.services.students import record_event
from bot.ui import Ui


class ProjectInput(StatesGroup):
    note = State()


def parse_step_seq(arg: str) -> tuple[str, int] | None:
    step_id, _, seq = arg.partition(".")
    if not step_id or not (seq.isascii() and seq.isdigit()) or len(seq) > 6:
        return None
    return step_id, int(seq)


async def _show_step(ui: Ui, view: StepView | None) -> None:
    if view is None:
        await ui.menu_changed()
        return
    await ui.show("project_step", step=view)


async def start(callback: CallbackQuery, profile: Profile, ui: Ui, project: ProjectService) -> None:
    await _show_step(ui, await project.start(ui.session, ui.student, profile))


async def open_step(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    profile: Profile,
    ui: Ui,
    project: ProjectService,
) -> None:
    await _show_step(ui, await project.step(ui.session, ui.student, profile, callback_data.arg))


async def mark_done(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    profile: Profile,
    ui: Ui,
    project: ProjectService,
) -> None:
    view = await project.mark_done(ui.session, ui.student, profile, callback_data.arg)
    if view is not None:
        # Done with the last step: the finish, where the student says how it felt.
        await ui.show("project_finished" if view.finished else "project_step", step=view)
        return
    # A step that isn't open yet: say so and show the step the student is really on.
    current = (await project.overview(ui.session, ui.student, profile)).current
    if current is None:
        await ui.menu_changed()
        return
    await ui.toast("step_not_reached")
    await ui.show("project_step", step=current)


async def log_iteration(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    profile: Profile,
    ui: Ui,
    project: ProjectService,
) -> None:
    parsed = parse_step_seq(callback_data.arg)
    view = None
    if parsed is not None:
        view = await project.add_entry(ui.session, ui.student, profile, *parsed, note=None)
    await _show_step(ui, view)


async def ask_for_note(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    state: FSMContext,
    profile: Profile,
    ui: Ui,
    project: ProjectService,
) -> None:
    """Waits for the note as the student's next message; the wait survives a restart."""
    parsed = parse_step_seq(callback_data.arg)
    view = await project.step(ui.session, ui.student, profile, parsed[0]) if parsed else None
    if view is None or parsed is None or not view.step.note_prompt:
        await ui.menu_changed()
        return
    await state.set_state(ProjectInput.note)
    await NoteDraft(career=profile.slug, step=parsed[0], seq=parsed[1]).write(state)
    await ui.show("project_note_prompt", step=view, limit=NOTE_LIMIT)


async def receive_note(
    message: Message, state: FSMContext, ui: Ui, project: ProjectService
) -> None:
    draft = await NoteDraft.read(state)
    profile = ui.tour.profile_of(ui.student)
    view = None
    if profile is not None and draft is not None and profile.slug == draft.career:
        view = await project.step(ui.session, ui.student, profile, draft.step)
    if profile is None or draft is None or view is None:
        await state.clear()
        await ui.show_entry()
        return
    if message.text is None:
        await ui.say("note_needs_text", step=view)
        return
    try:
        note = clean_note(message.text)
    except NoteRefused as refused:
        length = len(message.text.strip())
        await ui.say(refused.reason, step=view, limit=NOTE_LIMIT, length=length)
        return
    saved = await project.add_entry(ui.session, ui.student, profile, view.step.id, draft.seq, note)
    await state.clear()
    await ui.show("project_step", step=saved or view)


async def keep_note(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    state: FSMContext,
    ui: Ui,
    project: ProjectService,
) -> None:
    """Keeps the text offered as a note on the step the button names, once: the offer is
    cleared, so a second tap, an old button or another step's finds nothing to keep."""
    offer = await NoteOffer.read(state)
    profile = ui.tour.profile_of(ui.student)
    if (
        offer is None
        or profile is None
        or (offer.career, offer.step)
        != (
            profile.slug,
            callback_data.arg,
        )
    ):
        await ui.menu_changed()
        return
    await state.set_data({})
    view = await project.step(ui.session, ui.student, profile, offer.step)
    try:
        note = clean_note(offer.text)
    except NoteRefused as refused:
        if view is not None:
            length = len(offer.text.strip())
            await ui.toast(refused.reason, step=view, limit=NOTE_LIMIT, length=length)
        await _show_step(ui, view)
        return
    seq = view.next_seq if view is not None and view.step.repeatable else 1
    saved = await project.add_entry(ui.session, ui.student, profile, offer.step, seq, note)
    await _show_step(ui, saved)


async def progress(message: Message, ui: Ui) -> None:
    await record_event(ui.session, ui.student, "command", "progress", commit=False)
    await ui.show("progress")


def setup(kit: Kit) -> Wiring:
    project = ProjectService()
    progress = ProgressService(kit.content.catalog, kit.services["checklist"], project)
    return Wiring(
        # `progress`: every career the student tried, for /progress and the passport.
        services={"project": project, "progress": progress},
        getters={
            "project": lambda session, student, profile: project.overview(
                session, student, required(profile)
            ),
            "other_careers": lambda session, student, profile: progress.others(session, student),
            "progress_line": lambda session, student, profile: progress.line(
                session, student, required(profile)
            ),
        },
    )


def create_router() -> Router:
    router = Router(name="project")
    router.callback_query.filter(PrivateChat(), OfCareer())
    router.message.filter(PrivateChat())
    router.message.register(progress, Command("progress"))
    router.message.register(receive_note, StateFilter(ProjectInput.note), ~SlashCommand())
    router.callback_query.register(start, ActionCallback.filter(F.name == START))
    router.callback_query.register(open_step, ActionCallback.filter(F.name == STEP))
    router.callback_query.register(mark_done, ActionCallback.filter(F.name == DONE))
    router.callback_query.register(log_iteration, ActionCallback.filter(F.name == LOG))
    router.callback_query.register(ask_for_note, ActionCallback.filter(F.name == NOTE))
    router.callback_query.register(keep_note, ActionCallback.filter(F.name == KEEP_NOTE))
    return router
