"""Turns career cards into profiles (`careerbot content import`), keeping the authors' work.

The card owns every text the student reads; the profile adds what only authors know: the
interest area, aliases and keywords for typed questions, the project's steps, the pay figures
structured by hand and which related careers link where. Importing again replaces the card's
part and keeps the rest, so a card can be re-exported and re-imported at any time.
"""

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bot.content.cards import Card, read_card, slugify
from bot.content.models import Profile
from bot.content.yaml_source import SourceError, SourceErrors, read_yaml

CARDS_DIR = "cards"
CAREERS_DIR = "careers"
WIDTH = 92  # of the hand-written profiles' lines, so an imported one reads the same

# What authors add to a profile by hand, at its top; everything else comes from the card
# (but for project.steps, numbers.pay_paths, the glossary, the checklist signs' question
# forms and the sources' links, kept as well: see `merged`).
HAND_KEPT = ("area", "interests", "aliases", "keywords")
# The profile's fields in file order, as the schema declares them; those the card gives.
ORDER = tuple(name for name in Profile.model_fields if name != "slug")
CARD_SECTIONS = tuple(name for name in ORDER if name not in (*HAND_KEPT, "glossary"))
# Texts students read as paragraphs: folded, so any character is safe and no quoting is needed.
PROSE = frozenset(
    {"summary", "suits", "not_suited", "text", "split_note", "split_source", "note", "intro"}
)
# Figures and times: YAML would read some as numbers or null (11:00, ~), so always quoted.
QUOTED = frozenset({"time", "median", "entry", "top", "range", "growth"})
STEP_KEYS = ("id", "title", "text", "note_prompt", "repeatable", "how", "tools", "time")
PAY_KEYS = (
    "name",
    "text",
    "median",
    "entry",
    "top",
    "range",
    "growth",
    "growth_period",
    "dated",
    "paid",
)

HEADER = """\
# Career profile: {title}.
# The slug is the file name: {slug}. Field guide: content/AUTHORING.md
# Check your edits with: careerbot content check
"""
AREA_NOTE = "# The interest area the career list groups it under (see content/AUTHORING.md).\n"
INTERESTS_NOTE = (
    "# The interest areas the quiz matches it on, strongest first (see content/AUTHORING.md).\n"
)
NO_AREA = "# area: one of hands-on, investigative, artistic, social, enterprising, organising\n"
QUESTIONS_NOTE = """\
# Other names students use for this career, and question words that only fit it, by intent
# (see content/questions.yaml). Both are for answering typed questions; nothing here is shown.
"""
GLOSSARY_NOTE = """\
# Words of the card a student may not know, one line each, shown under the screens that use
# them (see content/AUTHORING.md).
"""
TIMES_NOTE = '    # Times are always in quotes: "11:00", not 11:00.\n'
PAY_NOTE = """\
  # Every figure is written exactly as the source states it. Leave a field out
  # when the source gives no figure for it.
"""


@dataclass(frozen=True)
class Imported:
    card: Card
    profile_file: Path
    text: str
    status: str  # created, updated or unchanged
    card_copy: Path
    card_status: str


def card_fields(card: Card) -> dict[str, Any]:
    """Everything the card says, shaped as the profile's fields (related without slugs):
    the card's sections carry the profile's field names."""
    data: dict[str, Any] = _lists(asdict(card))
    del data["file"]
    data["related"] = [{"title": title} for title in card.related]
    return data


