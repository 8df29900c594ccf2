"""A program lead's cohorts: list, create, rename, invite link and QR code, close, reopen.

Every handler but a student's yes to moving cohorts sits behind IsStaff, checked on every
update; a cohort named by a button or by the flow's data is looked up through the viewer
(`ViewersCohort`, `PagedCohort`, `FlowCohort`), so a lead never reaches another lead's
cohort, even with forged buttons.
"""

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Cohort
from bot.engine.callbacks import ActionCallback
from bot.features.cohorts.contract import (
    CLOSE,
    COHORTS,
    CREATE,
    HAND,
    HAND_CONFIRM_NODE,
    HAND_NODE,
    HAND_TO,
    HANDED,
    NEW,
    OPEN,
    QR,
    RENAME,
    REOPEN,
    SWITCH,
)
from bot.features.cohorts.service import (
    CohortService,
    CohortView,
    JoinOutcome,
    clean_name,
    qr_png,
)
from bot.features.feature import Kit, Wiring
from bot.features.privacy.contract import CONSENT_NODE
from bot.filters import IsStaff, PrivateChat, SlashCommand
from bot.flow import CohortDraft, CohortFlowData, CohortRename
from bot.services.roles import Viewer
from bot.ui import Ui

logger = logging.getLogger(__name__)
NO_CAREER = "-"
COHORT_ID = "[1-9][0-9]{0,8}"
ROW_ID = re.compile(COHORT_ID)
# A cohort and the lead it is handed to: `<cohort id>.<lead's telegram id>`.
HAND_ARG = re.compile(r"([1-9][0-9]{0,8})\.([1-9][0-9]{0,14})")
QR_FILE = "invite-qr.png"

Draft = TypeVar("Draft", bound=CohortFlowData)


class CohortInput(StatesGroup):
    name = State()
    rename = State()


async def _view(
    session: AsyncSession, bot: Bot, viewer: Viewer, cohorts: CohortService, cohort_id: int
) -> CohortView | None:
    cohort = await cohorts.get(session, viewer, cohort_id)
    return None if cohort is None else await _view_of(session, bot, viewer, cohorts, cohort)


async def _view_of(
    session: AsyncSession, bot: Bot, viewer: Viewer, cohorts: CohortService, cohort: Cohort
) -> CohortView:
    me = await bot.me()
    return await cohorts.view(session, cohort, me.username or "", viewer)


class ViewersCohort(Filter):
    """Passes a button whose arg is the id of a cohort the viewer may see, handing the
    handler that `cohort` (a CohortView, as the screens show it)."""

    async def __call__(
        self,
        callback: CallbackQuery,
        callback_data: ActionCallback,
        session: AsyncSession,
        bot: Bot,
        viewer: Viewer,
        cohorts: CohortService,
    ) -> bool | dict[str, Any]:
        cohort_id = int(callback_data.arg) if ROW_ID.fullmatch(callback_data.arg) else 0
        view = await _view(session, bot, viewer, cohorts, cohort_id)
        return False if view is None else {"cohort": view}


# What a paged screen's handler is handed, made from the cohort (None: the `everyone` scope)
# and the page, passed first by position, and by name whatever of the update's data it needs
# (a service, the bot), as aiogram hands a filter; None refuses the button after all.
PageFinder = Callable[..., Awaitable[dict[str, Any] | None]]


async def cohort_and_page(
    cohort: Cohort | None, page: int, /, **_: object
) -> dict[str, Any] | None:
    """The PageFinder PagedCohort uses by default: the `cohort` (a Cohort row) and the `page`."""
    return None if cohort is None else {"cohort": cohort, "page": page}


