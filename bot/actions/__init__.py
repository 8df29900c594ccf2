"""The actions dialog buttons name (`action:` in dialogs/*.yaml), one module per feature whose
handlers answer them.

Apart from the handlers, which import aiogram: `content check` verifies every button's action
without loading aiogram, whose import takes seconds.
"""
