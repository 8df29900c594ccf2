"""The stats feature's share of the dialog contract: /stats, its chart and /export."""

from bot.engine.dialogs import Contract
from bot.features.stats.report import sample_report

STATS_COHORT, EXPORT_COHORT = "stats_cohort", "export_cohort"

CONTRACT = Contract(
    nodes=frozenset({"stats"}),
    messages=frozenset({"stats_chart", "export_caption", "export_empty"}),
    actions=frozenset({STATS_COHORT, EXPORT_COHORT}),
    variables={"stats": lambda profile: sample_report()},
)