class PagedCohort(Filter):
    """Passes a button of a paged screen about one cohort, `<cohort id>.<page>`, when the
    viewer may see that cohort; a forged or stale button falls through to the feature's
    refusal. By default it hands the handler the `cohort` and the `page`; `find` makes
    something else of them (see PageFinder).

    The page may be left out (then 1) unless `page_required`; `page_digits` caps its length,
    so a made-up number is refused before anything is looked up. `everyone`, when given, may
    stand for the cohort id: a screen over all the viewer sees, found with cohort None.
    """

    def __init__(
        self,
        find: PageFinder = cohort_and_page,
        *,
        page_required: bool = False,
        page_digits: int = 4,
        everyone: str | None = None,
    ) -> None:
        self.find = find
        self.everyone = everyone
        scope = COHORT_ID if everyone is None else f"{re.escape(everyone)}|{COHORT_ID}"
        page = rf"\.(?P<page>[1-9][0-9]{{0,{page_digits - 1}}})"
        optional = "" if page_required else "?"
        self.arg = re.compile(rf"(?P<scope>{scope})(?:{page}){optional}")

    async def __call__(
        self,
        callback: CallbackQuery,
        callback_data: ActionCallback,
        session: AsyncSession,
        viewer: Viewer,
        cohorts: CohortService,
        **data: Any,
    ) -> bool | dict[str, Any]:
        found = self.arg.fullmatch(callback_data.arg)
        if found is None:
            return False
        scope, page = found["scope"], int(found["page"] or 1)
        cohort = None
        if scope != self.everyone:
            cohort = await cohorts.get(session, viewer, int(scope))
            if cohort is None:
                return False
        handed = await self.find(
            cohort, page, session=session, viewer=viewer, cohorts=cohorts, **data
        )
        return False if handed is None else handed


async def cohort_view_and_page(
    cohort: Cohort | None,
    page: int,
    /,
    *,
    session: AsyncSession,
    bot: Bot,
    viewer: Viewer,
    cohorts: CohortService,
    **_: object,
) -> dict[str, Any] | None:
    """A PageFinder: the `cohort` as the screens show it (a CohortView), and the `page`; no
    cohort (the `everyone` scope) is no screen of one cohort, so refused."""
    if cohort is None:
        return None
    return {"cohort": await _view_of(session, bot, viewer, cohorts, cohort), "page": page}


class HandArg(Filter):
    """Passes an admin's button naming a cohort and the lead to hand it to, handing the
    handler the `cohort` (a CohortView) and `to` (the lead's telegram id, as pressed: the
    handler checks they are still on staff)."""

    async def __call__(
        self,
        callback: CallbackQuery,
        callback_data: ActionCallback,
        session: AsyncSession,
        bot: Bot,
        viewer: Viewer,
        cohorts: CohortService,
    ) -> bool | dict[str, Any]:
        found = HAND_ARG.fullmatch(callback_data.arg)
        if found is None:
            return False
        view = await _view(session, bot, viewer, cohorts, int(found[1]))
        return False if view is None else {"cohort": view, "to": int(found[2])}


@dataclass(frozen=True)
class CohortFlow(Generic[Draft]):
    """A flow about one cohort (renaming it, an announcement to it): what it gathered so far,
    the cohort, and the FSM context to go on with or end."""

    draft: Draft
    cohort: CohortView
    state: FSMContext

    async def save(self, draft: Draft) -> None:
        await draft.write(self.state)

    async def stop_waiting(self) -> None:
        """The typed input is in; the data stays for the flow's next button."""
        await self.state.set_state(None)

    async def end(self) -> None:
        await self.state.clear()


class FlowCohort(Filter):
    """Passes when the flow's data (a `model`) names a cohort the viewer may see, handing
    the handler the `flow`. With `button`, the pressed button must name the same cohort;
    `ready` says whether the data is far enough along for this step."""

    def __init__(
        self,
        model: type[CohortFlowData],
        *,
        button: bool = False,
        ready: Callable[[Any], bool] = lambda draft: True,
    ) -> None:
        self.model, self.button, self.ready = model, button, ready

    async def __call__(
        self,
        event: Message | CallbackQuery,
        state: FSMContext,
        session: AsyncSession,
        bot: Bot,
        viewer: Viewer,
        cohorts: CohortService,
        callback_data: ActionCallback | None = None,
    ) -> bool | dict[str, CohortFlow[Any]]:
        draft = await self.model.read(state)
        if draft is None or not self.ready(draft):
            return False
        if self.button and (callback_data is None or callback_data.arg != str(draft.cohort_id)):
            return False
        view = await _view(session, bot, viewer, cohorts, draft.cohort_id)
        return False if view is None else {"flow": CohortFlow(draft, view, state)}


