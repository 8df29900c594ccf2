"""Callback data carried by dialog buttons; `pack()` refuses anything over 64 bytes."""

from aiogram.filters.callback_data import CallbackData


class NodeCallback(CallbackData, prefix="n"):
    node: str


class ActionCallback(CallbackData, prefix="a"):
    name: str
    arg: str = ""
