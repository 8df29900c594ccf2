"""The digest's share of the dialog contract: /digest, its on/off button, the weekly message."""

from datetime import date

from bot.engine.dialogs import Contract
from bot.features.digest.week import (
    DIGEST_NODE,
    CohortWeek,
    DigestSettings,
    People,
    Week,
)
from bot.features.stats.report import Count

SETTINGS_NODE = "digest"
# The button that turns the digest on or off: arg `on` or `off`.
SWITCH = "digest"
# An admin who is not also a lead: there is no digest for them.
NOT_A_LEAD = "digest_not_a_lead"


def _sample_week() -> Week:
    nobody = People([], 0, Count(0))
    busy = CohortWeek(
        name="Class 9B",
        members=12,
        joined=People(["Ana"], 0, Count(1)),
        active=People(["Ana", "Ben", "Cleo"], 0, Count(None)),
        checklist=People(["Ana"], 0, Count(0)),
        project_started=People(["Ben"], 0, Count(None)),
        project_finished=nobody,
        quiet=People(["Dan"], 2, Count(None)),
        questions=["how much does a [name] earn in [address]?"],
        questions_more=1,
    )
    calm = CohortWeek("Class 9A", 4, nobody, nobody, nobody, nobody, nobody, nobody, [], 0)
    return Week("Lee", date(2026, 11, 23), date(2026, 11, 29), [busy, calm])


CONTRACT = Contract(
    nodes=frozenset({SETTINGS_NODE, DIGEST_NODE}),
    messages=frozenset({NOT_A_LEAD}),
    actions=frozenset({SWITCH}),
    variables={
        "digest": lambda profile: DigestSettings(True, 8, "Europe/Berlin"),
        "digest_week": lambda profile: _sample_week(),
    },
)