async def list_cohorts(
    event: Message | CallbackQuery, viewer: Viewer, ui: Ui, cohorts: CohortService
) -> None:
    await ui.render("cohorts", cohorts=await cohorts.visible(ui.session, viewer))


async def cohort_gone(
    event: Message | CallbackQuery,
    state: FSMContext,
    viewer: Viewer,
    ui: Ui,
    cohorts: CohortService,
) -> None:
    """A cohort that is not (or no longer) the viewer's, named by a button or by the flow's
    data: the lead lands on their cohort list."""
    if isinstance(event, Message):
        await state.clear()
    else:
        await ui.toast("menu_changed")
    await list_cohorts(event, viewer, ui, cohorts)


async def new_cohort(callback: CallbackQuery, state: FSMContext, ui: Ui) -> None:
    await state.set_state(CohortInput.name)
    await ui.render("cohort_name_prompt")


async def receive_name(message: Message, state: FSMContext, ui: Ui) -> None:
    name = clean_name(message.text)
    if name is None:
        await ui.say("cohort_name_invalid")
        return
    await state.set_state(None)
    await CohortDraft(cohort_name=name).write(state)
    await ui.render("cohort_career_prompt", cohort_name=name)


async def create_cohort(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    state: FSMContext,
    viewer: Viewer,
    ui: Ui,
    cohorts: CohortService,
) -> None:
    draft = await CohortDraft.read(state)
    if draft is None:
        await list_cohorts(callback, viewer, ui, cohorts)
        return
    career = None if callback_data.arg == NO_CAREER else callback_data.arg
    created = await cohorts.create(ui.session, viewer, draft.cohort_name, career)
    await state.clear()
    me = await ui.bot.me()
    view = await cohorts.view(ui.session, created, me.username or "", viewer)
    await ui.render("cohort", cohort=view)
    await ui.photo(qr_png(view.link), QR_FILE, view.link, plain=True)


async def open_cohort(callback: CallbackQuery, cohort: CohortView, ui: Ui) -> None:
    await ui.render("cohort", cohort=cohort)


async def send_qr(callback: CallbackQuery, cohort: CohortView, ui: Ui) -> None:
    await ui.answer_press()
    await ui.photo(qr_png(cohort.link), QR_FILE, cohort.link, plain=True)


async def rename(callback: CallbackQuery, cohort: CohortView, state: FSMContext, ui: Ui) -> None:
    await state.set_state(CohortInput.rename)
    await CohortRename(cohort_id=cohort.cohort.id).write(state)
    await ui.render("cohort_name_prompt")


async def receive_new_name(
    message: Message, flow: CohortFlow[CohortRename], ui: Ui, cohorts: CohortService
) -> None:
    name = clean_name(message.text)
    if name is None:
        await ui.say("cohort_name_invalid")
        return
    await flow.end()
    await cohorts.rename(ui.session, flow.cohort.cohort, name)
    await ui.render("cohort", cohort=flow.cohort)


async def close(
    callback: CallbackQuery, cohort: CohortView, ui: Ui, cohorts: CohortService
) -> None:
    await cohorts.set_open(ui.session, cohort.cohort, False)
    await ui.render("cohort", cohort=cohort)


async def reopen(
    callback: CallbackQuery, cohort: CohortView, ui: Ui, cohorts: CohortService
) -> None:
    await cohorts.set_open(ui.session, cohort.cohort, True)
    await ui.render("cohort", cohort=cohort)


async def hand(callback: CallbackQuery, cohort: CohortView, ui: Ui, cohorts: CohortService) -> None:
    await ui.render(HAND_NODE, handover=await cohorts.handover(ui.session, cohort))


async def hand_to(
    callback: CallbackQuery, cohort: CohortView, to: int, ui: Ui, cohorts: CohortService
) -> None:
    handover = await cohorts.handover(ui.session, cohort, to)
    if handover is None:
        await lead_gone(cohort, ui, cohorts)
        return
    await ui.render(HAND_CONFIRM_NODE, handover=handover)


