FORGET = "forget"
ACTIONS = frozenset({FORGET})
