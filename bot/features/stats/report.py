"""What /stats shows: the view models the templates and the chart render, and sample data.

The small-number rule (one, for every screen and chart a lead gets): students who agreed to
share their progress with their program (`students.shares` true) are counted exactly in every
breakdown; everything about the others' activity and progress appears only in one "haven't
shared" funnel per cohort, whose numbers from 1 to 4 read "<5" (`count_for`). Membership, how
many students joined a cohort and how many of them share, is exact: the lead runs the
cohort. Admins see every number exactly, everyone counted.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.db.models import utcnow

# In a "haven't shared" funnel, leads see numbers from 1 to LOW_COUNT - 1 as "<5".
LOW_COUNT = 5
LOW_LABEL = f"<{LOW_COUNT}"
DEFAULT_DAYS = 30
PERIODS = {"7": 7, "30": 30, "all": None}
ACTIVE_WINDOWS = (1, 7, 30)

# The funnel steps, in order: keys, and the labels the chart draws (the text is in YAML).
FUNNEL_STEPS = (
    ("active", "Active in the period"),
    ("explored", "Explored the tour"),
    ("checklist", "Finished the checklist"),
    ("project_started", "Started the project"),
    ("project_finished", "Finished the project"),
)


class PeriodUnknown(ValueError):
    """A period other than 7, 30 or all."""


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
    """THE rule for the students who haven't shared, as leads see them: 1 to 4 read "<5"
    (0 stays 0: nobody is singled out by it). Admins (`exact`) see every number as it is."""
    return Count(value if exact or value == 0 or value >= LOW_COUNT else None)


def parse_period(text: str | None) -> int | None:
    """`/stats 7|30|all`: the period in days (None: all time); none given: the default.
    Anything else raises PeriodUnknown."""
    wanted = (text or "").strip().lower()
    if not wanted:
        return DEFAULT_DAYS
    if wanted not in PERIODS:
        raise PeriodUnknown(wanted)
    return PERIODS[wanted]


def period_name(days: int | None) -> str:
    """The period as `/stats` and the buttons write it: a number of days, or "all"."""
    return "all" if days is None else str(days)


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    count: Count
    percent: int | None  # of the students active; None when either number is hidden


@dataclass(frozen=True)
class Funnel:
    """Students active in the period, and how far each has come to date."""

    active: Count
    explored: Count
    checklist: Count
    project_started: Count
    project_finished: Count

    @property
    def steps(self) -> list[Step]:
        base = self.active.exact
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
    several careers. A cohort's also has its membership (`members`, of them `sharing`:
    exact) and `unshared`, the funnel of its students who haven't shared (leads: "<5")."""

    id: int | None
    name: str | None
    funnel: Funnel
    members: int = 0
    sharing: int = 0
    unshared: Funnel | None = None


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
    """The interest quiz among the students active in the period: how many began it, how
    many finished it, and the careers it matched them with most (a student counts once per
    career, whatever their retakes)."""

    started: Count
    finished: Count
    matches: list[Ranked]


@dataclass(frozen=True)
class ReasonGroup:
    """The reasons given about one career, or by the students of one cohort (`name` None:
    no cohort), in the order of content/reasons.yaml."""

    name: str | None
    # Students per reason: content/reasons.yaml's label (a removed reason's id), and count.
    reasons: list[Ranked]


@dataclass(frozen=True)
class Stop:
    """Where students stopped: sign or step `number` of `total`, named by the content
    (`name` None: the career left the catalog), and how many stopped there."""

    number: int
    total: int
    name: str | None
    count: Count


@dataclass(frozen=True)
class DropOff:
    """Per career: the students who began its checklist and stopped at a sign, and those
    who started its project and are at a step (unfinished)."""

    name: str
    checklist: list[Stop]
    project: list[Stop]


def as_of(now: datetime) -> str:
    """When figures were counted, as every stats screen and page says it."""
    return now.strftime("%d %b %Y, %H:%M UTC")


@dataclass(frozen=True)
class CohortPage:
    """A page of the viewer's cohorts, newest first, each with its funnel over the period
    (the same `Group` as the report's, under the same rule) and, for admins, its lead."""

    exact: bool
    days: int | None
    now: datetime
    groups: list[Group]
    leads: dict[int, str | None]  # admins: cohort id → the lead's name (None: not staff)
    page: int
    pages: int
    total: int

    @property
    def as_of(self) -> str:
        return as_of(self.now)


