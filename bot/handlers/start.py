"""/start (with or without a deep-link payload), /menu, /help and /privacy."""

import re

from aiogram import Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Student
from bot.filters import PrivateChat
from bot.screens import answer_with_screen
from bot.services.cohorts import CohortService, JoinOutcome
from bot.services.students import record_event
from bot.services.tour import TourService

DEEP_LINK_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
JOIN_NOTES = {
    JoinOutcome.JOINED: "cohort_joined",
    JoinOutcome.MOVED: "cohort_moved",
    JoinOutcome.UNKNOWN: "cohort_link_unknown",
    JoinOutcome.CLOSED: "cohort_link_unknown",
    JoinOutcome.EXPIRED: "cohort_link_unknown",
}


async def start(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    student: Student,
    tour: TourService,
    cohorts: CohortService,
) -> None:
    returning = student.node is not None
    payload = (command.args or "").strip()
    note, cohort = None, None
    if DEEP_LINK_PAYLOAD.match(payload):
        student.start_payload = payload
        outcome, cohort = await cohorts.join(session, student, payload)
        note = JOIN_NOTES.get(outcome)
        if outcome in {JoinOutcome.JOINED, JoinOutcome.MOVED}:
            returning = False
    elif payload:
        note = "cohort_link_unknown"
    await record_event(session, student, "command", "start", commit=False)
    node = student.node if returning and student.node and tour.knows(student.node) else None
    screen = await tour.show(session, student, node or tour.entry_node(student))
    greeting = "welcome_back" if returning else "welcome"
    await message.answer(tour.message(greeting, student))
    if note is not None:
        await message.answer(tour.message(note, student, cohort=cohort))
    await answer_with_screen(message, screen)


async def menu(
    message: Message, session: AsyncSession, student: Student, tour: TourService
) -> None:
    await record_event(session, student, "command", "menu", commit=False)
    await answer_with_screen(message, await tour.show(session, student, tour.entry_node(student)))


async def info_page(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    student: Student,
    tour: TourService,
) -> None:
    """Help and privacy are dialog nodes named like their command."""
    await record_event(session, student, "command", command.command, commit=False)
    await answer_with_screen(message, await tour.show(session, student, command.command))


def create_router() -> Router:
    router = Router(name="start")
    router.message.filter(PrivateChat())
    router.message.register(start, CommandStart())
    router.message.register(menu, Command("menu"))
    router.message.register(info_page, Command("help", "privacy"))
    return router
