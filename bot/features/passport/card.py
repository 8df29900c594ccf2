"""The passport as a picture (PNG) a student can forward: the passport screen's own text,
drawn on a card, so the picture can hold nothing the text does not.

The text arrives as the screen's Telegram HTML. Its first line is the card's title, a line
that is bold throughout a heading, a line in italics a grey note. Drawn with matplotlib's Agg
backend through the object API (no pyplot state), so it is safe in a worker thread; text is
drawn as it is (no mathtext: a `$` in a name stays a `$`), and characters the font has no
glyph for (emoji, mostly) are left out rather than drawn as boxes.
"""

import io
import textwrap
from dataclasses import dataclass
from functools import cache

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.textpath import TextToPath

from bot.engine.text import plain_text

DPI = 100
WIDTH = 1000  # pixels
MARGIN = 60
ACCENT = "#3b7dd8"
INK, GREY = "#1f2933", "#6b7785"
FONT = "DejaVu Sans"  # ships with matplotlib: the card looks the same on every machine
# Telegram takes photos up to 10 MB whose width and height add up to 10000 pixels at most;
# at the tallest line height this many lines stay well under (about 7,000 pixels).
MAX_LINES = 180


@dataclass(frozen=True)
class Style:
    size: float  # points
    weight: str
    color: str
    height: int  # pixels from this line's top to the next line's
    wrap: int  # characters per line, for this size on WIDTH less the margins


TITLE = Style(24, "bold", ACCENT, 56, 56)
HEADING = Style(16, "bold", INK, 36, 74)
BODY = Style(14, "normal", INK, 30, 92)
NOTE = Style(13, "normal", GREY, 28, 100)
BLANK_HEIGHT = 14


@cache
def _font_has() -> frozenset[int]:
    """The code points the card's font can draw."""
    font = font_manager.get_font(font_manager.findfont(font_manager.FontProperties(family=FONT)))
    return frozenset(code for code, _glyph in font.get_charmap().items())


def drawable(text: str) -> str:
    """The text without the characters the font cannot draw, tabs and the like as spaces."""
    known = _font_has()
    kept = "".join(" " if char.isspace() else char for char in text if ord(char) in known)
    return " ".join(kept.split())


def card_lines(markup: str) -> list[tuple[Style, str]]:
    """Each line to draw with its style; a blank line (empty text) is a gap between paragraphs."""
    lines: list[tuple[Style, str]] = []
    titled = False
    for raw in markup.strip().split("\n"):
        source = raw.strip()
        text = drawable(plain_text(source))
        if not text:
            if lines and lines[-1][1]:
                lines.append((BODY, ""))
            continue
        if not titled:
            style, titled = TITLE, True
        elif source.startswith("<b>") and source.endswith("</b>"):
            style = HEADING
        elif source.startswith("<i>") and source.endswith("</i>"):
            style = NOTE
        else:
            style = BODY
        lines.extend((style, piece) for piece in _wrap(text, style))
    return lines[:MAX_LINES]


def _wrap(text: str, style: Style) -> list[str]:
    """Lines that fit the card: wrapped at the style's width in characters, narrower while a
    line of wide letters (a name of Ws, say) would still run off the edge."""
    width = style.wrap
    while True:
        pieces = textwrap.wrap(text, width, break_long_words=True) or [text]
        if width <= 8 or all(_pixels(piece, style) <= WIDTH - 2 * MARGIN for piece in pieces):
            return pieces
        width = width * 4 // 5


def _pixels(text: str, style: Style) -> float:
    font = font_manager.FontProperties(family=FONT, size=style.size, weight=style.weight)
    points = TextToPath().get_text_width_height_descent(text, font, ismath=False)[0]
    return float(points) * DPI / 72


def build_figure(markup: str) -> Figure:
    lines = card_lines(markup)
    height = 2 * MARGIN + sum(style.height if text else BLANK_HEIGHT for style, text in lines)
    figure = Figure(figsize=(WIDTH / DPI, height / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(figure)
    figure.patches.append(
        Rectangle((0, 1 - 12 / height), 1, 12 / height, transform=figure.transFigure, color=ACCENT)
    )
    top = MARGIN
    for style, text in lines:
        if not text:
            top += BLANK_HEIGHT
            continue
        figure.text(
            MARGIN / WIDTH,
            1 - top / height,
            text,
            fontsize=style.size,
            fontweight=style.weight,
            color=style.color,
            family=FONT,
            va="top",
            ha="left",
            parse_math=False,
        )
        top += style.height
    return figure


def render_card(markup: str) -> bytes:
    """The passport screen's text (Telegram HTML) as a PNG card."""
    buffer = io.BytesIO()
    build_figure(markup).savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
