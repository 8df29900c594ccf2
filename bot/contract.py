"""What the code relies on the content and the dialogs to define, and loading them against it.

Without aiogram, whose import takes seconds: `content check`, `ask` and `stats` load and render
content through here and answer at once; the bot (bot/app.py) builds on the same.
"""

from dataclasses import dataclass

from bot.config import Settings
from bot.content.catalog import Catalog, load_profiles
from bot.content.questions import QUESTIONS_FILE
from bot.content.quiz import QUIZ_FILE, QuizSpec, load_quiz
from bot.content.reasons import REASONS_FILE, Reasons, load_reasons
from bot.content.yaml_source import SourceError, SourceErrors
from bot.db.models import Student
from bot.engine.dialogs import Contract, Dialogs, Screen, load_dialogs
from bot.features import contracts
from bot.features.questions.service import Answer, QuestionService
from bot.features.tour.service import TourService

# What dialogs/bot.yaml defines for every feature and for the bot's own catch-alls.
SHARED = Contract(
    messages=frozenset(
        {"menu_changed", "unknown_command", "unsupported_message", "group_chat", "error"}
    ),
    labels=frozenset({"back", "home"}),
)


def _merged(parts: list[Contract]) -> Contract:
    return Contract(
        nodes=frozenset().union(*(part.nodes for part in parts)),
        messages=frozenset().union(*(part.messages for part in parts)),
        labels=frozenset().union(*(part.labels for part in parts)),
        actions=frozenset().union(*(part.actions for part in parts)),
        variables={name: sample for part in parts for name, sample in part.variables.items()},
    )


# What the handlers rely on the dialog files to define; `content check` verifies it.
CONTRACT = _merged([SHARED, *contracts()])


@dataclass(frozen=True)
class Content:
    catalog: Catalog
    dialogs: Dialogs
    questions: QuestionService
    quiz: QuizSpec
    reasons: Reasons


def load_content(settings: Settings) -> Content:
    """Loads and checks profiles, question matching and dialogs, and that they fit together;
    raises SourceErrors naming file, line and field of every mistake."""
    catalog, spec = load_profiles(settings.content_dir)
    reasons = load_reasons(settings.content_dir / REASONS_FILE)
    dialogs = load_dialogs(settings.dialogs_dir, catalog, CONTRACT)
    questions_file = settings.content_dir / QUESTIONS_FILE
    missing = [
        SourceError(questions_file, 1, f"intents.{intent}", f"no dialog node 'answer_{intent}'")
        for intent in spec.intents
        if f"answer_{intent}" not in dialogs.nodes
    ]
    if missing:
        raise SourceErrors(missing)
    quiz = load_quiz(settings.content_dir / QUIZ_FILE, catalog)
    return Content(catalog, dialogs, QuestionService(spec, catalog), quiz, reasons)


def render_answer(content: Content, question: str, career: str | None) -> tuple[Screen, Answer]:
    """The answer screen for a student on `career`, as `careerbot ask` shows it; the bot
    renders the same node with the same variables."""
    answer = content.questions.answer(question, career)
    student = Student(first_name="Student", career=career)
    tour = TourService(content.catalog, content.dialogs)
    context = tour.context(student, answer=answer)
    return content.dialogs.render(answer.node, context), answer
