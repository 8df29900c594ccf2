"""The quiz's share of the dialog contract, with samples of what its nodes show."""

from bot.content.models import Profile
from bot.content.quiz import AreaWords, Item
from bot.db.models import utcnow
from bot.engine.dialogs import Contract
from bot.features.quiz.scoring import CLEAR, Match, Reading
from bot.features.quiz.service import Choice, QuizOverview, QuizResult, Statement

START, RESUME, ANSWER, BACK = "quiz_start", "quiz_resume", "quiz_answer", "quiz_back"

_ITEM = Item(id="sample", text="Fix a bike", liked="fixing bikes", areas={"hands-on": 1})


def _statement(profile: Profile) -> Statement:
    choices = tuple(Choice(value, "🙂", "Sounds fun") for value in range(5))
    return Statement(1, 13, 13, _ITEM, 3, choices)


def _result(profile: Profile) -> QuizResult:
    area = AreaWords(name="🔧 Hands-on", doing="building and fixing things")
    match = Match(profile, 3.5, ["fixing bikes", "editing video"])
    return QuizResult(1, utcnow(), Reading(CLEAR, [area, area], [match, match, match]))


CONTRACT = Contract(
    nodes=frozenset({"quiz", "quiz_question", "quiz_result"}),
    actions=frozenset({START, RESUME, ANSWER, BACK}),
    variables={
        "quiz": lambda profile: QuizOverview(_statement(profile), _result(profile), 13),
        "statement": _statement,
        "quiz_result": _result,
    },
)