def _lists(value: Any) -> Any:
    """The card's tuples as the lists a profile holds (and YAML writes)."""
    if isinstance(value, dict):
        return {key: _lists(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_lists(item) for item in value]
    return value


def profile_card_fields(profile: Profile) -> dict[str, Any]:
    """The part of a loaded profile that an import takes from the card, shaped as
    `card_fields`, so the two compare section by section."""
    data = profile.model_dump(exclude={"slug", *HAND_KEPT})
    data["related"] = [{"title": career.title} for career in profile.related]
    data["project"].pop("steps")
    data["numbers"].pop("pay_paths")
    for key in ("fits", "misfits"):
        data["checklist"][key] = [sign["sign"] for sign in data["checklist"][key]]
    data["sources"]["items"] = [source["name"] for source in data["sources"]["items"]]
    return {name: data[name] for name in CARD_SECTIONS}


def differing_sections(card: Card, profile: Profile) -> list[str]:
    """The sections whose card-derived fields the profile does not have as the card says."""
    # Validated as a profile, so both sides are normalised the same way (stripped text).
    ours = card_fields(card)
    theirs = profile_card_fields(profile)
    return [name for name in CARD_SECTIONS if _normal(ours[name]) != _normal(theirs[name])]


def _normal(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_normal(item) for item in value]
    return value


def merged(card: Card, existing: dict[str, Any] | None, known: set[str]) -> dict[str, Any]:
    """The profile's data: the card's fields over the hand-kept ones of `existing`.

    `known` is every slug with a profile (or a card imported alongside), which a related
    career without a slug of its own links to.
    """
    old = existing or {}
    new = card_fields(card)
    old_slugs = {
        item.get("title"): item.get("slug")
        for item in old.get("related") or []
        if isinstance(item, dict) and item.get("slug")
    }
    for item in new["related"]:
        slug = old_slugs.get(item["title"]) or _slug_if_known(item["title"], known)
        if slug:
            item["slug"] = slug
    for name in HAND_KEPT:
        if name in old:
            new[name] = old[name]
    old_project = old.get("project")
    old_numbers = old.get("numbers")
    old_project = old_project if isinstance(old_project, dict) else {}
    old_numbers = old_numbers if isinstance(old_numbers, dict) else {}
    # A new profile gets one step and one pay path, so it is valid from the start; the
    # author then splits the project into steps and structures the figures.
    new["project"]["steps"] = old_project.get("steps") or [
        {"id": "start", "title": card.project.title, "text": card.project.text}
    ]
    numbers = new["numbers"]
    pay_paths = old_numbers.get("pay_paths") or [{"name": card.title, "text": card.numbers.text}]
    new["numbers"] = {key: numbers[key] for key in ("heading", "subheading", "text")}
    new["numbers"]["pay_paths"] = pay_paths
    new["numbers"]["note"] = numbers["note"]
    new["checklist"] = _signs_kept(new["checklist"], old.get("checklist"))
    new["sources"]["items"] = _links_kept(new["sources"]["items"], old.get("sources"))
    if isinstance(old.get("glossary"), list):
        new["glossary"] = old["glossary"]
    # Fields the importer does not know (a newer schema's) stay where the author put them.
    extra = {key: value for key, value in old.items() if key not in ORDER}
    ordered = {key: new[key] for key in ORDER if key in new}
    return {**ordered, **extra}


def _signs_kept(checklist: dict[str, Any], old: Any) -> dict[str, Any]:
    """The card's signs, each with the question forms written for the same words before; a
    sign whose words changed loses them, so `content check` asks for new ones."""
    old = old if isinstance(old, dict) else {}
    forms = {
        item["sign"]: item
        for key in ("fits", "misfits")
        for item in old.get(key) or []
        if isinstance(item, dict) and isinstance(item.get("sign"), str)
    }
    kept = dict(checklist)
    for key in ("fits", "misfits"):
        kept[key] = [forms.get(sign, sign) for sign in checklist[key]]
    return kept


def _links_kept(items: list[str], old: Any) -> list[Any]:
    old_items = old.get("items") if isinstance(old, dict) else None
    links = {
        item["name"]: item
        for item in old_items or []
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    }
    return [links.get(name, name) for name in items]


def _slug_if_known(title: str, known: set[str]) -> str | None:
    slug = slugify(title)
    return slug if slug in known else None


def import_cards(paths: list[Path], content_dir: Path) -> list[Imported]:
    """Reads every card and builds each profile; raises SourceErrors with every problem of
    every card before anything is written."""
    files, errors = _card_files(paths)
    cards: list[Card] = []
    for file in files:
        try:
            cards.append(read_card(file))
        except SourceErrors as exc:
            errors.extend(exc.errors)
    by_slug: dict[str, Card] = {}
    for card in cards:
        if not card.slug:
            errors.append(SourceError(card.file, 1, "title", "no letters or digits for a slug"))
        elif card.slug in by_slug:
            message = f"the same career as {by_slug[card.slug].file} ({card.slug})"
            errors.append(SourceError(card.file, 1, "title", message))
        else:
            by_slug[card.slug] = card
    if errors:
        raise SourceErrors(errors)
    careers = content_dir / CAREERS_DIR
    known = {file.stem for file in careers.glob("*.yaml")} | set(by_slug)
    results = []
    for slug, card in by_slug.items():
        target = careers / f"{slug}.yaml"
        existing = None
        before = target.read_text("utf-8") if target.exists() else None
        if before is not None:
            try:
                document = read_yaml(target)
            except SourceErrors as exc:
                errors.extend(exc.errors)
                continue
            existing = document.data if isinstance(document.data, dict) else None
        data = merged(card, existing, known)
        try:
            Profile.model_validate({**data, "slug": slug})
        except ValidationError as exc:
            errors.extend(_invalid(exc, card, target if before is not None else card.file))
            continue
        text = dump_profile(slug, data)
        status = "created" if before is None else "unchanged" if before == text else "updated"
        copy = content_dir / CARDS_DIR / f"{slug}.txt"
        card_text = card.file.read_bytes()
        card_status = (
            "created"
            if not copy.exists()
            else "unchanged"
            if copy.read_bytes() == card_text
            else "updated"
        )
        results.append(Imported(card, target, text, status, copy, card_status))
    if errors:
        raise SourceErrors(errors)
    return results


def write(results: list[Imported]) -> None:
    for result in results:
        if result.status != "unchanged":
            result.profile_file.parent.mkdir(parents=True, exist_ok=True)
            result.profile_file.write_text(result.text, "utf-8")
        if result.card_status != "unchanged":
            result.card_copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(result.card.file, result.card_copy)


def _invalid(exc: ValidationError, card: Card, file: Path) -> list[SourceError]:
    errors = []
    for detail in exc.errors():
        field = ".".join(str(part) for part in detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        errors.append(SourceError(file, 1, field, f"{message} (importing {card.file})"))
    return errors


def _card_files(paths: list[Path]) -> tuple[list[Path], list[SourceError]]:
    files: list[Path] = []
    errors: list[SourceError] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.txt"))
            if not found:
                errors.append(SourceError(path, 1, "", "no card (*.txt) in this folder"))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            errors.append(SourceError(path, 1, "", "no such file or folder"))
    return files, errors


# Writing YAML by hand rather than with yaml.dump: the profile must read like the ones the
# authors write (comments, folded prose, quoted times), since they go on editing it.


def dump_profile(slug: str, data: dict[str, Any]) -> str:
    out = [
        HEADER.format(title=data["title"], slug=slug),
        "\n",
        _entry("title", data["title"], 0, ("title",)),
    ]
    area = _entry("area", data["area"], 0, ("area",)) if "area" in data else NO_AREA
    out.append("\n" + AREA_NOTE + area)
    if data.get("interests"):
        out.append(INTERESTS_NOTE + f"interests: [{', '.join(data['interests'])}]\n")
    out.append("\n" + QUESTIONS_NOTE + _aliases(data.get("aliases", [])))
    out.append(_entry("keywords", data.get("keywords", {}), 0, ("keywords",)))
    for key, value in data.items():
        if key not in ("title", *HAND_KEPT):
            note = GLOSSARY_NOTE if key == "glossary" else ""
            out.append("\n" + note + _entry(key, value, 0, (key,)))
    return "".join(out)


def _entry(key: str, value: Any, indent: int, path: tuple[Any, ...]) -> str:
    pad = " " * indent
    name = _key(key)
    if isinstance(value, dict):
        if not value:
            return f"{pad}{name}: {{}}\n"
        lines = [f"{pad}{name}:\n"]
        for sub, item in _ordered(value, path):
            if path == ("numbers",) and sub == "pay_paths":
                lines.append(PAY_NOTE)
            lines.append(_entry(sub, item, indent + 2, (*path, sub)))
        return "".join(lines)
    if isinstance(value, list):
        if not value:
            return f"{pad}{name}: []\n"
        lines = [f"{pad}{name}:\n"]
        if path == ("day", "moments"):
            lines.append(TIMES_NOTE)
        for index, item in enumerate(value):
            lines.append(_item(item, indent + 2, (*path, index)))
        return "".join(lines)
    return _scalar_entry(pad, name, key, value, path)


def _item(value: Any, indent: int, path: tuple[Any, ...]) -> str:
    pad = " " * indent
    if isinstance(value, dict) and value:
        body = [_entry(sub, item, indent + 2, (*path, sub)) for sub, item in _ordered(value, path)]
        first = body[0][indent + 2 :]
        return f"{pad}- {first}" + "".join(body[1:])
    if isinstance(value, list | dict):
        return f"{pad}- {json.dumps(value, ensure_ascii=False)}\n"
    return f"{pad}- {_plain_or_quoted(value, indent + 2)}\n"


def _ordered(value: dict[str, Any], path: tuple[Any, ...]) -> list[tuple[str, Any]]:
    keys = (
        STEP_KEYS
        if path[:2] == ("project", "steps")
        else PAY_KEYS
        if path[:2] == ("numbers", "pay_paths")
        else ()
    )
    first = [(key, value[key]) for key in keys if key in value]
    return first + [(key, item) for key, item in value.items() if key not in keys]


def _scalar_entry(pad: str, name: str, key: str, value: Any, path: tuple[Any, ...]) -> str:
    inner = pad + "  "
    if isinstance(value, str):
        if "\n" in value:
            return f"{pad}{name}: |-\n" + "".join(f"{inner}{line}\n" for line in value.split("\n"))
        if key in QUOTED and not (key == "time" and path[0] == "project"):
            # A step's time is an estimate ("about 20 minutes"), not a clock time.
            return f"{pad}{name}: {_quoted(value)}\n"
        prose = key in PROSE and path[:2] != ("project", "steps")
        line = f"{pad}{name}: {value}"
        if prose or len(line) > WIDTH or not _plain_safe(value):
            if _fold_safe(value):
                return f"{pad}{name}: >-\n{inner}{value}\n"
            return f"{pad}{name}: {_quoted(value)}\n"
        return line + "\n"
    return f"{pad}{name}: {_plain_or_quoted(value, len(pad))}\n"


def _plain_or_quoted(value: Any, indent: int) -> str:
    if not isinstance(value, str):
        return json.dumps(value) if value is None or isinstance(value, bool) else repr(value)
    return value if _plain_safe(value) else _quoted(value)


def _quoted(value: str) -> str:
    # A JSON string is a valid double-quoted YAML scalar.
    return json.dumps(value, ensure_ascii=False)


def _key(key: Any) -> str:
    text = str(key)
    return text if isinstance(key, str) and _plain_safe(text) else _quoted(text)


def _plain_safe(value: str) -> bool:
    if not value or value != value.strip() or "\n" in value:
        return False
    try:
        return bool(
            yaml.safe_load(f"k: {value}") == {"k": value}
            and yaml.safe_load(f"- {value}") == [value]
        )
    except yaml.YAMLError:
        return False


def _fold_safe(value: str) -> bool:
    return bool(value) and value == value.strip() and "\n" not in value


def _aliases(aliases: Any) -> str:
    if not isinstance(aliases, list) or not aliases:
        return _entry("aliases", aliases, 0, ("aliases",))
    words = [alias if _flow_safe(alias) else _quoted(str(alias)) for alias in aliases]
    pieces = [word + "," for word in words[:-1]] + [words[-1] + "]"]
    lines, line = [], "aliases: [" + pieces[0]
    for piece in pieces[1:]:
        if len(line) + 1 + len(piece) > WIDTH:
            lines.append(line)
            line = "  " + piece
        else:
            line = f"{line} {piece}"
    lines.append(line)
    return "\n".join(lines) + "\n"


def _flow_safe(value: Any) -> bool:
    if not isinstance(value, str) or not _plain_safe(value) or any(c in value for c in ",[]{}"):
        return False
    try:
        return bool(yaml.safe_load(f"[{value}]") == [value])
    except yaml.YAMLError:
        return False