async def handed(
    callback: CallbackQuery,
    cohort: CohortView,
    to: int,
    viewer: Viewer,
    ui: Ui,
    cohorts: CohortService,
) -> None:
    """The admin confirmed: the cohort changes lead, and both leads are told (the former
    one only while still on staff, and not when it is the admin doing it)."""
    handover = await cohorts.handover(ui.session, cohort, to)
    if handover is None or handover.to is None:
        await lead_gone(cohort, ui, cohorts)
        return
    lead = handover.to
    former = await cohorts.hand(ui.session, cohort.cohort, lead)
    notes = [(lead.telegram_id, "cohort_handed_to_you")]
    if former != viewer.telegram_id and await cohorts.is_staff(ui.session, former):
        notes.append((former, "cohort_handed_away"))
    for chat_id, note in notes:
        await tell(ui, chat_id, ui.text(note, cohort=cohort.cohort, lead_name=lead.name))
    await ui.toast("cohort_handed", cohort=cohort.cohort, lead_name=lead.name)
    updated = await _view(ui.session, ui.bot, viewer, cohorts, cohort.cohort.id)
    await ui.render("cohort", cohort=updated or cohort)


async def lead_gone(cohort: CohortView, ui: Ui, cohorts: CohortService) -> None:
    """The lead pressed is no longer on staff (or already leads the cohort): the admin
    picks again from the leads there are now."""
    await ui.toast("cohort_hand_lead_gone")
    await ui.render(HAND_NODE, handover=await cohorts.handover(ui.session, cohort))


async def tell(ui: Ui, chat_id: int, text: str) -> None:
    """A note to a lead; one who never started the bot, or blocked it, is not told."""
    try:
        await ui.bot.send_message(chat_id, text)
    except TelegramAPIError as exc:
        logger.info("lead %s not told of a handover: %s", chat_id, exc.message)


async def switch_cohort(
    callback: CallbackQuery,
    callback_data: ActionCallback,
    session: AsyncSession,
    ui: Ui,
    cohorts: CohortService,
) -> None:
    """A student said yes to moving to the cohort whose link they opened. The link is
    checked again: it may have closed since, or be a forged code."""
    outcome, cohort = await cohorts.join(session, ui.student, callback_data.arg, confirmed=True)
    if outcome is JoinOutcome.MOVED:
        await ui.toast("cohort_moved", cohort=cohort)
        # A new lead: asked afresh what they may see.
        await ui.show(CONSENT_NODE)
        return
    if outcome is not JoinOutcome.ALREADY:
        await ui.toast("cohort_link_unknown")
    await ui.show_entry()


def setup(kit: Kit) -> Wiring:
    settings = kit.settings
    cohorts = CohortService(kit.content.catalog, settings.cohort_link_days, settings.admin_ids)
    return Wiring(services={"cohorts": cohorts})


def create_router() -> Router:
    router = Router(name="cohorts")
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat())
    staff, typed, button = IsStaff(), ~SlashCommand(), ActionCallback.filter
    router.message.register(list_cohorts, Command("cohorts"), staff)
    router.message.register(receive_name, StateFilter(CohortInput.name), typed, staff)
    renaming = StateFilter(CohortInput.rename)
    router.message.register(receive_new_name, renaming, typed, staff, FlowCohort(CohortRename))
    router.message.register(cohort_gone, renaming, typed, staff)
    router.callback_query.register(switch_cohort, button(F.name == SWITCH))
    router.callback_query.register(list_cohorts, button(F.name == COHORTS), staff)
    router.callback_query.register(new_cohort, button(F.name == NEW), staff)
    router.callback_query.register(create_cohort, button(F.name == CREATE), staff)
    one_cohort: dict[str, Callable[..., Awaitable[None]]] = {
        OPEN: open_cohort,
        QR: send_qr,
        RENAME: rename,
        CLOSE: close,
        REOPEN: reopen,
    }
    for action, handler in one_cohort.items():
        router.callback_query.register(handler, button(F.name == action), staff, ViewersCohort())
    admin = IsStaff(admin_only=True)
    router.callback_query.register(hand, button(F.name == HAND), admin, ViewersCohort())
    router.callback_query.register(hand_to, button(F.name == HAND_TO), admin, HandArg())
    router.callback_query.register(handed, button(F.name == HANDED), admin, HandArg())
    handing = {HAND, HAND_TO, HANDED}
    router.callback_query.register(
        cohort_gone, button(F.name.in_(set(one_cohort) | handing)), staff
    )
    return router
