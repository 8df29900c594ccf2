"""A visit to a career: what the menu shows once per visit rather than on every return."""

from dataclasses import dataclass

from bot.db.models import Student
from bot.engine.dialogs import Dialogs
from bot.features.tour.nodes import HOME_NODE


@dataclass(frozen=True)
class Visit:
    # The menu's first showing in this visit: it carries the career's summary then, and is
    # a short list of choices on every return from the career's own screens.
    first: bool


ARRIVAL = Visit(first=True)


def visit_of(dialogs: Dialogs, student: Student) -> Visit:
    """Read before the menu is recorded as the student's place: coming back from one of
    the career's screens continues the visit; arriving from anywhere else (the career list,
    the quiz, a command, nowhere yet) starts one."""
    previous = dialogs.nodes.get(student.node or "")
    return Visit(first=previous is None or (student.node != HOME_NODE and previous.parent is None))
