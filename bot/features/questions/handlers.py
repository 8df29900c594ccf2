"""Free text that is no command and no expected input is a question, answered from content."""

import asyncio

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.features.feature import Kit, Wiring
from bot.features.project.contract import NOTE_PLACES
from bot.features.project.service import NoteRefused, ProjectService, clean_note
from bot.features.questions.service import QuestionService, record_question
from bot.filters import PlainText, PrivateChat
from bot.flow import NoteOffer
from bot.ui import Ui

QUESTION_LIMIT = 1000


async def answer_question(
    message: Message, state: FSMContext, ui: Ui, questions: QuestionService, project: ProjectService
) -> None:
    text = (message.text or "")[:QUESTION_LIMIT]
    answer = questions.answer(text, ui.student.career)
    # A note typed on a project screen shares the step's words, so the card's passages may
    # "answer" it: unless it is phrased as a question, it is offered as a note first.
    maybe_note = not answer.understood or (answer.from_passages and not questions.asks(text))
    if maybe_note and await _offer_note(text, state, ui, project):
        return
    await record_question(ui.session, ui.student, text, answer)
    await ui.show(answer.node, answer=answer)


async def _offer_note(text: str, state: FSMContext, ui: Ui, project: ProjectService) -> bool:
    """Text typed on a project screen that is no question is most likely a note on the step
    the student works on: offer to keep it (kept meanwhile in the chat's flow data), rather
    than answer "I don't know that one". Not kept as an unanswered question for authors."""
    profile = ui.tour.profile_of(ui.student)
    if profile is None or ui.student.node not in NOTE_PLACES:
        return False
    try:
        clean_note(text)
    except NoteRefused:
        return False  # too long or blank for a note: a question after all
    step = await project.note_step(ui.session, ui.student, profile)
    if step is None:
        return False
    await NoteOffer(career=profile.slug, step=step.step.id, text=text).write(state)
    await ui.show("project_note_offer", step=step, note=text)
    return True


def setup(kit: Kit) -> Wiring:
    questions = kit.content.questions

    async def learn_examples() -> None:
        # Off the event loop: the other features' start-up steps go on meanwhile.
        await asyncio.to_thread(questions.prepare)

    return Wiring(services={"questions": questions}, on_startup=[learn_examples])


def create_router() -> Router:
    router = Router(name="questions")
    router.message.filter(PrivateChat())
    router.message.register(answer_question, PlainText())
    return router
