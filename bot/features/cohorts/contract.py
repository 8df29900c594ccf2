"""The cohorts' share of the dialog contract: a lead's cohorts, invite links and joining."""

from bot.content.models import Profile
from bot.db.models import Cohort
from bot.engine.dialogs import Contract
from bot.features.cohorts.service import CohortSummary, CohortView

COHORTS, NEW, CREATE, OPEN = "cohorts", "cohort_new", "cohort_create", "cohort_open"
QR, RENAME, CLOSE, REOPEN = "cohort_qr", "cohort_rename", "cohort_close", "cohort_reopen"


def sample_cohort(profile: Profile) -> CohortView:
    cohort = Cohort(id=1, code="c0ffee", name="Class 9B", career=profile.slug, lead_id=1)
    return CohortView(cohort, "https://t.me/careerbot_bot?start=c0ffee", 12, profile.title)


CONTRACT = Contract(
    nodes=frozenset({"cohorts", "cohort", "cohort_name_prompt", "cohort_career_prompt"}),
    messages=frozenset(
        {"cohort_joined", "cohort_moved", "cohort_link_unknown", "cohort_name_invalid"}
    ),
    actions=frozenset({COHORTS, NEW, CREATE, OPEN, QR, RENAME, CLOSE, REOPEN}),
    variables={
        "cohorts": lambda profile: [CohortSummary(sample_cohort(profile).cohort, 12)],
        "cohort": sample_cohort,
        "cohort_name": lambda profile: "Class 9B",
    },
)
