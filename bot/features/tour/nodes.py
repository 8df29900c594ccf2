"""The tour's node names that other features read: here, with no imports, so that the stats'
queries (loaded by `careerbot export` and the lead commands) do not load the dialog engine."""

CAREER_LIST_NODE = "careers"
HOME_NODE = "menu"
# Opening anything beyond these counts as exploring the tour (a step of the stats funnel).
ENTRY_NODES = frozenset({CAREER_LIST_NODE, HOME_NODE, "help", "privacy", "consent"})
