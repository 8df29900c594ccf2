"""The cohorts' share of the dialog contract: a lead's cohorts, invite links and joining."""

from bot.content.models import Profile
from bot.db.models import Cohort, Staff
from bot.engine.dialogs import Contract
from bot.features.cohorts.service import CohortSummary, CohortView, Handover, SwitchOffer

COHORTS, NEW, CREATE, OPEN = "cohorts", "cohort_new", "cohort_create", "cohort_open"
QR, RENAME, CLOSE, REOPEN = "cohort_qr", "cohort_rename", "cohort_close", "cohort_reopen"
# A student in one cohort who opened another's link says yes to moving (arg: its code).
SWITCH = "cohort_switch"
SWITCH_NODE = "cohort_switch"
# An admin hands a cohort to another lead: the leads (arg: the cohort id), one picked, and
# confirmed (arg of both: `<cohort id>.<lead's telegram id>`).
HAND, HAND_TO, HANDED = "cohort_hand", "cohort_hand_to", "cohort_handed"
HAND_NODE, HAND_CONFIRM_NODE = "cohort_hand", "cohort_hand_confirm"


def sample_cohort(profile: Profile) -> CohortView:
    cohort = Cohort(id=1, code="c0ffee", name="Class 9B", career=profile.slug, lead_id=1)
    return CohortView(cohort, "https://t.me/careerbot_bot?start=c0ffee", 12, profile.title)


def sample_handover(profile: Profile) -> Handover:
    view = sample_cohort(profile)
    bea = Staff(telegram_id=2, name="Bea")
    return Handover(CohortView(view.cohort, view.link, view.members, lead="Lee"), [bea], bea)


CONTRACT = Contract(
    nodes=frozenset(
        {
            "cohorts",
            "cohort",
            "cohort_name_prompt",
            "cohort_career_prompt",
            SWITCH_NODE,
            HAND_NODE,
            HAND_CONFIRM_NODE,
        }
    ),
    messages=frozenset(
        {
            "cohort_joined",
            "cohort_moved",
            "cohort_link_unknown",
            "cohort_link_staff",
            "cohort_name_invalid",
            "cohort_handed",
            "cohort_handed_to_you",
            "cohort_handed_away",
            "cohort_hand_lead_gone",
        }
    ),
    actions=frozenset(
        {COHORTS, NEW, CREATE, OPEN, QR, RENAME, CLOSE, REOPEN, SWITCH, HAND, HAND_TO, HANDED}
    ),
    variables={
        "cohorts": lambda profile: [CohortSummary(sample_cohort(profile).cohort, 12, "Lee")],
        "cohort": sample_cohort,
        "cohort_name": lambda profile: "Class 9B",
        "handover": sample_handover,
        "switch": lambda profile: SwitchOffer(
            Cohort(id=2, code="beef", name="Class 9A", lead_id=1), sample_cohort(profile).cohort
        ),
    },
)
