"""What a feature is made of, and what the bot hands each feature as it is assembled.

A feature is a package `bot/features/<name>/` beside its dialog file `dialogs/<name>.yaml`:

- `contract.py`: `CONTRACT`, its share of what the dialog files must define (nodes,
  messages, labels, the button actions its handlers answer, the variables it provides with
  a sample of each). No aiogram: `content check` reads it without the seconds aiogram's
  import takes.
- `handlers.py`: `create_router()`, its aiogram router, and `setup(kit)`, which builds its
  services and data getters (a `Wiring`).
- `service.py` (and more modules as it grows): what it does, with no aiogram.

`bot/features/__init__.py` lists the features: adding one is that line, the package and
its dialog file.
"""

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content.models import Profile
from bot.db.models import Student

if TYPE_CHECKING:
    from aiogram.fsm.storage.base import BaseStorage

    from bot.config import Settings
    from bot.contract import Content
    from bot.db.engine import Database

# A data getter: computes a template variable that nodes name in `uses`, from the student's
# stored state (as aiogram_dialog's getters feed its windows).
Getter = Callable[[AsyncSession, Student, Profile | None], Awaitable[Any]]

# A start-up or shut-down step of the Dispatcher; aiogram passes it what it names.
Step = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Kit:
    """What every feature's `setup` may build on."""

    settings: "Settings"
    content: "Content"
    database: "Database"
    storage: "BaseStorage"
    # The services of the features set up before this one, by name (a feature needs the
    # tour's, say, to render its screens).
    services: Mapping[str, Any]
    # Every feature's getters; complete once all are set up, which is before the first
    # update: the tour looks them up as it shows each screen.
    getters: Mapping[str, Getter]


@dataclass(frozen=True)
class Wiring:
    """What a feature adds to the bot as it is assembled."""

    # Handed to every handler by parameter name (aiogram's workflow data): `tour`, `cohorts`…
    services: Mapping[str, Any] = field(default_factory=dict)
    getters: Mapping[str, Getter] = field(default_factory=dict)
    on_startup: Sequence[Step] = ()
    on_shutdown: Sequence[Step] = ()


def required(profile: Profile | None) -> Profile:
    """Getters run only for nodes of a career; the tour sends career-less students elsewhere."""
    if profile is None:
        raise LookupError("this node needs a career")
    return profile
