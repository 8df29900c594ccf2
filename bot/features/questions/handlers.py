"""Free text that is no command and no expected input is a question, answered from content."""

import asyncio

from aiogram import Router
from aiogram.types import Message

from bot.features.feature import Kit, Wiring
from bot.features.questions.service import QuestionService, record_question
from bot.filters import PlainText, PrivateChat
from bot.ui import Ui

QUESTION_LIMIT = 1000


async def answer_question(message: Message, ui: Ui, questions: QuestionService) -> None:
    text = (message.text or "")[:QUESTION_LIMIT]
    answer = questions.answer(text, ui.student.career)
    await record_question(ui.session, ui.student, text, answer)
    await ui.show(answer.node, answer=answer)


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
