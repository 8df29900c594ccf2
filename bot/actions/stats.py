STATS_COHORT, EXPORT_COHORT = "stats_cohort", "export_cohort"
ACTIONS = frozenset({STATS_COHORT, EXPORT_COHORT})
