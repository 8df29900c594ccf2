"""The reminders' share of the dialog contract: the opt-in button and the reminder itself."""

from bot.engine.dialogs import Contract

REMINDER_NODE = "reminder"
# The project screen's button that turns reminders on or off (arg `on`/`off`).
REMIND = "project_remind"

CONTRACT = Contract(nodes=frozenset({REMINDER_NODE}), actions=frozenset({REMIND}))
