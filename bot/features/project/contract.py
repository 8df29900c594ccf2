"""The starter project's share of the dialog contract, with samples of what its nodes show."""

from bot.content.models import Profile
from bot.db.models import utcnow
from bot.engine.dialogs import Contract
from bot.features.checklist.service import ChecklistOverview
from bot.features.project.progress import CareerProgress, ProgressLine
from bot.features.project.service import NOTE_LIMIT, Entry, ProjectOverview, StepView

START, STEP, DONE = "project_start", "project_step", "project_done"
NOTE, LOG = "project_note", "project_log"
KEEP_NOTE = "project_keep_note"
# Where typed text that is no question may be a note on the project the student is doing.
NOTE_PLACES = frozenset({"project", "project_step", "project_note_offer"})


def _steps(profile: Profile) -> list[StepView]:
    steps = profile.project.steps
    entries = [Entry(1, "a note", utcnow())]
    return [
        StepView(step, number, len(steps), number == 1, entries, 1, False, True)
        for number, step in enumerate(steps, start=1)
    ]


CONTRACT = Contract(
    nodes=frozenset(
        {
            "project",
            "project_step",
            "project_finished",
            "project_note_prompt",
            "project_note_offer",
            "progress",
        }
    ),
    messages=frozenset({"note_empty", "note_too_long", "note_needs_text", "step_not_reached"}),
    actions=frozenset({START, STEP, DONE, NOTE, LOG, KEEP_NOTE}),
    variables={
        "project": lambda profile: ProjectOverview(True, _steps(profile)[1], _steps(profile)),
        "step": lambda profile: _steps(profile)[-1],
        "limit": lambda profile: NOTE_LIMIT,
        "progress_line": lambda profile: ProgressLine(3, 7, False, True, 2, 5),
        "note": lambda profile: "Tried a slower tempo, sounds better",
        "length": lambda profile: NOTE_LIMIT + 1,
        "other_careers": lambda profile: [
            CareerProgress(
                profile,
                ChecklistOverview(None, None),
                ProjectOverview(True, _steps(profile)[1], _steps(profile)),
            )
        ],
    },
)
