"""The interest quiz: /quiz, start, answer, go back, resume, see the result. It needs no
career: it is how a student who doesn't know where to start finds one."""

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine.callbacks import ActionCallback
from bot.features.feature import Kit, Wiring
from bot.features.quiz.contract import ANSWER, BACK, RESUME, START
from bot.features.quiz.service import QuizResult, QuizService, Statement
from bot.filters import PrivateChat
from bot.services.students import record_event
from bot.ui import Ui


def parse_press(arg: str) -> tuple[int, str, str] | None:
    """`<attempt>.<item>[.<value>]` from a button, or None when forged."""
    attempt, _, rest = arg.partition(".")
    item, _, value = rest.partition(".")
    if not (attempt.isascii() and attempt.isdigit() and len(attempt) < 10 and item):
        return None
    return int(attempt), item, value


async def _show(ui: Ui, step: Statement | QuizResult | None) -> None:
    if step is None:
        await ui.menu_changed()
    elif isinstance(step, Statement):
        await ui.show("quiz_question", statement=step)
    else:
        await ui.show("quiz_result", quiz_result=step)


async def open_quiz(message: Message, session: AsyncSession, ui: Ui) -> None:
    await record_event(session, ui.student, "command", "quiz", commit=False)
    await ui.show("quiz")


async def start(callback: CallbackQuery, session: AsyncSession, ui: Ui, quiz: QuizService) -> None:
    await _show(ui, await quiz.start(session, ui.student))


async def resume(callback: CallbackQuery, session: AsyncSession, ui: Ui, quiz: QuizService) -> None:
    await _show(ui, await quiz.resume(session, ui.student))


async def answer(
    callback: CallbackQuery, callback_data: ActionCallback, ui: Ui, quiz: QuizService
) -> None:
    press = parse_press(callback_data.arg)
    step = None
    if press is not None and press[2].isascii() and press[2].isdigit() and len(press[2]) < 3:
        attempt_id, item, value = press
        step = await quiz.answer(ui.session, ui.student, attempt_id, item, int(value))
    await _show(ui, step)


async def back(
    callback: CallbackQuery, callback_data: ActionCallback, ui: Ui, quiz: QuizService
) -> None:
    press = parse_press(callback_data.arg)
    step = None
    if press is not None and not press[2]:
        step = await quiz.back(ui.session, ui.student, press[0], press[1])
    await _show(ui, step)


def setup(kit: Kit) -> Wiring:
    quiz = QuizService(kit.content.quiz, kit.content.catalog)
    return Wiring(
        services={"quiz": quiz},
        getters={
            "quiz": lambda session, student, profile: quiz.overview(session, student),
            "quiz_result": lambda session, student, profile: quiz.last_result(session, student),
        },
    )


def create_router() -> Router:
    router = Router(name="quiz")
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat())
    router.message.register(open_quiz, Command("quiz"))
    router.callback_query.register(start, ActionCallback.filter(F.name == START))
    router.callback_query.register(resume, ActionCallback.filter(F.name == RESUME))
    router.callback_query.register(answer, ActionCallback.filter(F.name == ANSWER))
    router.callback_query.register(back, ActionCallback.filter(F.name == BACK))
    return router
