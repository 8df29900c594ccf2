"""What /stats shows: the view models the templates and the chart render, and sample data.

Every number of students a lead is shown goes through `count_for`, which hides numbers below
LOW_COUNT as "<5".
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.db.models import utcnow

# Leads never see a number of students below this; they see "<5" instead.
LOW_COUNT = 5
LOW_LABEL = f"<{LOW_COUNT}"
DEFAULT_DAYS = 30
PERIODS = {"7": 7, "30": 30, "all": None}
ACTIVE_WINDOWS = (1, 7, 30)

# The funnel steps, in order: keys, and the labels the chart draws (the text is in YAML).
FUNNEL_STEPS = (
    ("started", "Started"),
    ("explored", "Explored the tour"),
    ("checklist", "Finished the checklist"),
    ("project_started", "Started the project"),
    ("project_finished", "Finished the project"),
)


@dataclass(frozen=True)
class Count:
    """A number of students as the viewer may see it: `exact` is None when it is hidden."""

    exact: int | None

    @property
    def hidden(self) -> bool:
        return self.exact is None

    def __str__(self) -> str:
        return LOW_LABEL if self.exact is None else str(self.exact)


def count_for(value: int, exact: bool) -> Count:
    """THE rule for numbers shown to leads: anything below LOW_COUNT becomes "<5".

    Admins (`exact`) see every number as it is.
    """
    return Count(value if exact or value >= LOW_COUNT else None)


def parse_period(text: str | None) -> int | None:
    """`/stats 7|30|all`: the period in days (None: all time); anything else is the default."""
    return PERIODS.get((text or "").strip().lower(), DEFAULT_DAYS)


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    count: Count
    percent: int | None  # of the students started; None when either number is hidden


@dataclass(frozen=True)
class Funnel:
    started: Count
    explored: Count
    checklist: Count
    project_started: Count
    project_finished: Count

    @property
    def steps(self) -> list[Step]:
        base = self.started.exact
        steps = []
        for key, label in FUNNEL_STEPS:
            count: Count = getattr(self, key)
            percent = None
            if base and count.exact is not None:
                percent = round(100 * count.exact / base)
            steps.append(Step(key, label, count, percent))
        return steps


@dataclass(frozen=True)
class Group:
    """A funnel of one cohort or career. `name` None: no cohort / no career chosen.

    A career's funnel starts with the students who explored it: one student may count under
    several careers."""

    id: int | None
    name: str | None
    funnel: Funnel


@dataclass(frozen=True)
class Ranked:
    name: str | None
    count: Count


@dataclass(frozen=True)
class Day:
    day: date
    count: Count


@dataclass(frozen=True)
class QuizCounts:
    """The interest quiz among the students started in the period: how many began it, how
    many finished it, and the careers it matched them with most (a student counts once per
    career, whatever their retakes)."""

    started: Count
    finished: Count
    matches: list[Ranked]


@dataclass(frozen=True)
class ReasonGroup:
    """The reasons given about one career, or by the students of one cohort (`name` None:
    no cohort), in the order of content/reasons.yaml: never by count, which may be hidden."""

    name: str | None
    # Students per reason: content/reasons.yaml's label (a removed reason's id), and count.
    reasons: list[Ranked]


@dataclass(frozen=True)
class StatsReport:
    exact: bool  # the viewer is an admin and sees exact numbers
    cohort_id: int | None  # one cohort, or None for all the viewer may see
    cohort_name: str | None
    cohort_count: int  # cohorts in scope
    days: int | None  # the period; None: all time
    now: datetime
    started: Count
    active: dict[int, Count]
    funnel: Funnel
    nodes: list[Ranked]
    intents: list[Ranked]
    unanswered: Count
    unanswered_top: list[Ranked]  # admins only: the most frequent texts
    cohorts: list[Group]
    cohorts_more: int  # cohorts with students in the period that did not fit in the list
    careers: list[Group]
    daily: list[Day] = field(default_factory=list)
    quiz: "QuizCounts | None" = None
    career_reasons: list[ReasonGroup] = field(default_factory=list)
    cohort_reasons: list[ReasonGroup] = field(default_factory=list)

    @property
    def since(self) -> datetime | None:
        return None if self.days is None else self.now - timedelta(days=self.days)

    @property
    def as_of(self) -> str:
        return self.now.strftime("%d %b %Y, %H:%M UTC")

    @property
    def period(self) -> str:
        """The period as `/stats` and the buttons write it: a number of days, or "all"."""
        return "all" if self.days is None else str(self.days)


def sample_report(exact: bool = False) -> StatsReport:
    """A report with every part filled, hidden numbers included, for `content check`."""
    now = utcnow()

    def shown(value: int) -> Count:
        return count_for(value, exact)

    funnel = Funnel(shown(40), shown(31), shown(12), shown(6), shown(2))
    return StatsReport(
        exact=exact,
        cohort_id=None,
        cohort_name=None,
        cohort_count=2,
        days=DEFAULT_DAYS,
        now=now,
        started=funnel.started,
        active={
            days: shown(value) for days, value in zip(ACTIVE_WINDOWS, (3, 18, 40), strict=True)
        },
        funnel=funnel,
        nodes=[Ranked("menu", shown(14)), Ranked(None, shown(1))],
        intents=[Ranked("pay", shown(22)), Ranked("day", shown(3))],
        unanswered=shown(7),
        unanswered_top=[Ranked("can I do it from home?", Count(4))],
        cohorts=[
            Group(1, "Class 7B", Funnel(shown(30), shown(25), shown(10), shown(5), shown(2))),
            Group(2, "Class 7C", Funnel(shown(10), shown(6), shown(2), shown(1), shown(0))),
            Group(None, None, Funnel(shown(0), shown(0), shown(0), shown(0), shown(0))),
        ],
        cohorts_more=1,
        careers=[
            Group(None, "A career", funnel),
            Group(None, "Another career", Funnel(shown(9), shown(7), shown(3), shown(1), shown(0))),
            Group(None, "a-removed-career", Funnel(*(shown(1) for _ in range(5)))),
            Group(None, None, Funnel(shown(2), shown(0), shown(0), shown(0), shown(0))),
        ],
        daily=[Day(now.date() - timedelta(days=n), shown(n % 9)) for n in range(29, -1, -1)],
        quiz=QuizCounts(
            shown(12), shown(9), [Ranked("A career", shown(6)), Ranked("Another", shown(2))]
        ),
        career_reasons=[
            ReasonGroup("A career", [Ranked("A reason", shown(6)), Ranked("gone", shown(1))]),
            ReasonGroup("a-removed-career", [Ranked("A reason", shown(2))]),
        ],
        cohort_reasons=[
            ReasonGroup("Class 7B", [Ranked("A reason", shown(5))]),
            ReasonGroup(None, [Ranked("Another reason", shown(3))]),
        ],
    )