@dataclass(frozen=True)
class CohortStats:
    """What the dashboard's cohort page shows of the stats, over the period: the funnel
    (`group`, with the membership and the non-sharers' funnel), the screens the students
    are on now and where they stopped, under the same rule as the report."""

    exact: bool
    days: int | None
    now: datetime
    group: Group
    nodes: list[Ranked]
    dropoff: list[DropOff]

    @property
    def as_of(self) -> str:
        return as_of(self.now)


@dataclass(frozen=True)
class StatsReport:
    exact: bool  # the viewer is an admin and sees exact numbers, everyone counted
    cohort_id: int | None  # one cohort, or None for all the viewer may see
    cohort_name: str | None
    cohort_count: int  # cohorts in scope
    days: int | None  # the period; None: all time
    now: datetime
    members: int  # students in scope (in the viewer's cohorts), exact
    sharing: int  # of them, agreed to share their progress
    started: Count  # counted students who started in the period
    active: dict[int, Count]
    funnel: Funnel
    nodes: list[Ranked]  # name: the screen's title; "" other screens; None no screen yet
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
    dropoff: list[DropOff] = field(default_factory=list)

    @property
    def since(self) -> datetime | None:
        return None if self.days is None else self.now - timedelta(days=self.days)

    @property
    def as_of(self) -> str:
        return as_of(self.now)

    @property
    def period(self) -> str:
        """The period as `/stats` and the buttons write it: a number of days, or "all"."""
        return period_name(self.days)

    @property
    def periods(self) -> list[str]:
        """The periods a viewer may switch to, in the buttons' order."""
        return list(PERIODS)


def sample_report(exact: bool = False) -> StatsReport:
    """A report with every part filled, hidden numbers included, for `content check`."""
    now = utcnow()

    def funnel(*values: int, shared: bool = True) -> Funnel:
        # The students who haven't shared (`shared` False) are counted by the leads' rule.
        return Funnel(*(count_for(value, exact or shared) for value in values))

    main = funnel(40, 31, 12, 6, 2)
    return StatsReport(
        exact=exact,
        cohort_id=None,
        cohort_name=None,
        cohort_count=2,
        days=DEFAULT_DAYS,
        now=now,
        members=52,
        sharing=44,
        started=Count(9),
        active={
            days: Count(value) for days, value in zip(ACTIVE_WINDOWS, (3, 18, 40), strict=True)
        },
        funnel=main,
        nodes=[Ranked("Menu", Count(14)), Ranked("", Count(3)), Ranked(None, Count(1))],
        intents=[Ranked("pay", Count(22)), Ranked("day", Count(3))],
        unanswered=Count(7),
        unanswered_top=[Ranked("can I do it from home?", Count(4))] if exact else [],
        cohorts=[
            Group(
                1, "Class 7B", funnel(30, 25, 10, 5, 2), 36, 30, funnel(5, 4, 2, 0, 0, shared=False)
            ),
            Group(
                2, "Class 7C", funnel(10, 6, 2, 1, 0), 16, 14, funnel(2, 1, 0, 0, 0, shared=False)
            ),
            Group(None, None, funnel(0, 0, 0, 0, 0)),
        ],
        cohorts_more=1,
        careers=[
            Group(None, "A career", main),
            Group(None, "Another career", funnel(9, 7, 3, 1, 0)),
            Group(None, "a-removed-career", funnel(1, 1, 1, 1, 1)),
            Group(None, None, funnel(2, 0, 0, 0, 0)),
        ],
        daily=[Day(now.date() - timedelta(days=n), Count(n % 9)) for n in range(29, -1, -1)],
        quiz=QuizCounts(
            Count(12), Count(9), [Ranked("A career", Count(6)), Ranked("Another", Count(2))]
        ),
        career_reasons=[
            ReasonGroup("A career", [Ranked("A reason", Count(6)), Ranked("gone", Count(1))]),
            ReasonGroup("a-removed-career", [Ranked("A reason", Count(2))]),
        ],
        cohort_reasons=[
            ReasonGroup("Class 7B", [Ranked("A reason", Count(5))]),
            ReasonGroup(None, [Ranked("Another reason", Count(3))]),
        ],
        dropoff=[
            DropOff(
                "A career",
                [Stop(1, 7, "Can you hear small differences?", Count(3))],
                [Stop(2, 5, "Make a beat", Count(4)), Stop(5, 5, "Share it", Count(1))],
            ),
            DropOff("a-removed-career", [Stop(3, 7, None, Count(1))], []),
        ],
    )
