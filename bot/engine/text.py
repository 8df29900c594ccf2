"""Fitting rendered HTML into Telegram messages."""

MESSAGE_LIMIT = 4096


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Splits at paragraph, then line, then word boundaries so that no part exceeds `limit`.

    Templates keep HTML tags inside one paragraph, so paragraph and line cuts never split a tag.
    """
    text = text.strip()
    if not text:
        return []
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
            for word in line.split(" ") if len(line) > limit else [line]:
                while len(word) > limit:
                    pieces.append((separator, word[:limit]))
                    word, separator = word[limit:], ""
                pieces.append((separator, word))
                separator = " "
            separator = "\n"
    return pieces
