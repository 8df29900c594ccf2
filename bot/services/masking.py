"""Personal details in students' typed text, masked before a lead or an admin reads it.

Only the first pass is here (e-mail addresses, phone numbers); street addresses and
names follow with the unanswered-questions screen for leads.
"""

import re
from collections.abc import Iterable

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ()./-]{6,}\d")


def mask(text: str, names: Iterable[str] = ()) -> str:
    """`text` with e-mail addresses and phone numbers replaced by a bracketed word."""
    del names  # the name pass comes with the leads' screen
    text = _EMAIL.sub("[e-mail]", text)
    return _PHONE.sub("[phone]", text)
