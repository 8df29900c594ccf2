"""/mydata shows a student everything stored about them; /forget deletes it, after a yes."""

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions.privacy import FORGET
from bot.db.models import Student
from bot.engine.callbacks import ActionCallback
from bot.engine.dialogs import Screen
from bot.filters import PrivateChat
from bot.handlers.tour import show_changed_menu
from bot.screens import answer_with_screen, replace_with_screen
from bot.services.privacy import PrivacyService
from bot.services.students import record_event
from bot.services.tour import TourService


async def my_data(
    message: Message, session: AsyncSession, student: Student, tour: TourService
) -> None:
    await record_event(session, student, "command", "mydata", commit=False)
    await answer_with_screen(message, await tour.show(session, student, "mydata"))


async def ask_to_forget(
    message: Message, session: AsyncSession, student: Student, tour: TourService
) -> None:
    await record_event(session, student, "command", "forget", commit=False)
    await answer_with_screen(message, await tour.show(session, student, "forget"))


async def forget(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    session: AsyncSession,
    student: Student,
    state: FSMContext,
    tour: TourService,
    privacy: PrivacyService,
) -> None:
    if callback_data.arg != "yes":
        await show_changed_menu(callback, session, student, tour)
        return
    farewell = tour.message("forgotten", student)
    await state.clear()
    await privacy.forget(session, student)
    await callback.answer()
    await replace_with_screen(callback, Screen(parts=[farewell]))


def create_router() -> Router:
    router = Router(name="privacy")
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat())
    router.message.register(my_data, Command("mydata"))
    router.message.register(ask_to_forget, Command("forget"))
    router.callback_query.register(forget, ActionCallback.filter(F.name == FORGET))
    return router
