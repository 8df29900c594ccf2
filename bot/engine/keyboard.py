"""Dialog buttons as plain values, and the one place they become aiogram's types.

Rendering a screen needs no aiogram: `content check`, `ask` and `stats` render screens, and
importing aiogram takes seconds (pydantic builds its hundreds of Telegram types). Only what
sends a screen to Telegram builds the InlineKeyboardMarkup, through `inline_markup`.
"""

from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from aiogram.types import InlineKeyboardMarkup

# The handlers read button data back with aiogram's CallbackData (bot/engine/callbacks.py),
# which packs `prefix:value:…` the same way.
NODE_PREFIX, ACTION_PREFIX = "n", "a"
SEPARATOR = ":"
MAX_DATA_BYTES = 64  # Telegram's limit on a button's callback data


class InlineButton(NamedTuple):
    text: str
    callback_data: str


Rows = list[list[InlineButton]]


def pack(prefix: str, *values: str) -> str:
    """Callback data as aiogram's CallbackData.pack() makes it, refusing what it refuses."""
    for value in values:
        if SEPARATOR in value:
            raise ValueError(f"Separator symbol {SEPARATOR!r} can not be used in value {value!r}")
    data = SEPARATOR.join((prefix, *values))
    if len(data.encode()) > MAX_DATA_BYTES:
        raise ValueError(
            f"Resulted callback data is too long! len({data!r}.encode()) > {MAX_DATA_BYTES}"
        )
    return data


# Every screen packs its buttons' data again; the same few values, so packed once each.
@lru_cache(maxsize=4096)
def node_data(node: str) -> str:
    return pack(NODE_PREFIX, node)


@lru_cache(maxsize=4096)
def action_data(name: str, arg: str = "") -> str:
    return pack(ACTION_PREFIX, name, arg)


def inline_markup(rows: Rows) -> "InlineKeyboardMarkup | None":
    """The rows as the Bot API's inline keyboard; None for a screen without buttons."""
    if not rows:
        return None
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=text, callback_data=data) for text, data in row]
            for row in rows
        ]
    )
