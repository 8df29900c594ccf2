"""The cohorts' share of the dialog contract: a lead's cohorts, invite links and joining."""

from bot.content.models import Profile
from bot.db.models import Cohort
from bot.engine.dialogs import Contract
from bot.features.cohorts.service import CohortSummary, CohortView, SwitchOffer

COHORTS, NEW, CREATE, OPEN = "cohorts", "cohort_new", "cohort_create", "cohort_open"
QR, RENAME, CLOSE, REOPEN = "cohort_qr", "cohort_rename", "cohort_close", "cohort_reopen"
# A student in one cohort who opened another's link says yes to moving (arg: its code).
SWITCH = "cohort_switch"
SWITCH_NODE = "cohort_switch"


def sample_cohort(profile: Profile) -> CohortView:
    cohort = Cohort(id=1, code="c0ffee", name="Class 9B", career=profile.slug, lead_id=1)
    return CohortView(cohort, "https://t.me/careerbot_bot?start=c0ffee", 12, profile.title)


CONTRACT = Contract(
    nodes=frozenset(
        {"cohorts", "cohort", "cohort_name_prompt", "cohort_career_prompt", SWITCH_NODE}
    ),
    messages=frozenset(
        {
            "cohort_joined",
            "cohort_moved",
            "cohort_link_unknown",
            "cohort_link_staff",
            "cohort_name_invalid",
        }
    ),
    actions=frozenset({COHORTS, NEW, CREATE, OPEN, QR, RENAME, CLOSE, REOPEN, SWITCH}),
    variables={
        "cohorts": lambda profile: [CohortSummary(sample_cohort(profile).cohort, 12, "Lee")],
        "cohort": sample_cohort,
        "cohort_name": lambda profile: "Class 9B",
        "switch": lambda profile: SwitchOffer(
            Cohort(id=2, code="beef", name="Class 9A", lead_id=1), sample_cohort(profile).cohort
        ),
    },
)
