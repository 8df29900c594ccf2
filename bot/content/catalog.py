"""Loads every career profile under `content/careers/` into one read-only catalog."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from bot.content.models import Profile
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

    def only(self) -> Profile | None:
        """The single profile when there is exactly one, so the bot can skip the career list."""
        return next(iter(self.profiles.values())) if len(self.profiles) == 1 else None


def load_profile(file: Path) -> Profile:
    document = read_yaml(file)
    if not isinstance(document.data, dict):
        raise SourceErrors([document.error((), "a profile must be a mapping of fields")])
    try:
        return Profile.model_validate({"slug": file.stem, **document.data})
    except ValidationError as exc:
        raise SourceErrors(document.validation_errors(exc)) from exc


def load_catalog(content_dir: Path) -> Catalog:
    """Loads all profiles, collecting every error of every file before raising."""
    careers_dir = content_dir / "careers"
    files = sorted(careers_dir.glob("*.yaml"))
    if not files:
        raise SourceErrors([SourceError(careers_dir, 1, "", "no career profile (*.yaml) found")])
    profiles: dict[str, Profile] = {}
    errors: list[SourceError] = []
    for file in files:
        try:
            profile = load_profile(file)
        except SourceErrors as exc:
            errors.extend(exc.errors)
            continue
        profiles[profile.slug] = profile
    if errors:
        raise SourceErrors(errors)
    return Catalog(dict(sorted(profiles.items(), key=lambda item: item[1].title.lower())))
