"""Text from Telegram made safe to store and to send back, at the one place it comes in: the
JSON decoder of the bot's Bot API session (webhook bodies, getUpdates results, the stand-in).

A NUL in a first name is refused by PostgreSQL (text columns cannot hold it), and a lone
surrogate (half of a UTF-16 pair, which JSON can carry as `\\ud800`) cannot be encoded as UTF-8
by any driver or by the Bot API request: either made every later update of that student fail.
So every string of an incoming update loses its C0 control characters other than tab and line
feed (NUL, and the rest, which no person types and which break storage and CSV alike), and each
lone surrogate becomes U+FFFD, the replacement character. Other characters (DEL, C1 controls,
invisible format characters) are stored and sent as they are: they harm nothing downstream;
`has_visible_text` tells text made only of them from a real note.
"""

import json
import re
import unicodedata
from typing import Any

# Only a JSON escape can put these in a string: JSON forbids raw control characters inside
# strings (the decoder refuses them) and UTF-8 cannot hold a surrogate. A surrogate pair (an
# emoji written as escapes, as encoders that keep to ASCII write every emoji, the Bot API's
# answers to the bot's own messages among them) is a whole character and does not match:
# walking every such body cost some 3% of the CPU per update.
_RISKY_ESCAPE = re.compile(
    r"\\u00[01][0-9a-fA-F]"
    r"|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff]")
_REPLACEMENT = "\ufffd"

# Characters that show nothing (besides whitespace and format characters, category Cf, such
# as the zero-width space and joiners, word joiner, BOM, bidi marks): fillers that render blank.
_BLANK_FILLERS = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0" + "".join(map(chr, range(0xFE00, 0xFE10)))
)
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})


def _replace(match: re.Match[str]) -> str:
    return _REPLACEMENT if match.group() >= "\ud800" else ""


def clean_text(text: str) -> str:
    """The text without C0 controls (but tab and line feed), lone surrogates replaced."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_replace, text)


def clean_value(value: Any) -> Any:
    """Every string in a decoded JSON value cleaned, in place for lists and objects."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = clean_value(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = clean_value(item)
    return value


def safe_json_loads(raw: str | bytes | bytearray) -> Any:
    """`json.loads`, with the strings of the result cleaned when the raw text could hold
    anything unsafe; a clean body (nearly all) costs one scan of its text for an escape."""
    text = raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw
    value = json.loads(text)
    if _RISKY_ESCAPE.search(text) is None:
        return value
    return clean_value(value)


def has_visible_text(text: str) -> bool:
    """Whether the text shows anything: not only whitespace, zero-width and format characters
    (zero-width space and joiners, word joiner, BOM…) or blank fillers."""
    return any(
        char not in _BLANK_FILLERS and unicodedata.category(char) not in _INVISIBLE_CATEGORIES
        for char in text
    )
