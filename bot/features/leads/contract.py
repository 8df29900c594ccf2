"""The leads' share of the dialog contract: admins list, add and remove program leads."""

from bot.db.models import Staff
from bot.engine.dialogs import Contract

CONTRACT = Contract(
    nodes=frozenset({"leads"}),
    messages=frozenset({"lead_added", "lead_exists", "lead_removed", "lead_unknown", "lead_usage"}),
    variables={
        "leads": lambda profile: [Staff(telegram_id=1, name="Alex")],
        "telegram_id": lambda profile: 1,
        "lead_name": lambda profile: "Alex",
        # /help's staff part shows for leads and admins: the sample shows all of it.
        "role": lambda profile: "admin",
    },
)
