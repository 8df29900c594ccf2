"""The fit checklist walkthrough: start, answer, go back, resume, see the result."""

from aiogram import F, Router
from aiogram.types import CallbackQuery
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.models import Profile
from bot.engine.callbacks import ActionCallback
from bot.features.checklist.contract import ANSWER, BACK, RESUME, START
from bot.features.checklist.service import ChecklistService, Question, Result
from bot.features.feature import Kit, Wiring, required
from bot.filters import OfCareer, PrivateChat
from bot.ui import Ui


def parse_numbers(arg: str, count: int) -> list[int] | None:
    """`count` dot-separated non-negative integers from a button's arg, or None if forged."""
    parts = arg.split(".")[:count]
    if len(parts) != count or not all(
        part.isascii() and part.isdigit() and len(part) < 10 for part in parts
    ):
        return None
    return [int(part) for part in parts]


async def _show(ui: Ui, step: Question | Result | None) -> None:
    if step is None:
        await ui.menu_changed()
    elif isinstance(step, Question):
        await ui.show("checklist_question", question=step)
    else:
        await ui.show("checklist_result", result=step)


async def start(
    callback: CallbackQuery,
    session: AsyncSession,
    profile: Profile,
    ui: Ui,
    checklist: ChecklistService,
) -> None:
    await _show(ui, await checklist.start(session, ui.student, profile))


async def resume(
    callback: CallbackQuery,
    session: AsyncSession,
    profile: Profile,
    ui: Ui,
    checklist: ChecklistService,
) -> None:
    await _show(ui, await checklist.resume(session, ui.student, profile))


async def answer(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    profile: Profile,
    ui: Ui,
    checklist: ChecklistService,
) -> None:
    numbers = parse_numbers(callback_data.arg, 2)
    value = callback_data.arg.rsplit(".", 1)[-1]
    step = None
    if numbers is not None:
        attempt_id, index = numbers
        step = await checklist.answer(ui.session, ui.student, profile, attempt_id, index, value)
    await _show(ui, step)


async def back(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    profile: Profile,
    ui: Ui,
    checklist: ChecklistService,
) -> None:
    numbers = parse_numbers(callback_data.arg, 2)
    step = None
    if numbers is not None:
        step = await checklist.back(ui.session, ui.student, profile, *numbers)
    await _show(ui, step)


def setup(kit: Kit) -> Wiring:
    checklist = ChecklistService()
    return Wiring(
        services={"checklist": checklist},
        getters={
            "checklist": lambda session, student, profile: checklist.overview(
                session, student, required(profile)
            ),
            "result": lambda session, student, profile: checklist.last_result(
                session, student, required(profile)
            ),
        },
    )


def create_router() -> Router:
    router = Router(name="checklist")
    router.callback_query.filter(PrivateChat(), OfCareer())
    router.callback_query.register(start, ActionCallback.filter(F.name == START))
    router.callback_query.register(resume, ActionCallback.filter(F.name == RESUME))
    router.callback_query.register(answer, ActionCallback.filter(F.name == ANSWER))
    router.callback_query.register(back, ActionCallback.filter(F.name == BACK))
    return router
