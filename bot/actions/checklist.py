START, RESUME, ANSWER, BACK = (
    "checklist_start",
    "checklist_resume",
    "checklist_answer",
    "checklist_back",
)
ACTIONS = frozenset({START, RESUME, ANSWER, BACK})
