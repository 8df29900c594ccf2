"""Callback data carried by dialog buttons, as the handlers' filters read it back.

Buttons are packed without aiogram by bot/engine/keyboard.py, in the same format.
"""

from aiogram.filters.callback_data import CallbackData

from bot.engine.keyboard import ACTION_PREFIX, NODE_PREFIX


class NodeCallback(CallbackData, prefix=NODE_PREFIX):
    node: str


class ActionCallback(CallbackData, prefix=ACTION_PREFIX):
    name: str
    arg: str = ""
