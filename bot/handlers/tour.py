"""Button presses that move through the dialog tree, and picking a career."""

from aiogram import F, Router
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions.tour import CHOOSE_CAREER, OPEN
from bot.db.models import Student
from bot.engine.callbacks import ActionCallback, NodeCallback
from bot.filters import PrivateChat
from bot.screens import replace_with_screen
from bot.services.tour import TourService


async def open_node(
    callback: CallbackQuery,
    callback_data: NodeCallback | ActionCallback,
    session: AsyncSession,
    student: Student,
    tour: TourService,
) -> None:
    """A button to a node: from the tree (`n:`) or an `open` action with a node chosen at
    run time (an announcement's button). A node the student may not open (gone, or for
    staff only: a forged button) is an old button to them."""
    node = callback_data.node if isinstance(callback_data, NodeCallback) else callback_data.arg
    if not await tour.may_open(session, student, node):
        await show_changed_menu(callback, session, student, tour)
        return
    screen = await tour.show(session, student, node)
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
    screen = await tour.show(session, student, tour.entry_node(student))
    await callback.answer(tour.message("menu_changed", student), show_alert=False)
    await replace_with_screen(callback, screen)


def create_router() -> Router:
    router = Router(name="tour")
    router.callback_query.filter(PrivateChat())
    router.callback_query.register(open_node, NodeCallback.filter())
    router.callback_query.register(open_node, ActionCallback.filter(F.name == OPEN))
    router.callback_query.register(choose_career, ActionCallback.filter(F.name == CHOOSE_CAREER))
    return router
