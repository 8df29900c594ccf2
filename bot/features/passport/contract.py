"""The passport's share of the dialog contract, with a sample of what its screen shows."""

from bot.content.models import Profile
from bot.db.models import utcnow
from bot.engine.dialogs import Contract
from bot.features.passport.service import (
    CareerLine,
    ChecklistLine,
    Passport,
    ProjectLine,
    QuizLine,
)

SHOW, PICTURE = "passport", "passport_card"


def _sample(profile: Profile) -> Passport:
    today = utcnow().date()
    checklist = ChecklistLine("strong", 4, 5, 1, 4, today)
    project = ProjectLine(2, len(profile.project.steps), 3, today, False)
    quiz = QuizLine("clear", ["making and creating"], [profile.title], today)
    careers = [CareerLine(profile.title, True, checklist, project)]
    return Passport(True, "Sam", careers, [profile.title], quiz, today)


CONTRACT = Contract(
    nodes=frozenset({"passport"}),
    messages=frozenset({"passport_caption"}),
    actions=frozenset({SHOW, PICTURE}),
    variables={"passport": _sample},
)
