"""The schema of `content/reasons.yaml`: the reasons a student may give, with one tap, for how
a career felt. Wording is content, so a new reason needs no code; its id is what is stored."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bot.content.yaml_source import SourceError, SourceErrors, read_yaml

REASONS_FILE = "reasons.yaml"  # in the content directory
# The id is stored (career_reasons.reason, 32 characters) and rides in a button's data
# ("a:reason:checklist.<id>"), which Telegram caps at 64 bytes.
ID_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
# Two buttons share a row on a phone: a longer label is cut off.
LABEL_LENGTH = 40
# Rows of buttons under a screen that already has its own.
MOST_REASONS = 12


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(pattern=ID_PATTERN)]
    label: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=LABEL_LENGTH)
    ]


class ReasonFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reasons: Annotated[list[Reason], Field(min_length=1, max_length=MOST_REASONS)]


@dataclass(frozen=True)
class Reasons:
    """The reasons in the order the file lists them: the order buttons and stats show."""

    choices: tuple[Reason, ...] = ()
    by_id: dict[str, Reason] = field(default_factory=dict)

    @classmethod
    def of(cls, choices: list[Reason]) -> "Reasons":
        return cls(tuple(choices), {reason.id: reason for reason in choices})

    def label(self, reason_id: str) -> str:
        """A reason's label; a reason since removed from the file goes by its id (staff only
        see this: stats of taps stored before the removal)."""
        found = self.by_id.get(reason_id)
        return found.label if found else reason_id


def load_reasons(file: Path) -> Reasons:
    document = read_yaml(file)
    parsed = document.validated(ReasonFile)
    errors: list[SourceError] = []
    first: dict[str, int] = {}
    for index, reason in enumerate(parsed.reasons):
        if reason.id in first:
            message = f"{reason.id!r} is already the id of reason {first[reason.id] + 1}"
            errors.append(document.error(("reasons", index, "id"), message))
        first.setdefault(reason.id, index)
    if errors:
        raise SourceErrors(errors)
    return Reasons.of(parsed.reasons)
