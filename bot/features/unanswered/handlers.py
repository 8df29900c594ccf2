"""The unanswered questions screen for leads and admins: /unanswered, or from a cohort's
screen or /stats.

Every handler sits behind IsStaff; the page is looked up through the viewer, so a lead never
reaches another lead's cohort, even with a forged button: that gets a clear refusal and the
lead's own cohort list. Students fall through to the fallback ("menu changed").
"""

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Cohort
from bot.engine.callbacks import ActionCallback
from bot.features.cohorts.handlers import PagedCohort, list_cohorts
from bot.features.cohorts.service import CohortService
from bot.features.feature import Kit, Wiring
from bot.features.unanswered.contract import REFUSED, UNANSWERED
from bot.features.unanswered.service import EVERYONE, UnansweredPage, UnansweredService
from bot.filters import IsStaff, PrivateChat
from bot.services.roles import Viewer
from bot.ui import Ui


async def find_listing(
    cohort: Cohort | None,
    page: int,
    /,
    *,
    session: AsyncSession,
    viewer: Viewer,
    unanswered: UnansweredService,
    **_: object,
) -> dict[str, UnansweredPage] | None:
    """Hands the handler the `listing` the button names (cohort None: all the viewer sees)."""
    cohort_id = None if cohort is None else cohort.id
    listing = await unanswered.page(session, viewer, cohort_id, page)
    return None if listing is None else {"listing": listing}


async def show_page(callback: CallbackQuery, listing: UnansweredPage, ui: Ui) -> None:
    await ui.render(UNANSWERED, unanswered=listing)


async def show_all(
    message: Message, session: AsyncSession, viewer: Viewer, unanswered: UnansweredService, ui: Ui
) -> None:
    """/unanswered: the first page of all the viewer sees (a lead: their cohorts)."""
    listing = await unanswered.page(session, viewer, None, 1)
    assert listing is not None  # no cohort named: always the viewer's own scope
    await ui.render(UNANSWERED, unanswered=listing)


async def refuse(callback: CallbackQuery, viewer: Viewer, ui: Ui, cohorts: CohortService) -> None:
    """Another lead's cohort, one gone, or a forged arg: said plainly, then the lead's own
    cohorts."""
    await ui.toast(REFUSED)
    await list_cohorts(callback, viewer, ui, cohorts)


def setup(kit: Kit) -> Wiring:
    return Wiring(services={"unanswered": UnansweredService(kit.settings.admin_ids)})


def create_router() -> Router:
    router = Router(name="unanswered")
    router.message.filter(PrivateChat())
    router.callback_query.filter(PrivateChat())
    router.message.register(show_all, Command(UNANSWERED), IsStaff())
    staff, button = IsStaff(), ActionCallback.filter(F.name == UNANSWERED)
    listing = PagedCohort(find_listing, everyone=EVERYONE)
    router.callback_query.register(show_page, button, staff, listing)
    router.callback_query.register(refuse, button, staff)
    return router
