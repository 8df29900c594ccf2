"""The roster: a cohort's students page by page, from the cohort screen (leads and admins).

The button's arg names the cohort and the page; the cohort is looked up through the viewer
(CohortService.get), so a lead never reaches another lead's cohort, even with a forged
button.
"""

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.db.models import Cohort
from bot.engine.callbacks import ActionCallback
from bot.features.cohorts.handlers import PagedCohort
from bot.features.cohorts.service import CohortService
from bot.features.feature import Kit, Wiring
from bot.features.roster.contract import ROSTER
from bot.features.roster.service import RosterService
from bot.filters import IsStaff, PrivateChat
from bot.services.roles import Viewer
from bot.ui import Ui


async def show_roster(
    callback: CallbackQuery,
    cohort: Cohort,
    page: int,
    viewer: Viewer,
    ui: Ui,
    roster: RosterService,
) -> None:
    found = await roster.page(ui.session, viewer, cohort, page)
    if found is None:
        # Students left since the page was drawn (or the number is made up): the first.
        await ui.toast("roster_page_gone")
        found = await roster.page(ui.session, viewer, cohort, 1)
        assert found is not None
    await ui.render("roster", roster=found)


async def refuse(callback: CallbackQuery, viewer: Viewer, ui: Ui, cohorts: CohortService) -> None:
    """Not a cohort of the viewer's, or a made-up arg: said so, and their cohort list."""
    await ui.toast("roster_refused")
    await ui.render("cohorts", cohorts=await cohorts.visible(ui.session, viewer))


def setup(kit: Kit) -> Wiring:
    return Wiring(services={"roster": RosterService(kit.content.catalog, kit.settings.admin_ids)})


def create_router() -> Router:
    router = Router(name="roster")
    router.callback_query.filter(PrivateChat())
    button = ActionCallback.filter(F.name == ROSTER)
    # Roster buttons always carry the page; a bare cohort id is a forged one, refused.
    page = PagedCohort(page_required=True, page_digits=6)
    router.callback_query.register(show_roster, button, IsStaff(), page)
    router.callback_query.register(refuse, button, IsStaff())
    return router
