"""Reads a career card: the plain-text export of the youth program's career page.

A card is laid out line by line (see `content/cards/music-producer.txt`): four lines of
header, then sections that each open with a fixed heading line, the `Sources:` line and the
closing lines. The headings anchor the sections, so a card whose structure has drifted is
refused with the line to look at, rather than imported with its texts in the wrong fields.
"""

import re
from dataclasses import dataclass
from pathlib import Path

from bot.content.yaml_source import SourceError, SourceErrors

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MONTH_YEAR = re.compile(rf"\b({'|'.join(MONTHS)}) ((?:19|20)\d\d)\b")

RELATED = "Related:"
SUITS = "Worth a look if "
NOT_SUITED = " Maybe not if "
SOURCES = "Sources:"
SPLIT_LINE = re.compile(r"^- (?P<label>.*\D)(?P<percent>\d+)%$")
MOMENT_LINE = re.compile(r"^- (?P<time>\d{1,2}:\d{2})\s*(?P<title>\S.*)$")
DATED = re.compile(rf"\s*Dated (?P<dated>(?:{'|'.join(MONTHS)}) (?:19|20)\d\d)\.?$")

# Each section's name (the profile field it becomes) and the heading that opens it, in the
# order the card has them. The program's pages spell apostrophes both ways.
HEADINGS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("work", re.compile(r"^The work$"), "The work"),
    ("day", re.compile(r"^A typical .*day$"), "A typical … day"),
    ("checklist", re.compile(r"^Would you actually like it\?$"), "Would you actually like it?"),
    ("project", re.compile(r"^Start here$"), "Start here"),
    ("numbers", re.compile(r"^The numbers$"), "The numbers"),
    ("outlook", re.compile(r"^Where it[’']s going$"), "Where it’s going"),
    ("right_now", re.compile(r"^Right now$"), "Right now"),
    ("sources", re.compile(rf"^{SOURCES}"), "Sources: …"),
)


@dataclass(frozen=True)
class Line:
    number: int
    text: str


@dataclass(frozen=True)
class Share:
    label: str
    percent: int


@dataclass(frozen=True)
class CardWork:
    heading: str
    subheading: str
    text: str
    split: tuple[Share, ...]
    split_note: str
    split_source: str


@dataclass(frozen=True)
class CardMoment:
    time: str
    title: str
    text: str


@dataclass(frozen=True)
class CardDay:
    heading: str
    moments: tuple[CardMoment, ...]
    note: str


@dataclass(frozen=True)
class CardChecklist:
    heading: str
    intro: str
    fits_heading: str
    fits: tuple[str, ...]
    misfits_heading: str
    misfits: tuple[str, ...]


@dataclass(frozen=True)
class CardProject:
    heading: str
    title: str
    text: str


@dataclass(frozen=True)
class CardNumbers:
    heading: str
    subheading: str
    text: str
    note: str


@dataclass(frozen=True)
class CardSection:
    heading: str
    text: str


@dataclass(frozen=True)
class CardSources:
    items: tuple[str, ...]
    dated: str


@dataclass(frozen=True)
class Card:
    file: Path
    title: str
    summary: str
    related: tuple[str, ...]
    suits: str
    not_suited: str
    work: CardWork
    day: CardDay
    checklist: CardChecklist
    project: CardProject
    numbers: CardNumbers
    outlook: CardSection
    right_now: CardSection
    sources: CardSources
    closing: str

    @property
    def slug(self) -> str:
        return slugify(self.title)


