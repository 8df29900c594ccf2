"""Moving through the dialog tree: /start (with or without an invite link), /menu, /help,
buttons that open a node, and picking a career."""

import re

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.models import Profile
from bot.db.models import Student
from bot.engine.callbacks import ActionCallback, NodeCallback
from bot.features.cohorts.contract import SWITCH_NODE
from bot.features.cohorts.service import CohortService, JoinOutcome
from bot.features.feature import Kit, Wiring
from bot.features.privacy.contract import CONSENT_NODE
from bot.features.tour.compare import compare
from bot.features.tour.contract import CHOOSE_CAREER, COMPARE, OPEN
from bot.features.tour.service import TourService
from bot.features.tour.visit import ARRIVAL, Visit, visit_of
from bot.filters import OfCareer, PrivateChat
from bot.services.students import record_event
from bot.ui import Ui

DEEP_LINK_PAYLOAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
JOIN_NOTES = {
    JoinOutcome.JOINED: "cohort_joined",
    JoinOutcome.MOVED: "cohort_moved",
    JoinOutcome.UNKNOWN: "cohort_link_unknown",
    JoinOutcome.CLOSED: "cohort_link_unknown",
    JoinOutcome.EXPIRED: "cohort_link_unknown",
    JoinOutcome.STAFF: "cohort_link_staff",
}


async def start(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    ui: Ui,
    cohorts: CohortService,
) -> None:
    student = ui.student
    returning = student.node is not None
    payload = (command.args or "").strip()
    note, cohort, offer, joined = None, None, None, False
    if DEEP_LINK_PAYLOAD.match(payload):
        student.start_payload = payload
        outcome, cohort = await cohorts.join(session, student, payload)
        note = JOIN_NOTES.get(outcome)
        if outcome in {JoinOutcome.JOINED, JoinOutcome.MOVED}:
            returning, joined = False, True
        if outcome is JoinOutcome.SWITCH and cohort is not None:
            offer = await cohorts.switch_offer(session, student, cohort)
    elif payload:
        note = "cohort_link_unknown"
    await record_event(session, student, "command", "start", commit=False)
    tour = ui.tour
    node = student.node if returning and student.node and tour.knows(student.node) else None
    if offer is not None:
        screen = await tour.show(session, student, SWITCH_NODE, switch=offer)
    elif joined:
        # Asked first: whether their lead may see their first name and progress.
        screen = await tour.show(session, student, CONSENT_NODE)
    else:
        screen = await tour.show(session, student, node or tour.entry_node(student), visit=ARRIVAL)
    await ui.say("welcome_back" if returning else "welcome")
    if note is not None:
        await ui.say(note, cohort=cohort)
    await ui.send(screen)


async def menu(message: Message, session: AsyncSession, student: Student, ui: Ui) -> None:
    await record_event(session, student, "command", "menu", commit=False)
    await ui.show_entry(visit=ARRIVAL)


async def info_page(
    message: Message, command: CommandObject, session: AsyncSession, student: Student, ui: Ui
) -> None:
    """Help is a dialog node named like its command."""
    await record_event(session, student, "command", command.command, commit=False)
    await ui.show(command.command)


async def open_node(
    callback: CallbackQuery,
    callback_data: NodeCallback | ActionCallback,
    session: AsyncSession,
    ui: Ui,
) -> None:
    """A button to a node: from the tree (`n:`) or an `open` action with a node chosen at
    run time (an announcement's button). A node the student may not open (gone, or for
    staff only: a forged button) is an old button to them."""
    node = callback_data.node if isinstance(callback_data, NodeCallback) else callback_data.arg
    if not await ui.tour.may_open(session, ui.student, node):
        await ui.menu_changed()
        return
    await ui.show(node)


async def choose_career(
    callback: CallbackQuery, callback_data: ActionCallback, session: AsyncSession, ui: Ui
) -> None:
    if not await ui.tour.choose_career(session, ui.student, callback_data.arg):
        await ui.menu_changed()
        return
    await ui.show_entry(visit=ARRIVAL)


async def compare_with(
    callback: CallbackQuery, callback_data: ActionCallback, profile: Profile, ui: Ui
) -> None:
    other = ui.tour.catalog.get(callback_data.arg)
    if other is None or other.slug == profile.slug:
        await ui.menu_changed()
        return
    await ui.show("compare", compare=compare(profile, other))


def setup(kit: Kit) -> Wiring:
    content, settings = kit.content, kit.settings
    tour = TourService(content.catalog, content.dialogs, kit.getters, settings.admin_ids)
    dialogs = content.dialogs

    async def visit(session: AsyncSession, student: Student, profile: Profile | None) -> Visit:
        return visit_of(dialogs, student)

    return Wiring(services={"tour": tour}, getters={"visit": visit})


def create_router() -> Router:
    router = Router(name="tour")
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat())
    router.message.register(start, CommandStart())
    router.message.register(menu, Command("menu"))
    router.message.register(info_page, Command("help"))
    router.callback_query.register(open_node, NodeCallback.filter())
    router.callback_query.register(open_node, ActionCallback.filter(F.name == OPEN))
    router.callback_query.register(choose_career, ActionCallback.filter(F.name == CHOOSE_CAREER))
    router.callback_query.register(
        compare_with, ActionCallback.filter(F.name == COMPARE), OfCareer()
    )
    return router
