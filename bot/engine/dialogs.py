"""Loads `dialogs/*.yaml`, checks them against the content, and renders nodes to screens."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta
from jinja2.environment import TemplateExpression
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import ValidationError

from bot.content.catalog import Catalog
from bot.content.models import Profile
from bot.content.yaml_source import Location, SourceError, SourceErrors, YamlDocument, read_yaml
from bot.engine.keyboard import InlineButton, Rows, action_data, inline_markup, node_data
from bot.engine.schema import Button, Command, DialogFile, Node
from bot.engine.text import split_message

if TYPE_CHECKING:
    from aiogram.types import InlineKeyboardMarkup

# The variables every template may use; features add theirs through a node's `uses`.
BASE_VARIABLES = frozenset({"profile", "careers", "areas", "student"})
# A label `node_<id>` offers node <id> as the button of an announcement, which students get.
ANNOUNCEMENT_NODE_LABEL = "node_"


@dataclass(frozen=True)
class Screen:
    """What one node looks like for one student: message parts and the buttons under the last.

    Plain values: rendering needs no aiogram. `keyboard` is what the Bot API call carries.
    """

    parts: list[str]
    rows: Rows = field(default_factory=list)

    @cached_property
    def keyboard(self) -> "InlineKeyboardMarkup | None":
        return inline_markup(self.rows)


@dataclass(frozen=True)
class Contract:
    """What the code relies on the dialog files to define."""

    nodes: frozenset[str] = frozenset()
    messages: frozenset[str] = frozenset()
    labels: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()
    # Feature variables by name, each with a sample value for a profile to check templates with.
    variables: Mapping[str, Callable[[Profile], Any]] = field(default_factory=dict)


@dataclass
class _Origin:
    document: YamlDocument
    location: Location


@dataclass
class Dialogs:
    nodes: dict[str, Node]
    messages: dict[str, str]
    labels: dict[str, str]
    commands: list[Command]
    home: str = "menu"
    _text_env: ImmutableSandboxedEnvironment = field(init=False, repr=False)
    _label_env: ImmutableSandboxedEnvironment = field(init=False, repr=False)
    _templates: dict[tuple[str, bool], Template] = field(init=False, repr=False)
    _expressions: dict[str, TemplateExpression] = field(init=False, repr=False)
    _uses_profile: dict[str, bool] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        options: dict[str, Any] = {
            "undefined": StrictUndefined,
            "trim_blocks": True,
            "lstrip_blocks": True,
        }
        self._text_env = ImmutableSandboxedEnvironment(autoescape=True, **options)
        self._label_env = ImmutableSandboxedEnvironment(autoescape=False, **options)
        self._templates = {}
        self._expressions = {}
        self._uses_profile = {}

    def commands_for(self, role: str) -> list[Command]:
        """The command menu of a role: the commands without `roles`, and those naming it."""
        return [command for command in self.commands if role in command.seen_by()]

    def template(self, source: str, *, html: bool = True) -> Template:
        key = (source, html)
        if key not in self._templates:
            env = self._text_env if html else self._label_env
            self._templates[key] = env.from_string(source)
        return self._templates[key]

    def render_text(self, source: str, context: Mapping[str, Any], *, html: bool = True) -> str:
        """The template rendered. Text without template syntax (most labels) is its own
        rendering, as Jinja would give it, without Jinja's set-up for every render."""
        if "{" not in source:
            return source.removesuffix("\n")
        return self.template(source, html=html).render(context)

    def uses_profile(self, node_id: str) -> bool:
        """Whether the node shows anything of a career, so a student needs one to see it.

        Asked on every screen shown; the templates are parsed once per node.
        """
        if node_id not in self._uses_profile:
            node = self.nodes[node_id]
            sources = [node.text]
            for button in node.all_buttons():
                sources += button.templates().values()
            self._uses_profile[node_id] = any(
                "profile" in meta.find_undeclared_variables(self._text_env.parse(source))
                for source in sources
            )
        return self._uses_profile[node_id]

    def open_to(self, node_id: str, role: str) -> bool:
        """Whether someone of `role` may see the node (an unknown node: nobody)."""
        node = self.nodes.get(node_id)
        return node is not None and role in node.seen_by()

    def restricted(self, node_id: str) -> bool:
        """Whether the node is shown only to some roles, so opening it needs the viewer's."""
        node = self.nodes.get(node_id)
        return node is not None and bool(node.roles)

    def message(self, name: str, context: Mapping[str, Any]) -> str:
        return self.render_text(self.messages[name], context).strip()

    def label(self, name: str, context: Mapping[str, Any]) -> str:
        return self.render_text(self.labels[name], context, html=False).strip()

    def render(self, node_id: str, context: Mapping[str, Any]) -> Screen:
        node = self.nodes[node_id]
        text = self.render_text(node.text, context)
        rows = self._button_rows(node, context)
        rows.extend(self._footer(node, context))
        return Screen(parts=split_message(text), rows=rows)

    def _button_rows(self, node: Node, context: Mapping[str, Any]) -> Rows:
        rows: Rows = []
        for entry in node.buttons:
            if isinstance(entry, list):
                row = [b for button in entry for b in self._expand(button, context)]
                if row:
                    rows.append(row)
                continue
            buttons = self._expand(entry, context)
            rows.extend(
                buttons[start : start + entry.per_row]
                for start in range(0, len(buttons), entry.per_row)
            )
        return rows

    def _expand(self, button: Button, context: Mapping[str, Any]) -> list[InlineButton]:
        if button.each is None:
            return [self._button(button, context)] if self._allows(button, context) else []
        items = self._expression(button.each)(**context)
        scopes = ({**context, "item": item} for item in items or ())
        return [self._button(button, scope) for scope in scopes if self._allows(button, scope)]

    def _allows(self, button: Button, context: Mapping[str, Any]) -> bool:
        return button.when is None or bool(self._expression(button.when)(**context))

    def _expression(self, source: str) -> TemplateExpression:
        if source not in self._expressions:
            self._expressions[source] = self._label_env.compile_expression(
                source, undefined_to_none=False
            )
        return self._expressions[source]

    def _button(self, button: Button, context: Mapping[str, Any]) -> InlineButton:
        label = self.render_text(button.label, context, html=False).strip()
        if button.goto is not None:
            data = node_data(button.goto)
        else:
            arg = self.render_text(button.arg, context, html=False).strip()
            data = action_data(button.action or "", arg)
        return InlineButton(label, data)

    def _footer(self, node: Node, context: Mapping[str, Any]) -> Rows:
        if node.parent is None:
            return []
        home = InlineButton(self.label("home", context), node_data(self.home))
        if node.parent == self.home:
            return [[home]]
        back = InlineButton(self.label("back", context), node_data(node.parent))
        return [[back, home]]


