"""What a digest says, as data: the contract's samples and the dialog render it without the
Bot API (the CLI's content check imports this; the service that sends it needs aiogram)."""

from dataclasses import dataclass
from datetime import date

from bot.features.stats.report import Count

DIGEST_NODE = "digest_week"


@dataclass(frozen=True)
class People:
    """Students in one line of a cohort's digest."""

    names: list[str]  # of those who share, by first name
    more: int  # of those who share, beyond the names shown
    hidden: Count  # those who don't share: counted only

    @property
    def empty(self) -> bool:
        return not self.names and self.hidden.exact == 0


@dataclass(frozen=True)
class CohortWeek:
    name: str
    members: int
    joined: People
    active: People
    checklist: People
    project_started: People
    project_finished: People
    quiet: People
    questions: list[str]  # masked
    questions_more: int

    @property
    def calm(self) -> bool:
        """Nothing happened: the digest says so in one line."""
        lines = (self.joined, self.active, self.checklist, self.project_started)
        return (
            all(line.empty for line in (*lines, self.project_finished, self.quiet))
            and not self.questions
        )


@dataclass(frozen=True)
class Week:
    """One lead's digest: the week it covers (local dates) and their cohorts."""

    lead: str
    first_day: date
    last_day: date
    cohorts: list[CohortWeek]


@dataclass(frozen=True)
class DigestSettings:
    """What /digest shows: whether it is on, and when it comes."""

    on: bool
    hour: int
    timezone: str
