"""The reasons' share of the dialog contract: the tap's action, its note, and `reasons`."""

from bot.content.models import Profile
from bot.content.reasons import LABEL_LENGTH, Reason
from bot.engine.dialogs import Contract
from bot.features.reasons.service import CHECKLIST, FINISH, LEAVE, ReasonsView

REASON = "reason"
# The screen each moment's buttons are on, shown again after the tap.
SCREENS = {CHECKLIST: "checklist_result", LEAVE: "careers", FINISH: "project_finished"}


def _sample(profile: Profile) -> ReasonsView:
    """Ids and labels as long as content/reasons.yaml allows, so that `content check` proves
    any reason's button fits Telegram's 64 bytes; the first one given after the checklist,
    so that both ways a button is labelled are drawn."""
    given, other = (
        Reason(id=first * 32, label=first.upper() * LABEL_LENGTH) for first in ("g", "o")
    )
    return ReasonsView((given, other), {CHECKLIST: given, LEAVE: None, FINISH: other})


CONTRACT = Contract(
    messages=frozenset({"reason_saved"}),
    actions=frozenset({REASON}),
    variables={"reasons": _sample},
)
