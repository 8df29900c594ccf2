"""Reasons kept: one optional tap on why a career felt as it did, stored per student, career
and moment (the last tap stands), and counted in /stats.

The career is always the student's current one, never read from the button: a forged or
old button can only speak for the career the student is on, and the screen shown after the
tap names that career.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.models import Profile
from bot.content.reasons import Reason, Reasons
from bot.db.models import CareerReason, Student, utcnow
from bot.db.upsert import upsert
from bot.features.checklist.service import ChecklistService, Result
from bot.features.project.service import ProjectService, StepView

# Under the checklist's result, on the career list when a student on a career opens it, and
# on finishing the starter project ("how did it feel?").
CHECKLIST, LEAVE, FINISH = "checklist", "leave", "finish"
MOMENTS = (CHECKLIST, LEAVE, FINISH)
_KEY = ["student_id", "career", "moment"]
# Built once: read each time the two screens are shown.
_GIVEN = select(CareerReason.moment, CareerReason.reason).where(
    CareerReason.student_id == bindparam("student_id"),
    CareerReason.career == bindparam("career"),
)


@dataclass(frozen=True)
class ReasonsView:
    """What a screen shows of the reasons: every choice, and per moment the one the student
    gave about their current career (None: none yet)."""

    choices: tuple[Reason, ...]
    given: dict[str, Reason | None]


@dataclass(frozen=True)
class Given:
    """A tap stored: its moment, the reasons as the screen now shows them, and for the
    checklist's moment the result the reason is about."""

    moment: str
    reasons: ReasonsView
    result: Result | None = None
    # For the finish's moment: the finished project's last step, which its screen shows.
    step: StepView | None = None

    def variables(self) -> dict[str, Any]:
        found: dict[str, Any] = {"reasons": self.reasons}
        if self.result is not None:
            found["result"] = self.result
        if self.step is not None:
            found["step"] = self.step
        return found


@dataclass(frozen=True)
class ReasonService:
    reasons: Reasons
    checklist: ChecklistService
    project: ProjectService

    def view(self, given: dict[str, str]) -> ReasonsView:
        """A stored id no longer in the content reads as not given: the student may pick
        again, and never sees the id."""
        return ReasonsView(
            self.reasons.choices,
            {moment: self.reasons.by_id.get(given.get(moment, "")) for moment in MOMENTS},
        )

    async def shown(
        self, session: AsyncSession, student: Student, profile: Profile | None
    ) -> ReasonsView:
        """The data getter of `reasons`; the career list shows it to students with no career
        too, who have nothing to give a reason about."""
        if profile is None:
            return self.view({})
        params = {"student_id": student.id, "career": profile.slug}
        rows = await session.execute(_GIVEN, params)
        return self.view({moment: reason for moment, reason in rows.all()})

    def parse(self, arg: str) -> tuple[str, Reason] | None:
        """`<moment>.<reason id>` from a button; None for anything else."""
        moment, _, reason_id = arg.partition(".")
        reason = self.reasons.by_id.get(reason_id)
        return (moment, reason) if moment in MOMENTS and reason is not None else None

    async def give(
        self, session: AsyncSession, student: Student, profile: Profile, arg: str
    ) -> Given | None:
        """Stores the tap for the student's current career; None for a forged button, a
        checklist reason with no checklist result of this career to be about, or a finish
        reason with no finished project.

        No read of earlier reasons: the screen after the tap needs only this one, so a tap
        is one write (and, for the checklist, the result the screen shows anyway).
        """
        pick = self.parse(arg)
        if pick is None:
            return None
        moment, reason = pick
        result, step = None, None
        if moment == CHECKLIST:
            result = await self.checklist.last_result(session, student, profile)
            if result is None:
                return None
        if moment == FINISH:
            step = (await self.project.overview(session, student, profile)).current
            if step is None or not step.finished:
                return None
        values = {"student_id": student.id, "career": profile.slug, "moment": moment}
        await upsert(
            session,
            CareerReason,
            {**values, "reason": reason.id},
            _KEY,
            {"reason": reason.id, "created_at": utcnow()},
        )
        return Given(moment, self.view({moment: reason.id}), result, step)
