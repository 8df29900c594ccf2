"""The schema of `dialogs/*.yaml`; `dialogs/README.md` documents it for authors."""

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

NodeId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
Template = Annotated[str, StringConstraints(min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Button(Strict):
    """A button that opens a node (`goto`) or triggers an action handled in code (`action`).

    With `each`, one button is made per item of the named list; `item` is the current one.
    """

    label: Template
    goto: NodeId | None = None
    action: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,20}$")] | None = None
    arg: str = ""
    each: str | None = None
    when: str | None = None
    per_row: Annotated[int, Field(ge=1, le=8)] = 1

    @model_validator(mode="after")
    def goes_somewhere(self) -> Self:
        if (self.goto is None) == (self.action is None):
            raise ValueError("a button needs exactly one of goto or action")
        return self


class Node(Strict):
    text: Template
    parent: NodeId | None = None
    buttons: list[Button | list[Button]] = []
    uses: list[str] = []


class Command(Strict):
    command: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]
    description: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class DialogFile(Strict):
    """One file may define nodes, messages and commands; all files are merged."""

    nodes: dict[NodeId, Node] = {}
    messages: dict[str, Template] = {}
    labels: dict[str, Template] = {}
    commands: list[Command] = []
