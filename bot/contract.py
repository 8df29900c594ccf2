"""What the code relies on the content and the dialogs to define, and loading them against it.

Without aiogram, whose import takes seconds: `content check`, `ask` and `stats` load and render
content through here and answer at once; the bot (bot/app.py) builds on the same.
"""

from dataclasses import dataclass

from bot.actions import checklist, cohorts, privacy, project, stats, tour
from bot.config import Settings
from bot.content.catalog import Catalog, load_profiles
from bot.content.questions import QUESTIONS_FILE
from bot.content.yaml_source import SourceError, SourceErrors
from bot.db.models import Student
from bot.engine.dialogs import Contract, Dialogs, Screen, load_dialogs
from bot.samples import FEATURE_SAMPLES
from bot.services.broadcast import FAILURE_LABELS
from bot.services.questions import FALLBACK, Answer, QuestionService
from bot.services.tour import CAREER_LIST_NODE, HOME_NODE, TourService

# What the handlers rely on the dialog files to define; `content check` verifies it.
CONTRACT = Contract(
    nodes=frozenset(
        {
            HOME_NODE,
            CAREER_LIST_NODE,
            "help",
            "privacy",
            "checklist",
            "checklist_question",
            "checklist_result",
            "project",
            "project_step",
            "project_note_prompt",
            "progress",
            "nudge",
            "mydata",
            "forget",
            f"answer_{FALLBACK}",
            "cohorts",
            "cohort",
            "cohort_name_prompt",
            "cohort_career_prompt",
            "announce_prompt",
            "announce_button_prompt",
            "announce_confirm",
            "announce_progress",
            "announcement",
            "leads",
            "stats",
        }
    ),
    messages=frozenset(
        {
            "welcome",
            "welcome_back",
            "menu_changed",
            "unknown_command",
            "unsupported_message",
            "group_chat",
            "error",
            "note_empty",
            "note_too_long",
            "note_needs_text",
            "step_not_reached",
            "forgotten",
            "cohort_joined",
            "cohort_moved",
            "cohort_link_unknown",
            "cohort_name_invalid",
            "announce_text_invalid",
            "lead_added",
            "lead_exists",
            "lead_removed",
            "lead_unknown",
            "lead_usage",
            "stats_chart",
            "export_caption",
            "export_empty",
        }
    ),
    labels=frozenset({"back", "home"}) | FAILURE_LABELS,
    actions=tour.ACTIONS
    | checklist.ACTIONS
    | project.ACTIONS
    | privacy.ACTIONS
    | cohorts.ACTIONS
    | stats.ACTIONS,
    variables=FEATURE_SAMPLES,
)


@dataclass(frozen=True)
class Content:
    catalog: Catalog
    dialogs: Dialogs
    questions: QuestionService


def load_content(settings: Settings) -> Content:
    """Loads and checks profiles, question matching and dialogs, and that they fit together;
    raises SourceErrors naming file, line and field of every mistake."""
    catalog, spec = load_profiles(settings.content_dir)
    dialogs = load_dialogs(settings.dialogs_dir, catalog, CONTRACT)
    questions_file = settings.content_dir / QUESTIONS_FILE
    missing = [
        SourceError(questions_file, 1, f"intents.{intent}", f"no dialog node 'answer_{intent}'")
        for intent in spec.intents
        if f"answer_{intent}" not in dialogs.nodes
    ]
    if missing:
        raise SourceErrors(missing)
    return Content(catalog, dialogs, QuestionService(spec, catalog))


def render_answer(content: Content, question: str, career: str | None) -> tuple[Screen, Answer]:
    """The answer screen for a student on `career`, as `careerbot ask` shows it; the bot
    renders the same node with the same variables."""
    answer = content.questions.answer(question, career)
    student = Student(first_name="Student", career=career)
    tour = TourService(content.catalog, content.dialogs)
    context = tour.context(student, answer=answer)
    return content.dialogs.render(f"answer_{answer.intent}", context), answer