def load_dialogs(dialogs_dir: Path, catalog: Catalog, contract: Contract) -> Dialogs:
    """Loads and checks every dialog file; raises SourceErrors listing every mistake."""
    files = sorted(dialogs_dir.glob("*.yaml"))
    if not files:
        raise SourceErrors([SourceError(dialogs_dir, 1, "", "no dialog file (*.yaml) found")])
    nodes: dict[str, Node] = {}
    messages: dict[str, str] = {}
    labels: dict[str, str] = {}
    commands: list[Command] = []
    origins: dict[tuple[str, str], _Origin] = {}
    errors: list[SourceError] = []
    for file in files:
        try:
            document = read_yaml(file)
        except SourceErrors as exc:
            errors.extend(exc.errors)
            continue
        try:
            parsed = DialogFile.model_validate(document.data or {})
        except ValidationError as exc:
            errors.extend(document.validation_errors(exc))
            continue
        for kind, entries, merged in (
            ("nodes", parsed.nodes, nodes),
            ("messages", parsed.messages, messages),
            ("labels", parsed.labels, labels),
        ):
            for name, value in entries.items():
                if name in merged:
                    first = origins[(kind, name)].document.file
                    errors.append(document.error((kind, name), f"already defined in {first}"))
                    continue
                merged[name] = value  # type: ignore[assignment]
                origins[(kind, name)] = _Origin(document, (kind, name))
        commands.extend(parsed.commands)
    if errors:
        raise SourceErrors(errors)
    dialogs = Dialogs(nodes=nodes, messages=messages, labels=labels, commands=commands)
    errors = _Checker(dialogs, catalog, contract, origins).errors()
    if errors:
        raise SourceErrors(errors)
    return dialogs


def sample_contexts(catalog: Catalog) -> Iterable[dict[str, Any]]:
    """One context per profile, as a new student would see it, for checking templates."""
    careers, areas = catalog.by_area, catalog.areas
    for profile in careers:
        yield {
            "profile": profile,
            "careers": careers,
            "areas": areas,
            "student": {"first_name": "Sam"},
        }


