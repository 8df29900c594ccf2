"""The roster's share of the dialog contract: a cohort's students, page by page."""

from datetime import timedelta

from bot.content.models import Profile
from bot.db.models import Cohort, utcnow
from bot.engine.dialogs import Contract
from bot.features.checklist.service import signs_of
from bot.features.roster.service import (
    ChecklistProgress,
    Progress,
    ProjectProgress,
    RosterEntry,
    RosterPage,
)
from bot.features.tour.nodes import SECTIONS

# arg: "<cohort id>.<page, from 1>"
ROSTER = "roster"


def sample_page(profile: Profile) -> RosterPage:
    now = utcnow()
    steps = profile.project.steps
    progress = Progress(
        career=profile.title,
        sections=3,
        sections_total=len(SECTIONS),
        checklist=ChecklistProgress(len(signs_of(profile)), 4, True, "mixed"),
        project=ProjectProgress(2, len(steps), steps[-1].title, False, 3, now),
        joined=now - timedelta(days=20),
        last_active=now - timedelta(days=9),
        quiet=True,
        careers=[profile.title],
    )
    cohort = Cohort(id=1, code="c0ffee", name="Class 9B", career=profile.slug, lead_id=1)
    entries = [
        RosterEntry(1, 1, 1, "Class 9B", True, "Sam", progress),
        RosterEntry(2, 2, 1, "Class 9B", False, None, None),
        RosterEntry(3, 3, 1, "Class 9B", False, None, progress),
    ]
    return RosterPage(cohort, entries, 2, 3, 23, 11)


CONTRACT = Contract(
    nodes=frozenset({"roster"}),
    messages=frozenset({"roster_refused", "roster_page_gone"}),
    actions=frozenset({ROSTER}),
    variables={"roster": sample_page},
)
