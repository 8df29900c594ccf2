"""The tour's node names that other features read: here, with no imports, so that the stats'
queries (loaded by `careerbot export` and the lead commands) do not load the dialog engine."""

CAREER_LIST_NODE = "careers"
HOME_NODE = "menu"
# Opening anything beyond these counts as exploring the tour (a step of the stats funnel).
ENTRY_NODES = frozenset({CAREER_LIST_NODE, HOME_NODE, "help", "privacy", "consent"})
# The career card's sections, each a screen of the tour under the menu: how many of them a
# student opened is the roster's "tour sections seen" (tests/test_roster.py checks each is a
# node of dialogs/tour.yaml whose parent is the menu).
SECTIONS = ("work", "day", "suits", "numbers", "outlook", "right_now", "sources", "related")
