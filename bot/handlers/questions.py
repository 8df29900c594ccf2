"""Free text that is no command and no expected input is a question, answered from content."""

from aiogram import Router
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Student
from bot.filters import PlainText, PrivateChat
from bot.screens import answer_with_screen
from bot.services.questions import QuestionService, record_question
from bot.services.tour import TourService

QUESTION_LIMIT = 1000


async def answer_question(
    message: Message,
    session: AsyncSession,
    student: Student,
    tour: TourService,
    questions: QuestionService,
) -> None:
    text = (message.text or "")[:QUESTION_LIMIT]
    answer = questions.answer(text, student.career)
    await record_question(session, student, text, answer)
    screen = await tour.show(session, student, f"answer_{answer.intent}", answer=answer)
    await answer_with_screen(message, screen)


def create_router() -> Router:
    router = Router(name="questions")
    router.message.filter(PrivateChat())
    router.message.register(answer_question, PlainText())
    return router
