"""The bot's features, one package each (see bot/features/feature.py).

Their order is the order of their routers: an update goes to the first feature whose
handler's filters pass, so the questions feature, which takes any typed text, comes last.
"""

from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING

# Not imported here: the CLI's commands import a feature's service without the dialog engine
# (and Jinja2) that contracts need.
if TYPE_CHECKING:
    from bot.engine.dialogs import Contract

FEATURES = (
    "tour",
    "quiz",
    "checklist",
    "project",
    "passport",
    "reminders",
    "privacy",
    "cohorts",
    "announcements",
    "leads",
    "roster",
    "stats",
    "reasons",
    "digest",
    "unanswered",
    "dashboard",
    "questions",
)


def contracts() -> list["Contract"]:
    """Each feature's share of the dialog contract; no aiogram."""
    return [import_module(f"bot.features.{name}.contract").CONTRACT for name in FEATURES]


def handler_modules() -> list[ModuleType]:
    """Each feature's `handlers` module: `create_router()` and `setup(kit)`."""
    return [import_module(f"bot.features.{name}.handlers") for name in FEATURES]
