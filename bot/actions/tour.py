CHOOSE_CAREER = "career"
OPEN = "open"
ACTIONS = frozenset({CHOOSE_CAREER, OPEN})
