"""Fitting rendered HTML into Telegram messages, and showing it as plain text."""

import html
import re

MESSAGE_LIMIT = 4096
# Room kept in each part for re-opening and closing the tags a cut runs through.
TAG_ROOM = 128

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>")
_SPACE_OUTSIDE_TAGS = re.compile(r" (?![^<>]*>)")


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Splits at paragraph, then line, then word boundaries so that no part exceeds `limit`.

    A cut never falls inside a tag, and a cut through bold or a link closes the tag at the
    end of one part and opens it again at the start of the next, as Telegram wants.
    """
    text = text.strip()
    if not text:
        return []
    if len(text) <= limit:
        return [text]
    if "<" not in text:
        return _split(text, limit)
    return _balance(_split(text, limit - min(TAG_ROOM, limit // 4)))


def _split(text: str, limit: int) -> list[str]:
    parts: list[str] = []
    current = ""
    for separator, piece in _pieces(text, limit):
        candidate = f"{current}{separator}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            parts.append(current)
            current = piece
    parts.append(current)
    return [part for part in parts if part.strip()]


def _pieces(text: str, limit: int) -> list[tuple[str, str]]:
    """The text as pieces that each fit, each with the separator that preceded it."""
    pieces: list[tuple[str, str]] = []
    for paragraph in text.split("\n\n"):
        separator = "\n\n"
        for line in paragraph.split("\n") if len(paragraph) > limit else [paragraph]:
            words = _SPACE_OUTSIDE_TAGS.split(line) if len(line) > limit else [line]
            for word in words:
                while len(word) > limit:
                    pieces.append((separator, word[:limit]))
                    word, separator = word[limit:], ""
                pieces.append((separator, word))
                separator = " "
            separator = "\n"
    return pieces


def _balance(parts: list[str]) -> list[str]:
    """Closes the tags still open at the end of each part and re-opens them in the next."""
    balanced: list[str] = []
    open_tags: list[tuple[str, str]] = []  # (name, the opening tag as written)
    for part in parts:
        reopened = "".join(tag for _, tag in open_tags)
        for match in _TAG.finditer(part):
            closing, name = match[1] == "/", match[2].lower()
            if not closing:
                open_tags.append((name, match[0]))
            elif open_tags and open_tags[-1][0] == name:
                open_tags.pop()
        closed = "".join(f"</{name}>" for name, _ in reversed(open_tags))
        balanced.append(f"{reopened}{part}{closed}")
    return balanced


_ANY_TAG = re.compile(r"<[^>]+>")
_BOLD = re.compile(r"</?b>")


def plain_text(markup: str, bold: bool = False) -> str:
    """Telegram HTML as terminal text (bold as ANSI when the terminal shows it)."""
    if bold:
        markup = _BOLD.sub(lambda match: "\033[0m" if match[0] == "</b>" else "\033[1m", markup)
    return html.unescape(_ANY_TAG.sub("", markup))
