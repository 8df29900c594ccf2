"""Callback data carried by dialog buttons; `pack()` refuses anything over 64 bytes."""

from functools import lru_cache

from aiogram.filters.callback_data import CallbackData


class NodeCallback(CallbackData, prefix="n"):
    node: str


class ActionCallback(CallbackData, prefix="a"):
    name: str
    arg: str = ""


# Every screen packs its buttons' data again; the same few values, so packed once each.
@lru_cache(maxsize=4096)
def node_data(node: str) -> str:
    return NodeCallback(node=node).pack()


@lru_cache(maxsize=4096)
def action_data(name: str, arg: str = "") -> str:
    return ActionCallback(name=name, arg=arg).pack()
