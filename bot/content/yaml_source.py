"""YAML loading that remembers where each value came from, so errors can name file and line."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Location = tuple[str | int, ...]
Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True)
class SourceError:
    """One mistake in a data file, phrased for the author who has to fix it."""

    file: Path
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class SourceErrors(Exception):
    def __init__(self, errors: Sequence[SourceError]) -> None:
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = list(errors)


@dataclass(frozen=True)
class YamlDocument:
    file: Path
    data: Any
    lines: dict[Location, int]

    def line_of(self, location: Location) -> int:
        """The line of the deepest part of `location` that exists in the file."""
        for end in range(len(location), -1, -1):
            line = self.lines.get(tuple(location[:end]))
            if line is not None:
                return line
        return 1

    def error(self, location: Location, message: str) -> SourceError:
        field = ".".join(str(part) for part in location)
        return SourceError(self.file, self.line_of(location), field, message)

    def validated(self, model: type[Model]) -> Model:
        """The document as `model`; raises SourceErrors naming the line of each mistake."""
        try:
            return model.model_validate(self.data or {})
        except ValidationError as exc:
            raise SourceErrors(self.validation_errors(exc)) from exc

    def validation_errors(self, exc: ValidationError, prefix: Location = ()) -> list[SourceError]:
        errors = []
        for detail in exc.errors():
            # Pydantic adds the names of union members ("[...]", or tags marked "~") to the
            # location; they are no field of the file.
            location = prefix + tuple(
                part
                for part in detail["loc"]
                if not isinstance(part, str) or not part.startswith(("[", "~"))
            )
            message = detail["msg"].removeprefix("Value error, ")
            errors.append(self.error(location, message))
        return errors


def _line_map(node: yaml.Node, location: Location, lines: dict[Location, int]) -> None:
    lines[location] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            _line_map(value_node, (*location, key), lines)
            lines[(*location, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*location, index), lines)


# libyaml's parser when PyYAML was built with it: the same documents, marks and errors, about
# ten times faster than the pure-Python one (content/examples is 1,500 questions).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(file: Path) -> YamlDocument:
    """Parse one YAML file; raises SourceErrors with the line of a syntax error."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourceErrors([SourceError(file, 1, "", f"cannot read the file: {exc}")]) from exc
    try:
        try:
            node = yaml.compose(text, Loader=_LOADER)
            data = yaml.load(text, Loader=_LOADER)
        except yaml.YAMLError:
            # The pure-Python parser says where and what as authors have read it so far.
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise SourceErrors([SourceError(file, line, "", f"YAML syntax: {problem}")]) from exc
    except yaml.YAMLError as exc:
        raise SourceErrors([SourceError(file, 1, "", f"YAML syntax: {exc}")]) from exc
    lines: dict[Location, int] = {}
    if node is not None:
        _line_map(node, (), lines)
    return YamlDocument(file=file, data=data, lines=lines)
