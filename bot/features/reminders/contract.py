"""The reminders' share of the dialog contract: the opt-in button and the reminder itself."""

from bot.engine.dialogs import Contract

REMINDER_NODE = "reminder"
# The button that turns reminders on or off: arg `on`/`off`, then `.<step id>` when pressed on
# a step, which it shows again (else the project screen).
REMIND = "project_remind"

CONTRACT = Contract(
    nodes=frozenset({REMINDER_NODE}),
    actions=frozenset({REMIND}),
    # REMINDER_AFTER_DAYS, so that the offer says when a reminder would come.
    variables={"reminder_days": lambda profile: 3},
)
