"""The unanswered questions' share of the dialog contract: the staff screen and its refusal."""

from bot.engine.dialogs import Contract
from bot.features.unanswered.service import sample_page

# arg: `<cohort id>` or `all` (every student the viewer may see), then `.<page>`.
UNANSWERED = "unanswered"
REFUSED = "unanswered_refused"

CONTRACT = Contract(
    nodes=frozenset({UNANSWERED}),
    messages=frozenset({REFUSED}),
    actions=frozenset({UNANSWERED}),
    variables={UNANSWERED: lambda profile: sample_page()},
)
