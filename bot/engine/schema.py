"""The schema of `dialogs/*.yaml`; `dialogs/README.md` documents it for authors."""

from typing import Annotated, Any, Literal, Self, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)

NodeId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
Template = Annotated[str, StringConstraints(min_length=1)]
# Who may see a node, by the names of bot.services.roles.Role.
RoleName = Literal["student", "lead", "admin"]
ALL_ROLES: frozenset[str] = frozenset(get_args(RoleName))


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

    def templates(self) -> dict[str, str]:
        """Every template in the button by field, expressions wrapped as templates."""
        found = {"label": self.label, "arg": self.arg}
        for name, expression in (("each", self.each), ("when", self.when)):
            if expression:
                found[name] = "{{ " + expression + " }}"
        return found

    @model_validator(mode="after")
    def goes_somewhere(self) -> Self:
        if (self.goto is None) == (self.action is None):
            raise ValueError("a button needs exactly one of goto or action")
        return self


def _button_or_row(value: Any) -> str:
    return ROW_TAG if isinstance(value, list) else BUTTON_TAG


# A `buttons` entry is one button (a row of its own) or a list (one row). Tagging the two
# lets pydantic report errors of the shape that was written only; the tags, marked with "~",
# are left out of the field names authors see.
BUTTON_TAG, ROW_TAG = "~button", "~row"
ButtonEntry = Annotated[
    Annotated[Button, Tag(BUTTON_TAG)] | Annotated[list[Button], Tag(ROW_TAG)],
    Discriminator(_button_or_row),
]


class Node(Strict):
    text: Template
    # What staff read for this screen in the stats ("where they are now"): plain words.
    title: str | None = None
    parent: NodeId | None = None
    buttons: list[ButtonEntry] = []
    uses: list[str] = []
    # Empty: everyone. Otherwise only these roles see the node, however it is opened.
    roles: list[RoleName] = []

    def seen_by(self) -> frozenset[str]:
        return frozenset(self.roles) if self.roles else ALL_ROLES

    def all_buttons(self) -> list[Button]:
        return [button for _, button in self.located_buttons()]

    def located_buttons(self) -> list[tuple[tuple[int, ...], Button]]:
        """Each button with where it stands under `buttons`: (row,) or (row, column)."""
        located: list[tuple[tuple[int, ...], Button]] = []
        for row, entry in enumerate(self.buttons):
            if isinstance(entry, list):
                located.extend(((row, column), button) for column, button in enumerate(entry))
            else:
                located.append(((row,), entry))
        return located


class Command(Strict):
    command: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,32}$")]
    description: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    # Empty: everyone's menu. Otherwise only these roles get it in their menu (a per-chat
    # command scope for each lead and admin).
    roles: list[RoleName] = []

    def seen_by(self) -> frozenset[str]:
        return frozenset(self.roles) if self.roles else ALL_ROLES


class DialogFile(Strict):
    """One file may define nodes, messages and commands; all files are merged."""

    nodes: dict[NodeId, Node] = {}
    messages: dict[str, Template] = {}
    labels: dict[str, Template] = {}
    commands: list[Command] = []