@dataclass
class _Checker:
    dialogs: Dialogs
    catalog: Catalog
    contract: Contract
    origins: dict[tuple[str, str], _Origin]

    def errors(self) -> list[SourceError]:
        found: list[SourceError] = []
        found.extend(self._missing())
        for node_id, node in self.dialogs.nodes.items():
            found.extend(self._node(node_id, node))
        for kind, entries in (("messages", self.dialogs.messages), ("labels", self.dialogs.labels)):
            for name, source in entries.items():
                found.extend(
                    self._template(kind, name, (kind, name), source, set(self.contract.variables))
                )
        found.extend(self._announcement_buttons())
        return found

    def _announcement_buttons(self) -> list[SourceError]:
        """An announcement's button is pressed by students: it must open a node they may see."""
        found = []
        for name in self.dialogs.labels:
            if not name.startswith(ANNOUNCEMENT_NODE_LABEL):
                continue
            node = self.dialogs.nodes.get(name.removeprefix(ANNOUNCEMENT_NODE_LABEL))
            if node is None:
                message = "an announcement button to an unknown node"
            elif "student" not in node.seen_by():
                message = "an announcement button to a node students may not see (see its roles)"
            else:
                continue
            found.append(self._at("labels", name, ("labels", name), message))
        return found

    def _at(self, kind: str, name: str, location: Location, message: str) -> SourceError:
        origin = self.origins[(kind, name)]
        return origin.document.error(location, message)

    def _missing(self) -> list[SourceError]:
        found = []
        any_file = next(iter(self.origins.values())).document if self.origins else None
        for kind, required, present in (
            ("nodes", self.contract.nodes, self.dialogs.nodes),
            ("messages", self.contract.messages, self.dialogs.messages),
            ("labels", self.contract.labels, self.dialogs.labels),
        ):
            for name in sorted(required - present.keys()):
                message = f"missing: the bot needs {kind} '{name}'"
                if any_file is None:
                    found.append(SourceError(Path("dialogs"), 1, f"{kind}.{name}", message))
                else:
                    found.append(SourceError(any_file.file, 1, f"{kind}.{name}", message))
        return found

    def _template(
        self, kind: str, name: str, location: Location, source: str, uses: set[str]
    ) -> list[SourceError]:
        env = self.dialogs._text_env
        try:
            parsed = env.parse(source)
        except TemplateSyntaxError as exc:
            return [self._at(kind, name, location, f"template syntax: {exc.message}")]
        unknown = meta.find_undeclared_variables(parsed) - BASE_VARIABLES - uses - {"item"}
        if unknown:
            names = ", ".join(sorted(unknown))
            return [self._at(kind, name, location, f"undefined template variable: {names}")]
        return []

    def _node(self, node_id: str, node: Node) -> list[SourceError]:
        at = ("nodes", node_id)
        found = self._template("nodes", node_id, (*at, "text"), node.text, set(node.uses))
        for index, name in enumerate(node.uses):
            if name not in self.contract.variables:
                known = ", ".join(sorted(self.contract.variables))
                message = f"unknown variable '{name}' (known: {known})"
                found.append(self._at("nodes", node_id, (*at, "uses", index), message))
        if node.parent is not None and node.parent not in self.dialogs.nodes:
            found.append(self._at(*at, (*at, "parent"), f"unknown node '{node.parent}'"))
        if node.roles and node_id == self.dialogs.home:
            message = "the home screen is where everyone lands: it cannot have roles"
            found.append(self._at(*at, (*at, "roles"), message))
        for place, button in node.located_buttons():
            found.extend(self._button(node_id, node, button, (*at, "buttons", *place)))
        if not found:
            found.extend(self._render(node_id, node))
        return found

    def _button(
        self, node_id: str, node: Node, button: Button, location: Location
    ) -> list[SourceError]:
        found = []
        if button.goto is not None and button.goto not in self.dialogs.nodes:
            found.append(self._at("nodes", node_id, (*location, "goto"), "unknown node"))
        elif button.goto is not None:
            # A button must not show someone a screen they may not open.
            unseen = node.seen_by() - self.dialogs.nodes[button.goto].seen_by()
            if unseen:
                names = ", ".join(sorted(unseen))
                message = f"leads to '{button.goto}', which {names} may not see (see its roles)"
                found.append(self._at("nodes", node_id, (*location, "goto"), message))
        if button.action is not None and button.action not in self.contract.actions:
            known = ", ".join(sorted(self.contract.actions))
            message = f"unknown action '{button.action}' (known: {known})"
            found.append(self._at("nodes", node_id, (*location, "action"), message))
        for name, source in button.templates().items():
            if source:
                found.extend(
                    self._template("nodes", node_id, (*location, name), source, set(node.uses))
                )
        return found

    def _render(self, node_id: str, node: Node) -> list[SourceError]:
        """Renders the node for every profile, catching what only shows with real content;
        each mistake is reported where it is: the text, or the button."""
        at = ("nodes", node_id)
        for context in sample_contexts(self.catalog):
            profile = context["profile"]
            slug = profile.slug
            samples = {name: self.contract.variables[name](profile) for name in node.uses}
            scope = {**context, **samples}
            found: list[SourceError] = []
            try:
                self.dialogs.template(node.text).render(scope)
            except (TemplateError, TypeError, ValueError) as exc:
                message = f"cannot render for career '{slug}': {exc}"
                found.append(self._at("nodes", node_id, (*at, "text"), message))
            for place, button in node.located_buttons():
                location: Location = (*at, "buttons", *place)
                try:
                    rendered = self.dialogs._expand(button, scope)
                except (TemplateError, TypeError, ValueError) as exc:
                    # ValueError is also how callback data over Telegram's 64 bytes shows up.
                    message = f"cannot render for career '{slug}': {exc}"
                    found.append(self._at("nodes", node_id, location, message))
                    continue
                if any(not item.text for item in rendered):
                    message = f"a button renders to an empty label for career '{slug}'"
                    found.append(self._at("nodes", node_id, location, message))
            if found:
                return found
        return []
