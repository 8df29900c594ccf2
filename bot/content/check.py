"""What `careerbot content check` verifies beyond each file's own schema: the profiles agree
with the program's cards, related careers link to careers the bot has, and every figure says
when it was true. Without aiogram or the dialogs, like the rest of `bot.content`.
"""

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from bot.content.cards import MONTHS, read_card
from bot.content.catalog import Catalog
from bot.content.importer import CARDS_DIR, CAREERS_DIR, differing_sections
from bot.content.models import Profile
from bot.content.yaml_source import SourceError, SourceErrors, YamlDocument, read_yaml

MONTH_YEAR = re.compile(rf"\b(?P<month>{'|'.join(MONTHS)}) (?P<year>(?:19|20)\d\d)\b")
# A year, or a range such as 2024–34 or 2025-2026; not the tail of an SOC code (15-2031) nor
# part of an amount ($2024).
YEARS = re.compile(
    r"(?<![\d$.,])(?<!\d-)(?P<start>(?:19|20)\d\d)(?:\s*[–-]\s*(?P<end>\d{2}|\d{4}))?\b"
)
# A statement of a figure: an amount, a share, or an occupation code (27-4014).
FIGURE = re.compile(r"\$\s?\d|\d\s?%|\b\d{2}-\d{4}\b")
DEFAULT_STALE_MONTHS = 18


@dataclass(frozen=True)
class Dated:
    year: int
    month: int  # a bare year counts from its December, the latest it can mean
    text: str


def dates_in(text: str) -> list[Dated]:
    found = [
        Dated(int(m["year"]), MONTHS.index(m["month"]) + 1, m[0]) for m in MONTH_YEAR.finditer(text)
    ]
    bare = MONTH_YEAR.sub(" ", text)
    for match in YEARS.finditer(bare):
        start = int(match["start"])
        found.append(Dated(start, 12, match[0]))
        if match["end"]:
            end = match["end"]
            end_year = int(end) if len(end) == 4 else start // 100 * 100 + int(end)
            found.append(Dated(end_year, 12, match[0]))
    return found


def newest_past(text: str, today: date) -> Dated | None:
    """The newest date in `text` that is not in the future: the end of a projection period
    (2024–34) says when it runs to, not when the figure was stated."""
    past = [d for d in dates_in(text) if d.year <= today.year]
    return max(past, key=lambda d: (d.year, d.month)) if past else None


def months_old(when: Dated, today: date) -> int:
    return max(0, (today.year - when.year) * 12 + today.month - when.month)


def _profile_file(content_dir: Path, slug: str) -> Path:
    return content_dir / CAREERS_DIR / f"{slug}.yaml"


def card_errors(content_dir: Path, catalog: Catalog | None) -> list[SourceError]:
    """Every card parses, and its profile (when the profiles loaded) says what it says."""
    errors: list[SourceError] = []
    for file in sorted((content_dir / CARDS_DIR).glob("*.txt")):
        try:
            card = read_card(file)
        except SourceErrors as exc:
            errors.extend(exc.errors)
            continue
        if catalog is None:
            continue
        target = _profile_file(content_dir, card.slug)
        profile = catalog.get(card.slug)
        if profile is None:
            message = f"no profile {target} for this card — run careerbot content import"
            errors.append(SourceError(file, 1, "title", message))
            continue
        document = read_yaml(target)
        for section in differing_sections(card, profile):
            message = f"differs from {file} — run careerbot content import"
            errors.append(document.error((section,), message))
    return errors


def link_and_date_errors(content_dir: Path, catalog: Catalog) -> list[SourceError]:
    errors: list[SourceError] = []
    for profile in catalog:
        document = read_yaml(_profile_file(content_dir, profile.slug))
        for index, career in enumerate(profile.related):
            if career.slug is not None and catalog.get(career.slug) is None:
                message = (
                    f"no profile {career.slug}.yaml: leave the slug out until the career is "
                    "in the catalog"
                )
                errors.append(document.error(("related", index, "slug"), message))
        if not dates_in(profile.numbers.note):
            message = "the source line states no date (a year like 2024, or Month YYYY)"
            errors.append(document.error(("numbers", "note"), message))
        if not MONTH_YEAR.search(profile.sources.dated) and not dates_in(profile.sources.dated):
            message = f"{profile.sources.dated!r} is no date (like June 2026)"
            errors.append(document.error(("sources", "dated"), message))
        for index, item in enumerate(source.name for source in profile.sources.items):
            if FIGURE.search(item) and not dates_in(item):
                message = "states a figure without its date (Month YYYY, a year, or 2024–34)"
                errors.append(document.error(("sources", "items", index), message))
        errors += _wording_errors(document, profile)
    return errors


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def _wording_errors(document: YamlDocument, profile: Profile) -> list[SourceError]:
    """A step's text that opens by repeating its title tells the student nothing new; a
    glossary term the card never uses would be explained nowhere."""
    errors = []
    for index, step in enumerate(profile.project.steps):
        title = _words(step.title)
        if title and _words(step.text)[: len(title)] == title:
            message = "repeats the step's title: say what the step gives or how, not its name"
            errors.append(document.error(("project", "steps", index, "text"), message))
    shown = " ".join(card_texts(profile))
    for index, term in enumerate(profile.glossary):
        if term not in profile.terms_in(shown):
            message = f"{term.term!r} appears nowhere on the card, so no screen would explain it"
            errors.append(document.error(("glossary", index, "term"), message))
    return errors


def card_texts(profile: Profile) -> list[str]:
    """Everything of the card a student reads, where a glossary term may appear."""
    data = profile.model_dump(exclude={"slug", "aliases", "keywords", "glossary", "related"})
    texts: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)
    return texts


def stale_facts(content_dir: Path, catalog: Catalog, months: int, today: date) -> list[str]:
    """Each dated fact whose newest date is more than `months` months before `today`."""
    report = []
    for profile in catalog:
        file = _profile_file(content_dir, profile.slug)
        facts = [(f"sources.items[{i}]", item.name) for i, item in enumerate(profile.sources.items)]
        facts.append(("numbers.note", profile.numbers.note))
        for field, text in facts:
            newest = newest_past(text, today)
            if newest is not None and months_old(newest, today) > months:
                age = months_old(newest, today)
                report.append(f"{file}: {field}: {newest.text} is {age} months old")
    return report
