"""What a multi-step flow keeps between a student's updates (aiogram's FSM data), typed.

Stored as plain JSON (in Redis or the database), so it outlives a restart; what is read
back is checked here. Data that no longer fits (from an older version, or cleared half way)
reads as None, and the handler starts the flow over instead of guessing.
"""

from typing import Self

from aiogram.fsm.context import FSMContext
from pydantic import BaseModel, ConfigDict, ValidationError


class FlowData(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    @classmethod
    async def read(cls, state: FSMContext) -> Self | None:
        try:
            return cls.model_validate(await state.get_data())
        except ValidationError:
            return None

    async def write(self, state: FSMContext) -> None:
        await state.set_data(self.model_dump(mode="json"))


class NoteDraft(FlowData):
    """A project note the student was asked to type."""

    career: str
    step: str
    seq: int = 1


class NoteOffer(FlowData):
    """Text the student typed on a project screen that was no question the bot could answer:
    offered to be kept as a note on the step they are on, and kept here until they say."""

    career: str
    step: str
    text: str


class CohortDraft(FlowData):
    """A new cohort's name, typed before its career is picked."""

    cohort_name: str


class CohortFlowData(FlowData):
    """A flow about one cohort of the lead's."""

    cohort_id: int


class CohortRename(CohortFlowData):
    """The cohort whose new name the lead was asked to type."""


class AnnouncementDraft(CohortFlowData):
    """An announcement being written: its cohort, then its text, then its button.

    `draft` names this draft once its text is in: pressing "send" twice, even on two
    workers at once, makes one announcement of it.
    """

    text: str | None = None
    draft: str | None = None
    node: str | None = None
