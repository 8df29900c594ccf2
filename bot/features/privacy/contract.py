"""The privacy feature's share of the dialog contract: /privacy and the consent asked on
joining a group, /mydata and /forget."""

from bot.content.catalog import Catalog
from bot.content.models import Profile
from bot.db.models import Student, utcnow
from bot.engine.dialogs import Contract
from bot.features.privacy.service import (
    AnswerRecord,
    AttemptRecord,
    DeliveryRecord,
    EntryRecord,
    EventRecord,
    MoveRecord,
    MyData,
    Names,
    ProjectRecord,
    QuestionRecord,
    QuizAnswerRecord,
    QuizRecord,
    ReasonRecord,
    Sharing,
    StepDoneRecord,
)

FORGET = "forget"
# The student's yes / not now to sharing with their group's lead (arg: the group's id and
# `yes` or `no`): SHARE on the screen after joining, then on to the menu; SHARE_CHANGE on
# /privacy, which shows it again.
SHARE, SHARE_CHANGE = "share", "share_change"
CONSENT_NODE, PRIVACY_NODE = "consent", "privacy"


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
        quizzes=[QuizRecord(now, now, 1, profile.slug, [QuizAnswerRecord("item", 4, now)])],
        reasons=[ReasonRecord(profile.slug, "leave", "loved_it", now)],
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
        names=Names(Catalog({profile.slug: profile})),
    )


CONTRACT = Contract(
    nodes=frozenset({"mydata", "forget", CONSENT_NODE, PRIVACY_NODE}),
    messages=frozenset({"forgotten", "sharing_yes", "sharing_no", "sharing_stale"}),
    actions=frozenset({FORGET, SHARE, SHARE_CHANGE}),
    variables={
        "mydata": _mydata,
        "sharing": lambda profile: Sharing(1, "Class 9B", True, utcnow()),
    },
)
