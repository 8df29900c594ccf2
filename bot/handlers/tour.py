"""Button presses that move through the dialog tree, and picking a career."""

from aiogram import F, Router
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Student
from bot.engine.callbacks import ActionCallback, NodeCallback
from bot.handlers.screens import replace_with_screen
from bot.services.tour import TourService

CHOOSE_CAREER = "career"
ACTIONS = frozenset({CHOOSE_CAREER})


async def open_node(
    callback: CallbackQuery,
    callback_data: NodeCallback,
    session: AsyncSession,
    student: Student,
    tour: TourService,
) -> None:
    if not tour.knows(callback_data.node):
        await show_changed_menu(callback, session, student, tour)
        return
    screen = await tour.show(session, student, callback_data.node)
    await callback.answer()
    await replace_with_screen(callback, screen)


async def choose_career(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    session: AsyncSession,
    student: Student,
    tour: TourService,
) -> None:
    if not await tour.choose_career(session, student, callback_data.arg):
        await show_changed_menu(callback, session, student, tour)
        return
    screen = await tour.show(session, student, tour.entry_node(student))
    await callback.answer()
    await replace_with_screen(callback, screen)


async def show_changed_menu(
    callback: CallbackQuery, session: AsyncSession, student: Student, tour: TourService
) -> None:
    """An old or unknown button: say so briefly and show the current menu instead."""
    await tour.ensure_career(session, student)
    screen = await tour.show(session, student, tour.entry_node(student))
    await callback.answer(tour.message("menu_changed", student), show_alert=False)
    await replace_with_screen(callback, screen)


def create_router() -> Router:
    router = Router(name="tour")
    router.callback_query.filter(F.message.chat.type == "private")
    router.callback_query.register(open_node, NodeCallback.filter())
    router.callback_query.register(choose_career, ActionCallback.filter(F.name == CHOOSE_CAREER))
    return router
