"""The tour's share of the dialog contract: the career list, the menu and the info pages."""

from bot.engine.dialogs import Contract
from bot.features.tour.compare import compare
from bot.features.tour.nodes import CAREER_LIST_NODE, HOME_NODE
from bot.features.tour.visit import ARRIVAL

CHOOSE_CAREER = "career"
# Opens a node chosen at run time (an announcement's button).
OPEN = "open"
COMPARE = "compare"

CONTRACT = Contract(
    nodes=frozenset({HOME_NODE, CAREER_LIST_NODE, "help", "compare_pick", "compare"}),
    messages=frozenset({"welcome", "welcome_back"}),
    actions=frozenset({CHOOSE_CAREER, OPEN, COMPARE}),
    variables={"compare": lambda profile: compare(profile, profile), "visit": lambda _: ARRIVAL},
)
