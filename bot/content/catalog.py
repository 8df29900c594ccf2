"""Loads every career profile under `content/careers/` into one read-only catalog."""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pydantic import ValidationError

from bot.content.models import AREAS, SLUG_PATTERN, Profile
from bot.content.questions import QUESTIONS_FILE, QuestionSpec, load_questions
from bot.content.yaml_source import SourceError, SourceErrors, read_yaml


@dataclass(frozen=True)
class Catalog:
    profiles: dict[str, Profile] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Profile]:
        return iter(self.profiles.values())

    def __len__(self) -> int:
        return len(self.profiles)

    def get(self, slug: str | None) -> Profile | None:
        return self.profiles.get(slug) if slug else None

    @cached_property
    def areas(self) -> list[tuple[str | None, list[Profile]]]:
        """The careers by interest area, in the order of AREAS (each by title); careers with
        no area last, under None. The career list shows them so."""
        order = {area: index for index, area in enumerate(AREAS)}
        groups: dict[str | None, list[Profile]] = {}
        for profile in sorted(self, key=lambda p: (order.get(p.area or "", len(AREAS)), p.title)):
            groups.setdefault(profile.area, []).append(profile)
        return list(groups.items())

    @cached_property
    def by_area(self) -> list[Profile]:
        """Every career, in the order of `areas`."""
        return [profile for _, profiles in self.areas for profile in profiles]

    def only(self) -> Profile | None:
        """The single profile when there is exactly one, so the bot can skip the career list."""
        return next(iter(self.profiles.values())) if len(self.profiles) == 1 else None


def load_profile(file: Path, intents: frozenset[str] | None = None) -> Profile:
    """The profile in `file`, whose name (without .yaml) is the career's slug.

    With `intents`, the profile's question keywords must name known intents.
    """
    document = read_yaml(file)
    if not isinstance(document.data, dict):
        raise SourceErrors([document.error((), "a profile must be a mapping of fields")])
    errors: list[SourceError] = []
    if not re.fullmatch(SLUG_PATTERN, file.stem):
        message = (
            f"the file name {file.name!r} is the career's slug: use lowercase letters a-z, "
            "digits and dashes, starting with a letter or digit, at most 40 characters "
            "(like music-producer.yaml)"
        )
        errors.append(SourceError(file, 1, "slug", message))
    if "slug" in document.data:
        message = "don't write the slug in the file: the file name is the slug"
        errors.append(document.error(("slug",), message))
    try:
        profile = Profile.model_validate({**document.data, "slug": file.stem})
    except ValidationError as exc:
        # The slug comes from the file name, reported above; the rest is the author's text.
        found = document.validation_errors(exc)
        errors.extend(error for error in found if error.field != "slug")
        raise SourceErrors(errors or found) from exc
    for name in sorted(set(profile.keywords) - intents) if intents is not None else []:
        known = ", ".join(sorted(intents or ()))
        errors.append(document.error(("keywords", name), f"unknown intent (known: {known})"))
    if errors:
        raise SourceErrors(errors)
    return profile


def load_catalog(content_dir: Path, intents: frozenset[str] | None = None) -> Catalog:
    """Loads all profiles, collecting every error of every file before raising."""
    careers_dir = content_dir / "careers"
    files = sorted(careers_dir.glob("*.yaml"))
    if not files:
        raise SourceErrors([SourceError(careers_dir, 1, "", "no career profile (*.yaml) found")])
    profiles: dict[str, Profile] = {}
    errors: list[SourceError] = []
    for file in files:
        try:
            profile = load_profile(file, intents)
        except SourceErrors as exc:
            errors.extend(exc.errors)
            continue
        profiles[profile.slug] = profile
    if errors:
        raise SourceErrors(errors)
    return Catalog(dict(sorted(profiles.items(), key=lambda item: item[1].title.lower())))


def load_profiles(content_dir: Path) -> tuple[Catalog, QuestionSpec]:
    """The profiles, their keywords checked against the intents of questions.yaml, and the
    question matching itself: the content without the dialogs (which load aiogram)."""
    spec = load_questions(content_dir / QUESTIONS_FILE)
    return load_catalog(content_dir, intents=frozenset(spec.intents)), spec
