"""The stats feature's share of the dialog contract: /stats, its chart and /export."""

from bot.engine.dialogs import Contract
from bot.features.stats.report import sample_report

STATS_COHORT, STATS_PERIOD, EXPORT_COHORT = "stats_cohort", "stats_period", "export_cohort"

CONTRACT = Contract(
    nodes=frozenset({"stats"}),
    messages=frozenset({"stats_chart", "stats_period_unknown", "export_caption", "export_empty"}),
    actions=frozenset({STATS_COHORT, STATS_PERIOD, EXPORT_COHORT}),
    variables={"stats": lambda profile: sample_report()},
)
