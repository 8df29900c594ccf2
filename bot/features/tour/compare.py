"""Two careers side by side: the figures and facts a student weighs first."""

from dataclasses import dataclass
from itertools import pairwise

from bot.content.models import Moment, Profile, WorkShare

HALF_DAY_MINUTES = 12 * 60


@dataclass(frozen=True)
class Side:
    title: str
    slug: str
    pay: str | None
    growth: str | None
    split: list[WorkShare]
    main_block: Moment
    project: str


@dataclass(frozen=True)
class Comparison:
    first: Side
    second: Side


def compare(first: Profile, second: Profile) -> Comparison:
    return Comparison(side_of(first), side_of(second))


def side_of(profile: Profile) -> Side:
    paths = profile.numbers.pay_paths
    pay, growth = None, None
    for path in paths:
        figure = path.median or path.range
        if pay is None and figure:
            # With several ways of earning, say which one the figure is for.
            pay = f"{figure} · {path.name}" if len(paths) > 1 else figure
        if growth is None and path.growth:
            period = f" over {path.growth_period}" if path.growth_period else ""
            growth = f"{path.growth}{period}"
    return Side(
        title=profile.title,
        slug=profile.slug,
        pay=pay,
        growth=growth,
        split=sorted(profile.work.split, key=lambda share: -share.percent),
        main_block=main_block(profile.day.moments),
        project=profile.project.title,
    )


def main_block(moments: list[Moment]) -> Moment:
    """The moment with the most time before the next one.

    Cards write times on a 12-hour clock without am/pm ("11:00", "12:30", "3:00"), in
    the order of the day: a time earlier than the one before it is in the afternoon.
    """
    starts: list[int] = []
    for moment in moments:
        hours, minutes = moment.time.split(":")
        start = int(hours) * 60 + int(minutes)
        while starts and start <= starts[-1]:
            start += HALF_DAY_MINUTES
        starts.append(start)
    if len(moments) < 2:
        return moments[0]
    lengths = [after - before for before, after in pairwise(starts)]
    return moments[lengths.index(max(lengths))]