def slugify(title: str) -> str:
    """`Music Producer` → `music-producer`: the file name its profile gets."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40].rstrip("-")


def split_sources(text: str) -> list[str]:
    """The items of a `Sources:` line: separated by `; `, except inside parentheses, where a
    source may list its own details."""
    items, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and text.startswith("; ", index):
            items.append(text[start:index])
            start = index + 2
    items.append(text[start:])
    return [item.strip() for item in items if item.strip()]


class _Reader:
    def __init__(self, file: Path) -> None:
        self.file = file
        self.errors: list[SourceError] = []

    def error(self, line: int, section: str, message: str) -> None:
        self.errors.append(SourceError(self.file, line, section, message))

    def text(self, lines: list[Line], index: int, section: str, what: str, after: int) -> str:
        """The line `index` of a section as prose: a list item there means one is missing."""
        if index >= len(lines):
            self.error(after, section, f"the {what} is missing")
            return ""
        line = lines[index]
        if line.text.startswith("- "):
            self.error(line.number, section, f"expected the {what}, found a list item")
        return line.text

    def extra(self, lines: list[Line], used: int, section: str) -> None:
        for line in lines[used:]:
            self.error(line.number, section, f"unexpected line {line.text[:40]!r}")

    def items(self, lines: list[Line], start: int) -> int:
        """The index after the run of `- ` lines that starts at `start`."""
        end = start
        while end < len(lines) and lines[end].text.startswith("- "):
            end += 1
        return end


def read_card(file: Path) -> Card:
    """The card in `file`; raises SourceErrors naming line and section of every problem."""
    try:
        raw = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceErrors([SourceError(file, 1, "", f"cannot read the card: {exc}")]) from exc
    return parse_card(file, raw)


def parse_card(file: Path, raw: str) -> Card:
    lines = [
        Line(number, text.strip())
        for number, text in enumerate(raw.splitlines(), start=1)
        if text.strip()
    ]
    reader = _Reader(file)
    last = lines[-1].number if lines else 1
    starts = _section_starts(reader, lines, last)
    if reader.errors:
        raise SourceErrors(reader.errors)
    bounds = [*starts, len(lines)]
    body = {name: lines[bounds[i] + 1 : bounds[i + 1]] for i, (name, _, _) in enumerate(HEADINGS)}
    heading = {name: lines[bounds[i]] for i, (name, _, _) in enumerate(HEADINGS)}
    for name, _, _ in HEADINGS[:-1]:
        if not body[name]:
            reader.error(heading[name].number, name, "empty section: nothing under its heading")
    if reader.errors:
        raise SourceErrors(reader.errors)

    title, summary, related, suits, not_suited = _header(reader, lines[: starts[0]])
    sources, closing = _sources(reader, heading["sources"], body["sources"], last)
    card = Card(
        file=file,
        title=title,
        summary=summary,
        related=related,
        suits=suits,
        not_suited=not_suited,
        work=_work(reader, heading["work"], body["work"]),
        day=_day(reader, heading["day"], body["day"]),
        checklist=_checklist(reader, heading["checklist"], body["checklist"]),
        project=_project(reader, heading["project"], body["project"]),
        numbers=_numbers(reader, heading["numbers"], body["numbers"]),
        outlook=_section(reader, "outlook", heading["outlook"], body["outlook"]),
        right_now=_section(reader, "right_now", heading["right_now"], body["right_now"]),
        sources=sources,
        closing=closing,
    )
    if reader.errors:
        raise SourceErrors(reader.errors)
    return card


def _section_starts(reader: _Reader, lines: list[Line], last: int) -> list[int]:
    """The index of each section's heading line; reports missing, repeated and misplaced
    headings (a card cut short is missing every section after the cut)."""
    found: dict[str, list[int]] = {
        name: [i for i, line in enumerate(lines) if pattern.match(line.text)]
        for name, pattern, _ in HEADINGS
    }
    starts: list[int] = []
    previous: tuple[str, int] | None = None
    for name, _, shown in HEADINGS:
        where = found[name]
        if not where:
            after = f" after {previous[0]}" if previous else ""
            reader.error(
                last,
                name,
                f"section missing: no heading line {shown!r}{after} (is the card cut short?)",
            )
            continue
        for repeat in where[1:]:
            reader.error(
                lines[repeat].number,
                name,
                f"duplicated section: {shown!r} again (first at line {lines[where[0]].number})",
            )
        start = where[0]
        if previous is not None and start < previous[1]:
            reader.error(
                lines[start].number,
                name,
                f"section out of order: {name} must come after {previous[0]} "
                f"(line {lines[previous[1]].number})",
            )
        previous = (name, start)
        starts.append(start)
    return starts


def _header(reader: _Reader, lines: list[Line]) -> tuple[str, str, tuple[str, ...], str, str]:
    if not lines:
        reader.error(1, "title", "the card starts with a section: title and summary are missing")
        return "", "", (), "", ""
    title = lines[0].text
    rest = lines[1:]
    related: tuple[str, ...] = ()
    related_lines = [line for line in rest if line.text.startswith(RELATED)]
    for line in related_lines:
        related = tuple(
            part.strip() for part in line.text.removeprefix(RELATED).split("·") if part.strip()
        )
        if not related:
            reader.error(line.number, "related", "the Related: line names no career")
    prose = [line for line in rest if not line.text.startswith(RELATED)]
    if len(related_lines) > 1:
        reader.error(related_lines[1].number, "related", "a second Related: line")
    fit = [line for line in prose if line.text.startswith(SUITS)]
    others = [line for line in prose if not line.text.startswith(SUITS)]
    summary = others[0].text if others else ""
    if not others:
        reader.error(lines[0].number, "summary", "no summary line after the title")
    for line in others[1:]:
        reader.error(line.number, "summary", f"unexpected line {line.text[:40]!r}")
    if not fit:
        reader.error(lines[-1].number, "suits", f"no line starting {SUITS.strip()!r}")
        return title, summary, related, "", ""
    suits, found, not_suited = fit[0].text.partition(NOT_SUITED)
    if not found:
        reader.error(fit[0].number, "not_suited", f"no {NOT_SUITED.strip()!r} in the line")
    return title, summary, related, suits.strip(), f"{NOT_SUITED.strip()} {not_suited.strip()}"


def _work(reader: _Reader, heading: Line, lines: list[Line]) -> CardWork:
    subheading = reader.text(lines, 0, "work", "subheading", heading.number)
    text = reader.text(lines, 1, "work", "text", heading.number)
    end = reader.items(lines, 2)
    shares = []
    for line in lines[2:end]:
        match = SPLIT_LINE.match(line.text)
        if not match:
            reader.error(
                line.number,
                "work",
                f"malformed split line {line.text!r}: expected '- <label><percent>%'",
            )
            continue
        shares.append(Share(match["label"].strip(), int(match["percent"])))
    after = lines[end - 1].number if end > 0 and lines else heading.number
    if end == 2:
        reader.error(after, "work", "no split lines ('- <label><percent>%') after the text")
    elif shares and len(shares) == end - 2 and sum(s.percent for s in shares) != 100:
        total = sum(share.percent for share in shares)
        reader.error(lines[2].number, "work", f"the split adds up to {total}%, not 100%")
    split_note = reader.text(lines, end, "work", "split note", after)
    split_source = reader.text(lines, end + 1, "work", "split source", after)
    reader.extra(lines, end + 2, "work")
    return CardWork(heading.text, subheading, text, tuple(shares), split_note, split_source)


def _day(reader: _Reader, heading: Line, lines: list[Line]) -> CardDay:
    moments = []
    index = 0
    while index < len(lines) and lines[index].text.startswith("- "):
        line = lines[index]
        match = MOMENT_LINE.match(line.text)
        if not match:
            reader.error(
                line.number,
                "day",
                f"malformed moment line {line.text!r}: expected '- <time><title>'",
            )
        has_text = index + 1 < len(lines) and not lines[index + 1].text.startswith("- ")
        if not has_text:
            reader.error(line.number, "day", "a moment without its text line below it")
        elif match:
            moments.append(CardMoment(match["time"], match["title"].strip(), lines[index + 1].text))
        index += 2 if has_text else 1
    if not moments and index == 0:
        reader.error(heading.number, "day", "no moments ('- <time><title>') under the heading")
    note = ""
    if index < len(lines):
        note = lines[index].text
    else:
        reader.error(lines[-1].number if lines else heading.number, "day", "the note is missing")
    reader.extra(lines, index + 1, "day")
    return CardDay(heading.text, tuple(moments), note)


def _checklist(reader: _Reader, heading: Line, lines: list[Line]) -> CardChecklist:
    intro = reader.text(lines, 0, "checklist", "intro", heading.number)
    fits_heading = reader.text(lines, 1, "checklist", "fits heading", heading.number)
    fits_end = reader.items(lines, 2)
    if fits_end == 2:
        reader.error(lines[min(1, len(lines) - 1)].number, "checklist", "no fits ('- …') listed")
    misfits_heading = reader.text(lines, fits_end, "checklist", "misfits heading", heading.number)
    misfits_end = reader.items(lines, fits_end + 1)
    if misfits_end == fits_end + 1:
        reader.error(lines[-1].number, "checklist", "no misfits ('- …') listed")
    reader.extra(lines, misfits_end, "checklist")

    def items(part: list[Line]) -> tuple[str, ...]:
        return tuple(line.text.removeprefix("- ").strip() for line in part)

    return CardChecklist(
        heading.text,
        intro,
        fits_heading,
        items(lines[2:fits_end]),
        misfits_heading,
        items(lines[fits_end + 1 : misfits_end]),
    )


def _project(reader: _Reader, heading: Line, lines: list[Line]) -> CardProject:
    title = reader.text(lines, 0, "project", "project title", heading.number)
    text = reader.text(lines, 1, "project", "project text", heading.number)
    reader.extra(lines, 2, "project")
    return CardProject(heading.text, title, text)


def _numbers(reader: _Reader, heading: Line, lines: list[Line]) -> CardNumbers:
    subheading = reader.text(lines, 0, "numbers", "subheading", heading.number)
    text = reader.text(lines, 1, "numbers", "text", heading.number)
    note = reader.text(lines, 2, "numbers", "source note", heading.number)
    reader.extra(lines, 3, "numbers")
    return CardNumbers(heading.text, subheading, text, note)


def _section(reader: _Reader, name: str, heading: Line, lines: list[Line]) -> CardSection:
    text = reader.text(lines, 0, name, "text", heading.number)
    reader.extra(lines, 1, name)
    return CardSection(heading.text, text)


def _sources(reader: _Reader, line: Line, after: list[Line], last: int) -> tuple[CardSources, str]:
    body = line.text.removeprefix(SOURCES).strip()
    dated = DATED.search(body)
    if dated is None:
        reader.error(line.number, "sources", "no 'Dated <Month YYYY>.' at the end of the line")
    else:
        body = body[: dated.start()]
    items = split_sources(body.strip().removesuffix("."))
    if not items:
        reader.error(line.number, "sources", "the Sources: line names no source")
    closing = "\n".join(part.text for part in after)
    if not closing:
        reader.error(last, "closing", "the closing lines after Sources: are missing")
    return CardSources(tuple(items), dated["dated"] if dated else ""), closing
