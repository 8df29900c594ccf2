"""The checklist's share of the dialog contract, with samples of what its nodes show."""

from bot.content.models import Profile
from bot.db.models import utcnow
from bot.engine.dialogs import Contract
from bot.features.checklist.service import ANSWERS, ChecklistOverview, Question, Result, signs_of

START, RESUME, ANSWER, BACK = (
    "checklist_start",
    "checklist_resume",
    "checklist_answer",
    "checklist_back",
)


def _question(profile: Profile) -> Question:
    signs = signs_of(profile)
    answered = tuple((sign, ANSWERS[sign.index % len(ANSWERS)]) for sign in signs[:-1])
    return Question(1, len(signs), len(signs), signs[-1], "yes", answered)


def _result(profile: Profile) -> Result:
    result = Result(1, utcnow(), {a: [] for a in ANSWERS}, {a: [] for a in ANSWERS})
    for index, sign in enumerate(signs_of(profile)):
        bucket = result.fits if sign.kind == "fit" else result.misfits
        bucket[ANSWERS[index % len(ANSWERS)]].append(sign)
    return result


CONTRACT = Contract(
    nodes=frozenset({"checklist", "checklist_question", "checklist_result"}),
    actions=frozenset({START, RESUME, ANSWER, BACK}),
    variables={
        "checklist": lambda profile: ChecklistOverview(_question(profile), _result(profile)),
        "question": _question,
        "result": _result,
    },
)
