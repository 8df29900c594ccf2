"""The tour's share of the dialog contract: the career list, the menu and the info pages."""

from bot.engine.dialogs import Contract

CAREER_LIST_NODE = "careers"
HOME_NODE = "menu"
CHOOSE_CAREER = "career"
# Opens a node chosen at run time (an announcement's button).
OPEN = "open"

CONTRACT = Contract(
    nodes=frozenset({HOME_NODE, CAREER_LIST_NODE, "help", "privacy"}),
    messages=frozenset({"welcome", "welcome_back"}),
    actions=frozenset({CHOOSE_CAREER, OPEN}),
)
