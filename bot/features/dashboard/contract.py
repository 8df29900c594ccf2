"""The dashboard's share of the dialog contract: the bot's /dashboard and its login link."""

from dataclasses import dataclass

from bot.engine.dialogs import Contract
from bot.features.dashboard.service import LINK_MINUTES

LINK = "dashboard_link"
NOT_CONFIGURED = "dashboard_not_configured"


@dataclass(frozen=True)
class DashboardLink:
    url: str
    minutes: int = LINK_MINUTES


CONTRACT = Contract(
    messages=frozenset({LINK, NOT_CONFIGURED}),
    variables={
        "dashboard": lambda profile: DashboardLink(
            "https://bot.example.org/dashboard/login?token=1"
        )
    },
)
