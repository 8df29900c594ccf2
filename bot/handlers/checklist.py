"""The fit checklist walkthrough: start, answer, go back, resume, see the result."""

from aiogram import F, Router
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions.checklist import ANSWER, BACK, RESUME, START
from bot.db.models import Student
from bot.engine.callbacks import ActionCallback
from bot.filters import PrivateChat
from bot.handlers.tour import show_changed_menu
from bot.screens import replace_with_screen
from bot.services.checklist import ChecklistService, Question, Result
from bot.services.tour import TourService


def parse_numbers(arg: str, count: int) -> list[int] | None:
    """`count` dot-separated non-negative integers from a button's arg, or None if forged."""
    parts = arg.split(".")[:count]
    if len(parts) != count or not all(
        part.isascii() and part.isdigit() and len(part) < 10 for part in parts
    ):
        return None
    return [int(part) for part in parts]


async def _show(
    callback: CallbackQuery,
    session: AsyncSession,
    student: Student,
    tour: TourService,
    step: Question | Result | None,
) -> None:
    if step is None:
        await show_changed_menu(callback, session, student, tour)
        return
    if isinstance(step, Question):
        screen = await tour.show(session, student, "checklist_question", question=step)
    else:
        screen = await tour.show(session, student, "checklist_result", result=step)
    await callback.answer()
    await replace_with_screen(callback, screen)


async def start_or_resume(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    session: AsyncSession,
    student: Student,
    tour: TourService,
    checklist: ChecklistService,
) -> None:
    profile = tour.profile_of(student)
    if profile is None:
        await show_changed_menu(callback, session, student, tour)
        return
    if callback_data.name == START:
        step: Question | Result = await checklist.start(session, student, profile)
    else:
        step = await checklist.resume(session, student, profile)
    await _show(callback, session, student, tour, step)


async def answer(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    session: AsyncSession,
    student: Student,
    tour: TourService,
    checklist: ChecklistService,
) -> None:
    profile = tour.profile_of(student)
    numbers = parse_numbers(callback_data.arg, 2)
    value = callback_data.arg.rsplit(".", 1)[-1]
    step = None
    if profile is not None and numbers is not None:
        attempt_id, index = numbers
        step = await checklist.answer(session, student, profile, attempt_id, index, value)
    await _show(callback, session, student, tour, step)


async def back(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    session: AsyncSession,
    student: Student,
    tour: TourService,
    checklist: ChecklistService,
) -> None:
    profile = tour.profile_of(student)
    numbers = parse_numbers(callback_data.arg, 2)
    step = None
    if profile is not None and numbers is not None:
        step = await checklist.back(session, student, profile, *numbers)
    await _show(callback, session, student, tour, step)


def create_router() -> Router:
    router = Router(name="checklist")
    router.callback_query.filter(PrivateChat())
    router.callback_query.register(
        start_or_resume, ActionCallback.filter(F.name.in_({START, RESUME}))
    )
    router.callback_query.register(answer, ActionCallback.filter(F.name == ANSWER))
    router.callback_query.register(back, ActionCallback.filter(F.name == BACK))
    return router
