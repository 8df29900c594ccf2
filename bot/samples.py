"""Sample values of the feature variables, so `content check` can render every node for every
profile as a student could see it, before any student does."""

from collections.abc import Callable
from typing import Any

from bot.content.models import Profile
from bot.db.models import Cohort, Staff, Student, utcnow
from bot.services.broadcast import AnnouncementView, FailureCount, Progress
from bot.services.checklist import ANSWERS, ChecklistOverview, Question, Result, signs_of
from bot.services.cohorts import CohortSummary, CohortView
from bot.services.privacy import (
    AnswerRecord,
    AttemptRecord,
    DeliveryRecord,
    EntryRecord,
    EventRecord,
    MoveRecord,
    MyData,
    ProjectRecord,
    QuestionRecord,
    StepDoneRecord,
)
from bot.services.project import NOTE_LIMIT, Entry, ProjectOverview, StepView
from bot.services.questions import FALLBACK, Answer
from bot.services.stats import sample_report


def _question(profile: Profile) -> Question:
    signs = signs_of(profile)
    return Question(1, len(signs), len(signs), signs[-1], "yes")


def _result(profile: Profile) -> Result:
    result = Result(1, utcnow(), {a: [] for a in ANSWERS}, {a: [] for a in ANSWERS})
    for index, sign in enumerate(signs_of(profile)):
        bucket = result.fits if sign.kind == "fit" else result.misfits
        bucket[ANSWERS[index % len(ANSWERS)]].append(sign.text)
    return result


def _steps(profile: Profile) -> list[StepView]:
    steps = profile.project.steps
    entries = [Entry(1, "a note", utcnow())]
    return [
        StepView(step, number, len(steps), number == 1, entries, 1, False, True)
        for number, step in enumerate(steps, start=1)
    ]


def _mydata(profile: Profile) -> MyData:
    now = utcnow()
    student = Student(
        telegram_id=1,
        first_name="Sam",
        career=profile.slug,
        first_seen=now,
        last_seen=now,
        joined_cohort_at=now,
        explored_at=now,
        blocked_at=now,
    )
    step = profile.project.steps[0].id
    return MyData(
        student=student,
        career_title=profile.title,
        event_total=1,
        event_counts=[("view", 1)],
        cohort="Class 9B",
        moves=[MoveRecord(None, "Class 9B", now), MoveRecord("Class 9B", "Class 9C", now)],
        events=[EventRecord("view", "menu", profile.slug, 1, now, now)],
        attempts=[AttemptRecord(profile.slug, now, now, [AnswerRecord(1, "yes", now)], 1)],
        projects=[
            ProjectRecord(
                profile.slug,
                True,
                [StepDoneRecord(step, now)],
                [EntryRecord(step, 1, "a note", now), EntryRecord(step, 2, None, now)],
                now,
                now,
                now,
                now,
            )
        ],
        questions=[QuestionRecord("a question", profile.slug, now)],
        deliveries=[DeliveryRecord("An announcement", "sent", now, 1, None, None)],
        active_days=[now.date()],
        pending={"step": step},
    )


def _answer(profile: Profile) -> Answer:
    return Answer(
        FALLBACK,
        profile,
        other_career=True,
        moment=profile.day.moments[0],
        sentences=[profile.summary],
        missing_career="Astronaut",
    )


def _cohort(profile: Profile) -> CohortView:
    cohort = Cohort(id=1, code="c0ffee", name="Class 9B", career=profile.slug, lead_id=1)
    return CohortView(cohort, "https://t.me/careerbot_bot?start=c0ffee", 12, profile.title)


def _announcement(profile: Profile) -> AnnouncementView:
    choices = [{"node": "menu", "label": "Menu"}]
    return AnnouncementView("Try the checklist before Friday!", "menu", "Menu", choices)


FEATURE_SAMPLES: dict[str, Callable[[Profile], Any]] = {
    "checklist": lambda profile: ChecklistOverview(_question(profile), _result(profile)),
    "question": _question,
    "result": _result,
    "project": lambda profile: ProjectOverview(True, _steps(profile)[1], _steps(profile)),
    "step": lambda profile: _steps(profile)[-1],
    "mydata": _mydata,
    "limit": lambda profile: NOTE_LIMIT,
    "length": lambda profile: NOTE_LIMIT + 1,
    "answer": _answer,
    "cohorts": lambda profile: [CohortSummary(_cohort(profile).cohort, 12)],
    "cohort": _cohort,
    "cohort_name": lambda profile: "Class 9B",
    "announcement": _announcement,
    "progress": lambda profile: Progress(
        total=30,
        sent=20,
        blocked=2,
        failed=1,
        pending=7,
        retrying=2,
        failures=[FailureCount("chat not found", 1)],
    ),
    "leads": lambda profile: [Staff(telegram_id=1, name="Alex")],
    "telegram_id": lambda profile: 1,
    "lead_name": lambda profile: "Alex",
    "stats": lambda profile: sample_report(),
}
