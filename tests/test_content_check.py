"""`careerbot content check`: every mistake reported as `file:line: field: message`.

Each case breaks a copy of the real content or dialogs, runs the real command
(`bot.cli.main`) against the copy, and checks the exact line the author would see. The line
numbers expected here are found in the broken file itself, not taken from the checker.
"""

import itertools
import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from bot.cli import main
from bot.config import Settings
from bot.content.check import Dated, months_old, newest_past
from bot.content.yaml_source import SourceError, SourceErrors, read_yaml
from bot.engine.text import MESSAGE_LIMIT, split_message
from tests.cli_support import clean_env, run_careerbot

PROFILE = "music-producer.yaml"
LONG_ARG = "x" * 70


@dataclass
class Tree:
    """Writable copies of the content and dialogs that `careerbot` is pointed at."""

    root: Path
    content: Path
    dialogs: Path

    @property
    def careers(self) -> Path:
        return self.content / "careers"

    @property
    def profile(self) -> Path:
        return self.careers / PROFILE

    def edit(self, file: Path, old: str, new: str) -> None:
        text = file.read_text("utf-8")
        assert text.count(old) == 1, f"{old!r} is not in {file.name} exactly once"
        file.write_text(text.replace(old, new), "utf-8")


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def errors(self) -> list[str]:
        """The reported mistakes: the stderr lines after the `content has N error(s):` line."""
        lines = self.err.splitlines()
        assert lines and re.fullmatch(r"careerbot: content has \d+ error\(s\):", lines[0]), self.err
        assert lines[0] == f"careerbot: content has {len(lines) - 1} error(s):"
        return lines[1:]


def line_of(file: Path, text: str) -> int:
    """The 1-based line of the only line of `file` that contains `text` (or, for a key such as
    `work:`, the only line that is just that key, indentation included)."""
    numbered = list(enumerate(file.read_text("utf-8").splitlines(), 1))
    lines = [n for n, line in numbered if line.rstrip() == text] if text.endswith(":") else []
    lines = lines or [n for n, line in numbered if text in line]
    assert len(lines) == 1, f"{text!r} is on lines {lines} of {file}"
    return lines[0]


def first_key_line(file: Path) -> int:
    """The line of the first key of the file, where its top-level mapping starts."""
    for number, line in enumerate(file.read_text("utf-8").splitlines(), 1):
        if line and not line.startswith(("#", " ")):
            return number
    raise AssertionError(f"{file} has no top-level key")


def remove_block(file: Path, first_line: str) -> None:
    """Deletes the line `first_line` and every following line indented deeper (or blank)."""
    lines = file.read_text("utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.rstrip("\n") == first_line)
    indent = len(first_line) - len(first_line.lstrip())
    end = start + 1
    while end < len(lines) and (
        not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
    ):
        end += 1
    file.write_text("".join(lines[:start] + lines[end:]), "utf-8")


def node_file(dialogs: Path, node_id: str) -> Path:
    """The dialog file that defines a node."""
    for file in sorted(dialogs.glob("*.yaml")):
        data = yaml.safe_load(file.read_text("utf-8")) or {}
        if node_id in (data.get("nodes") or {}):
            return file
    raise AssertionError(f"no dialog file defines node {node_id!r}")


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tree:
    source = Settings(_env_file=None)
    copy = Tree(tmp_path, tmp_path / "content", tmp_path / "dialogs")
    shutil.copytree(source.content_dir, copy.content)
    shutil.copytree(source.dialogs_dir, copy.dialogs)
    for name in ("BOT_TOKEN", "DATABASE_URL", "ADMIN_IDS", "LOG_LEVEL", "TELEGRAM_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONTENT_DIR", str(copy.content))
    monkeypatch.setenv("DIALOGS_DIR", str(copy.dialogs))
    monkeypatch.chdir(tmp_path)  # no `.env` of the checkout
    return copy


@pytest.fixture
def check(tree: Tree, capsys: pytest.CaptureFixture[str]) -> "CheckRunner":
    return CheckRunner(capsys)


class CheckRunner:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self) -> Outcome:
        self.capsys.readouterr()
        code = main(["content", "check"])
        captured = self.capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    def fails(self) -> list[str]:
        """The reported mistakes, after checking that the command failed as it should."""
        outcome = self()
        assert outcome.code == 1, outcome
        assert outcome.out == ""
        assert "Traceback" not in outcome.err
        return outcome.errors

    def fails_with(self, *expected: str) -> list[str]:
        errors = self.fails()
        assert errors == list(expected)
        return errors


# The content as it is


def test_the_real_content_passes(check: CheckRunner) -> None:
    outcome = check()
    assert outcome.code == 0, outcome.err
    assert re.fullmatch(r"content OK: 1 career\(s\), \d+ dialog nodes\n", outcome.out)
    assert outcome.err == ""


def test_the_installed_command_passes_on_the_real_content(tmp_path: Path) -> None:
    result = run_careerbot("content", "check", cwd=tmp_path, env=clean_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("content OK: 1 career(s), ")
    assert result.stderr == ""


# Career profiles


def test_work_split_not_adding_up_to_100(tree: Tree, check: CheckRunner) -> None:
    tree.edit(tree.profile, "      percent: 20\n", "      percent: 10\n")
    check.fails_with(
        f"{tree.profile}:{line_of(tree.profile, 'work:')}: work: "
        "the percents of split add up to 90, not 100"
    )


def test_export_refuses_a_broken_profile_with_the_same_message(
    tree: Tree, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`careerbot export` loads the profiles without the dialogs; a mistake in them still
    stops it with file, line and field, and nothing written."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tree.root / 'bot.db'}")
    tree.edit(tree.profile, "      percent: 20\n", "      percent: 10\n")
    code = main(["export", "-o", str(tree.root / "out.csv")])
    outcome = Outcome(code, *capsys.readouterr())
    assert outcome.code == 1 and "Traceback" not in outcome.err
    assert outcome.errors == [
        f"{tree.profile}:{line_of(tree.profile, 'work:')}: work: "
        "the percents of split add up to 90, not 100"
    ]
    assert not (tree.root / "out.csv").exists()


def test_bad_time_of_a_moment(tree: Tree, check: CheckRunner) -> None:
    tree.edit(tree.profile, 'time: "3:00"', 'time: "25:00"')
    check.fails_with(
        f"{tree.profile}:{line_of(tree.profile, '25:00')}: day.moments.2.time: "
        "'25:00' is not a time like 9:30 or 14:00"
    )


def test_unquoted_time_is_caught(tree: Tree, check: CheckRunner) -> None:
    """AUTHORING.md warns that YAML reads an unquoted 11:00 as a number."""
    tree.edit(tree.profile, 'time: "11:00"', "time: 11:00")
    line = line_of(tree.profile, "time: 11:00")
    [error] = check.fails()
    assert error.startswith(f"{tree.profile}:{line}: day.moments.0.time: ")


def test_missing_section(tree: Tree, check: CheckRunner) -> None:
    remove_block(tree.profile, "outlook:")
    check.fails_with(f"{tree.profile}:{first_key_line(tree.profile)}: outlook: Field required")


def test_missing_nested_field(tree: Tree, check: CheckRunner) -> None:
    remove_block(tree.profile, "  dated: June 2026")
    line = line_of(tree.profile, "sources:")
    check.fails_with(f"{tree.profile}:{line}: sources.dated: Field required")


def test_unknown_extra_field(tree: Tree, check: CheckRunner) -> None:
    tree.edit(tree.profile, "  split_note: >-\n", "  colour: red\n  split_note: >-\n")
    check.fails_with(
        f"{tree.profile}:{line_of(tree.profile, 'colour: red')}: work.colour: "
        "Extra inputs are not permitted"
    )


def test_yaml_syntax_error(tree: Tree, check: CheckRunner) -> None:
    tree.edit(tree.profile, "  heading: The work\n", "  heading: The work\n   bad: indent\n")
    check.fails_with(
        f"{tree.profile}:{line_of(tree.profile, 'bad: indent')}: "
        "YAML syntax: mapping values are not allowed here"
    )


def test_file_name_that_is_not_a_slug(tree: Tree, check: CheckRunner) -> None:
    bad = tree.careers / "Music_Producer.yaml"
    tree.profile.rename(bad)
    [error] = check.fails()
    assert error.startswith(f"{bad}:1: slug: ")
    assert "Music_Producer.yaml" in error  # says that the file name is what to fix


def test_slug_written_inside_the_file_is_refused(tree: Tree, check: CheckRunner) -> None:
    """AUTHORING.md: the file name is the slug; one written in the file must not win."""
    tree.edit(tree.profile, "title: Music Producer\n", "slug: other\ntitle: Music Producer\n")
    [error] = check.fails()
    assert error.startswith(f"{tree.profile}:{line_of(tree.profile, 'slug: other')}: slug: ")


def test_two_broken_files_are_both_reported(tree: Tree, check: CheckRunner) -> None:
    second = tree.careers / "sound-designer.yaml"
    shutil.copy(tree.profile, second)
    tree.edit(tree.profile, "      percent: 20\n", "      percent: 10\n")
    tree.edit(second, 'time: "3:00"', 'time: "25:00"')
    check.fails_with(
        f"{tree.profile}:{line_of(tree.profile, 'work:')}: work: "
        "the percents of split add up to 90, not 100",
        f"{second}:{line_of(second, '25:00')}: day.moments.2.time: "
        "'25:00' is not a time like 9:30 or 14:00",
    )


def test_all_mistakes_of_one_file_are_reported(tree: Tree, check: CheckRunner) -> None:
    tree.edit(tree.profile, 'time: "3:00"', 'time: "25:00"')
    tree.edit(tree.profile, "title: Music Producer\n", "title: Music Producer\nsalary: lots\n")
    errors = check.fails()
    assert sorted(errors) == sorted(
        [
            f"{tree.profile}:{line_of(tree.profile, '25:00')}: day.moments.2.time: "
            "'25:00' is not a time like 9:30 or 14:00",
            f"{tree.profile}:{line_of(tree.profile, 'salary: lots')}: salary: "
            "Extra inputs are not permitted",
        ]
    )


# Dialogs: a file of our own next to the real ones, so the cases don't depend on their wording


def write_dialog(tree: Tree, text: str) -> Path:
    file = tree.dialogs / "zz_test.yaml"
    file.write_text(text, "utf-8")
    return file


def extra_node(text: str = "Hello", button: str = "") -> str:
    node = f"nodes:\n  extra:\n    parent: menu\n    text: {text}\n"
    return node + (f"    buttons:\n{button}" if button else "")


def test_a_dialog_file_of_our_own_passes(tree: Tree, check: CheckRunner) -> None:
    write_dialog(tree, extra_node(button="      - label: Go\n        goto: menu\n"))
    assert check().code == 0


def test_goto_unknown_node(tree: Tree, check: CheckRunner) -> None:
    file = write_dialog(tree, extra_node(button="      - label: Go\n        goto: nowhere\n"))
    [error] = check.fails()
    assert error.startswith(
        f"{file}:{line_of(file, 'goto: nowhere')}: nodes.extra.buttons.0.goto: "
    )
    assert "unknown node" in error


def test_unknown_parent(tree: Tree, check: CheckRunner) -> None:
    file = write_dialog(tree, extra_node().replace("parent: menu", "parent: nowhere"))
    check.fails_with(
        f"{file}:{line_of(file, 'parent: nowhere')}: nodes.extra.parent: unknown node 'nowhere'"
    )


def test_undefined_template_variable(tree: Tree, check: CheckRunner) -> None:
    file = write_dialog(tree, extra_node('"Hi {{ profil.title }}"'))
    check.fails_with(
        f"{file}:{line_of(file, 'text:')}: nodes.extra.text: undefined template variable: profil"
    )


def test_template_syntax_error(tree: Tree, check: CheckRunner) -> None:
    file = write_dialog(tree, extra_node('"Hi {{ profile.title }"'))
    check.fails_with(
        f"{file}:{line_of(file, 'text:')}: nodes.extra.text: template syntax: unexpected '}}'"
    )


def test_template_error_in_a_message(tree: Tree, check: CheckRunner) -> None:
    file = write_dialog(tree, 'messages:\n  extra_message: "{% if %}"\n')
    [error] = check.fails()
    assert error.startswith(f"{file}:2: messages.extra_message: template syntax: ")


def test_unknown_action(tree: Tree, check: CheckRunner) -> None:
    file = write_dialog(tree, extra_node(button="      - label: Go\n        action: teleport\n"))
    [error] = check.fails()
    prefix = f"{file}:{line_of(file, 'action: teleport')}: nodes.extra.buttons.0.action: "
    assert error.startswith(prefix + "unknown action 'teleport' (known: ")
    assert "career" in error.removeprefix(prefix)


def test_callback_data_over_64_bytes_names_the_node(tree: Tree, check: CheckRunner) -> None:
    file = write_dialog(
        tree,
        extra_node(button=f"      - label: Go\n        action: career\n        arg: {LONG_ARG}\n"),
    )
    [error] = check.fails()
    assert error.startswith(f"{file}:")
    assert ": nodes.extra" in error
    assert "too long" in error


def test_callback_data_over_64_bytes_points_at_the_button(tree: Tree, check: CheckRunner) -> None:
    file = write_dialog(
        tree,
        extra_node(button=f"      - label: Go\n        action: career\n        arg: {LONG_ARG}\n"),
    )
    [error] = check.fails()
    where, field, _ = error.split(": ", 2)
    assert where in {f"{file}:{line_of(file, 'label: Go')}", f"{file}:{line_of(file, LONG_ARG)}"}
    assert field.startswith("nodes.extra.buttons.0")


def test_unknown_field_of_a_button(tree: Tree, check: CheckRunner) -> None:
    file = write_dialog(
        tree, extra_node(button="      - label: Go\n        goto: menu\n        colour: red\n")
    )
    check.fails_with(
        f"{file}:{line_of(file, 'colour: red')}: nodes.extra.buttons.0.colour: "
        "Extra inputs are not permitted"
    )


def test_missing_required_node(tree: Tree, check: CheckRunner) -> None:
    remove_block(node_file(tree.dialogs, "consent"), "  consent:")
    [error] = check.fails()
    assert re.fullmatch(
        rf"{re.escape(str(tree.dialogs))}/[\w-]+\.yaml:1: nodes\.consent: "
        r"missing: the bot needs nodes 'consent'",
        error,
    )


def test_duplicate_node_in_two_files(tree: Tree, check: CheckRunner) -> None:
    first = node_file(tree.dialogs, "help")
    file = write_dialog(tree, "nodes:\n  help:\n    text: Again\n")
    check.fails_with(f"{file}:2: nodes.help: already defined in {first}")


# Splitting long texts into Telegram messages


def assert_split_keeps(text: str, parts: list[str], limit: int) -> None:
    assert all(0 < len(part) <= limit for part in parts), [len(part) for part in parts]
    assert "".join("".join(parts).split()) == "".join(text.split())


def test_split_short_text_is_one_part() -> None:
    assert split_message("  Hello <b>there</b>\n") == ["Hello <b>there</b>"]
    assert split_message(" \n ") == []


def test_split_exactly_at_the_limit_is_one_part() -> None:
    text = "a" * MESSAGE_LIMIT
    assert split_message(text) == [text]
    assert split_message(text + "a") == [text, "a"]


def test_split_at_paragraphs() -> None:
    first, second, third = "a" * 3000, "b" * 3000, "c" * 500
    text = f"{first}\n\n{second}\n\n{third}"
    assert split_message(text) == [first, f"{second}\n\n{third}"]


def test_split_small_paragraphs_are_packed_together() -> None:
    text = "\n\n".join(f"paragraph {n}" for n in range(1000))
    parts = split_message(text)
    assert_split_keeps(text, parts, MESSAGE_LIMIT)
    assert all(re.fullmatch(r"paragraph \d+(\n\nparagraph \d+)*", part) for part in parts)
    for part, following in itertools.pairwise(parts):  # each part is as full as can be
        assert len(part) + 2 + len(following.split("\n\n")[0]) > MESSAGE_LIMIT


def test_split_a_single_long_line_at_words() -> None:
    text = " ".join(f"word{n}" for n in range(2000))
    parts = split_message(text)
    assert len(parts) > 1
    assert_split_keeps(text, parts, MESSAGE_LIMIT)
    assert all(re.fullmatch(r"word\d+( word\d+)*", part) for part in parts)


def test_split_a_long_paragraph_at_lines() -> None:
    text = "\n".join(f"line {n}" for n in range(1200))
    parts = split_message(text)
    assert_split_keeps(text, parts, MESSAGE_LIMIT)
    assert all(re.fullmatch(r"line \d+(\nline \d+)*", part) for part in parts)


def test_split_a_word_longer_than_the_limit() -> None:
    text = "start " + "x" * 25 + " end"
    parts = split_message(text, limit=10)
    assert parts == ["start", "x" * 10, "x" * 10, "xxxxx end"]
    assert_split_keeps(text, parts, 10)


@pytest.mark.parametrize("limit", [1, 2, 7, 50])
def test_split_keeps_every_character_for_any_limit(limit: int) -> None:
    text = "Hi Sam!\n\nThe work · 30% mixing\nand editing.\n\n\n" + "longword" * 9 + " end."
    parts = split_message(text, limit=limit)
    assert_split_keeps(text, parts, limit)


def test_split_never_leaves_a_tag_open() -> None:
    text = "<b>" + "bold " * 30 + "</b>"
    for part in split_message(text, limit=40):
        assert part.count("<b>") == part.count("</b>"), part


# Line mapping of YAML sources


def test_read_yaml_maps_every_key_and_item_to_its_line(tmp_path: Path) -> None:
    file = tmp_path / "doc.yaml"
    file.write_text(
        "# comment\n"  # 1
        "title: X\n"  # 2
        "work:\n"  # 3
        "  split:\n"  # 4
        "    - label: A\n"  # 5
        "      percent: 40\n"  # 6
        "    -\n"  # 7
        "      label: B\n"  # 8
        "  text: >-\n"  # 9
        "    long\n"  # 10
        "    text\n"  # 11
        "list: [a, b]\n",  # 12
        "utf-8",
    )
    document = read_yaml(file)
    assert document.data["work"]["split"][1] == {"label": "B"}
    expected = {
        (): 2,
        ("title",): 2,
        ("work",): 3,
        ("work", "split"): 4,
        ("work", "split", 0): 5,
        ("work", "split", 0, "label"): 5,
        ("work", "split", 0, "percent"): 6,
        ("work", "split", 1): 8,
        ("work", "split", 1, "label"): 8,
        ("work", "text"): 9,
        ("list",): 12,
        ("list", 1): 12,
    }
    assert {location: document.lines[location] for location in expected} == expected


def test_line_of_falls_back_to_the_deepest_existing_part(tmp_path: Path) -> None:
    file = tmp_path / "doc.yaml"
    file.write_text("\n\nwork:\n  split:\n    - label: A\n", "utf-8")
    document = read_yaml(file)
    assert document.line_of(("work", "split", 0, "percent")) == 5
    assert document.line_of(("work", "split", 3)) == 4
    assert document.line_of(("outlook", "text")) == 3  # the top-level mapping
    assert document.error(("work", "split", 0, "percent"), "Field required") == SourceError(
        file, 5, "work.split.0.percent", "Field required"
    )


def test_validation_errors_name_line_and_dotted_field(tmp_path: Path) -> None:
    class Share(BaseModel):
        percent: int

    class Doc(BaseModel):
        split: list[Share]

    file = tmp_path / "doc.yaml"
    file.write_text("split:\n  - percent: 1\n  - percent: lots\n", "utf-8")
    document = read_yaml(file)
    with pytest.raises(ValidationError) as caught:
        Doc.model_validate(document.data)
    [error] = document.validation_errors(caught.value)
    assert str(error).startswith(f"{file}:3: split.1.percent: Input should be a valid integer")


def test_read_yaml_syntax_error_names_its_line(tmp_path: Path) -> None:
    file = tmp_path / "doc.yaml"
    file.write_text("title: X\nsummary: [open\nother: 1\n", "utf-8")
    with pytest.raises(SourceErrors) as caught:
        read_yaml(file)
    [error] = caught.value.errors
    assert (error.file, error.field) == (file, "")
    assert error.line == 3  # where PyYAML notices the list was never closed
    assert error.message.startswith("YAML syntax: ")


def test_read_yaml_of_an_empty_and_an_unreadable_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing yet\n", "utf-8")
    document = read_yaml(empty)
    assert (document.data, document.lines, document.line_of(("title",))) == (None, {}, 1)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"title: \xff\xfe\n")
    with pytest.raises(SourceErrors) as caught:
        read_yaml(binary)
    assert str(caught.value).startswith(f"{binary}:1: cannot read the file: ")


# Node roles


def test_a_button_for_students_to_a_staff_node_is_refused(tree: Tree, check: CheckRunner) -> None:
    file = write_dialog(
        tree, extra_node(button="      - label: Go\n        goto: cohort_name_prompt\n")
    )
    check.fails_with(
        f"{file}:{line_of(file, 'goto: cohort_name_prompt')}: nodes.extra.buttons.0.goto: "
        "leads to 'cohort_name_prompt', which student may not see (see its roles)"
    )


def test_a_staff_node_may_link_to_a_staff_node(tree: Tree, check: CheckRunner) -> None:
    node = extra_node(button="      - label: Go\n        goto: cohort_name_prompt\n")
    write_dialog(tree, node.replace("    parent: menu\n", "    parent: menu\n    roles: [lead]\n"))
    assert check().code == 0


def test_an_announcement_button_to_a_staff_or_unknown_node_is_refused(
    tree: Tree, check: CheckRunner
) -> None:
    announcements = node_file(tree.dialogs, "announcement")
    staff_and_unknown = '  node_cohort: "Cohort"\n  node_nowhere: "X"\n  node_menu: "'
    tree.edit(announcements, '  node_menu: "', staff_and_unknown)
    errors = check.fails()
    assert any(
        error.startswith(
            f"{announcements}:{line_of(announcements, 'node_cohort:')}: labels.node_cohort: "
        )
        and error.endswith("a node students may not see (see its roles)")
        for error in errors
    ), errors
    assert any(
        error.startswith(
            f"{announcements}:{line_of(announcements, 'node_nowhere:')}: labels.node_nowhere: "
        )
        for error in errors
    ), errors


def test_unknown_role_and_roles_on_the_home_node(tree: Tree, check: CheckRunner) -> None:
    file = write_dialog(tree, extra_node().replace("    text:", "    roles: [teacher]\n    text:"))
    [error] = check.fails()
    assert error.startswith(f"{file}:{line_of(file, 'teacher')}: nodes.extra.roles.0: ")
    assert "'student', 'lead' or 'admin'" in error
    file.unlink()
    tour = node_file(tree.dialogs, "menu")
    tree.edit(tour, "  menu:\n", "  menu:\n    roles: [admin]\n")
    home = "nodes.menu.roles: the home screen is where everyone lands: it cannot have roles"
    assert any(error.endswith(home) for error in check.fails())


# Cards, related careers and dates


@pytest.fixture
def card(tree: Tree) -> Path:
    return tree.content / "cards" / "music-producer.txt"


def test_a_profile_edited_away_from_its_card_names_the_section(
    tree: Tree, card: Path, check: CheckRunner
) -> None:
    tree.edit(tree.profile, "  heading: The work\n", "  heading: The job\n")
    tree.edit(tree.profile, "    - AVIXA\n", "    - AVIXA (2026)\n")
    check.fails_with(
        f"{tree.profile}:{line_of(tree.profile, 'work:')}: work: differs from {card} — "
        "run careerbot content import",
        f"{tree.profile}:{line_of(tree.profile, 'sources:')}: sources: differs from {card} — "
        "run careerbot content import",
    )


def test_hand_kept_fields_may_differ_from_the_card(tree: Tree, check: CheckRunner) -> None:
    tree.edit(tree.profile, "      title: Generate it\n", "      title: Generate a draft\n")
    tree.edit(tree.profile, '      median: "~$66K"\n', "")
    tree.edit(tree.profile, "    udio: 5\n", "    udio: 4\n")
    assert check().code == 0


def test_a_card_that_does_not_parse_is_reported(tree: Tree, card: Path, check: CheckRunner) -> None:
    tree.edit(card, "acquisition20%", "acquisition10%")
    line = line_of(card, "- Recording & tracking25%")
    check.fails_with(f"{card}:{line}: work: the split adds up to 90%, not 100%")


def test_a_card_without_its_profile(tree: Tree, card: Path, check: CheckRunner) -> None:
    other = card.with_name("000_abc.txt")
    other.write_text(card.read_text("utf-8").replace("Music Producer\n", "Sound Designer\n", 1))
    check.fails_with(
        f"{other}:1: title: no profile {tree.careers / 'sound-designer.yaml'} for this card — "
        "run careerbot content import"
    )


def test_a_related_slug_must_name_a_profile(tree: Tree, check: CheckRunner) -> None:
    tree.edit(tree.profile, "  - title: Filmmaker\n", "  - title: Filmmaker\n    slug: filmmaker\n")
    check.fails_with(
        f"{tree.profile}:{line_of(tree.profile, 'slug: filmmaker')}: related.1.slug: "
        "no profile filmmaker.yaml: leave the slug out until the career is in the catalog"
    )
    second = tree.careers / "filmmaker.yaml"
    second.write_text(tree.profile.read_text("utf-8").replace("Music Producer", "Filmmaker"))
    assert check().code == 0


def test_figures_need_their_dates(tree: Tree, card: Path, check: CheckRunner) -> None:
    card.unlink()  # the profile alone, as an author edits it
    tree.edit(tree.profile, "+11–17%, May 2024)\n", "+11–17%)\n")
    tree.edit(tree.profile, "    - AVIXA\n", "    - AVIXA (15-2031 analysts, $80K)\n")
    tree.edit(tree.profile, "+11–17% growth, May 2024)", "+11–17% growth)")
    check.fails_with(
        f"{tree.profile}:{line_of(tree.profile, 'No clean BLS code') - 1}: numbers.note: "
        "the source line states no date (a year like 2024, or Month YYYY)",
        f"{tree.profile}:{line_of(tree.profile, '(27-4014, +11–17%)')}: sources.items.0: "
        "states a figure without its date (Month YYYY, a year, or 2024–34)",
        f"{tree.profile}:{line_of(tree.profile, 'AVIXA (15-2031')}: sources.items.2: "
        "states a figure without its date (Month YYYY, a year, or 2024–34)",
    )


def test_a_projection_range_dates_a_figure(tree: Tree, card: Path, check: CheckRunner) -> None:
    card.unlink()
    tree.edit(tree.profile, "+11–17%, May 2024)\n", "+11–17%, 2024–34)\n")
    assert check().code == 0


def test_sources_dated_must_be_a_date(tree: Tree, card: Path, check: CheckRunner) -> None:
    card.unlink()
    tree.edit(tree.profile, "  dated: June 2026\n", "  dated: recently\n")
    check.fails_with(
        f"{tree.profile}:{line_of(tree.profile, 'dated: recently')}: sources.dated: "
        "'recently' is no date (like June 2026)"
    )


def months_since(year: int, month: int) -> int:
    today = date.today()
    return (today.year - year) * 12 + today.month - month


def test_stale_lists_old_facts_without_failing(
    tree: Tree, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    age = months_since(2024, 5)
    assert main(["content", "check", "--stale", str(age - 1)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [
        f"{tree.profile}: sources.items[0]: May 2024 is {age} months old",
        f"{tree.profile}: numbers.note: May 2024 is {age} months old",
    ]
    assert out[2].startswith("content OK: ")
    assert main(["content", "check", "--stale", str(age)]) == 0
    assert capsys.readouterr().out.startswith("content OK: ")


def test_stale_defaults_to_18_months(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["content", "check", "--stale"]) == 0
    listed = capsys.readouterr().out.count("months old")
    assert listed == (2 if months_since(2024, 5) > 18 else 0)


def test_stale_facts_and_errors_fail(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    tree.edit(tree.profile, "  heading: The work\n", "  heading: The job\n")
    capsys.readouterr()
    assert main(["content", "check", "--stale", "0"]) == 1
    captured = capsys.readouterr()
    assert "months old" in captured.out and "work: differs from" in captured.err


def test_dates_and_their_age() -> None:
    today = date(2026, 11, 30)
    assert newest_past("BLS (27-4014, +11–17%, May 2024)", today) == Dated(2024, 5, "May 2024")
    # The end of a projection period is not when the figure was stated.
    assert newest_past("projections 2024–34", today) == Dated(2024, 12, "2024–34")
    assert newest_past("surveys (2025–26)", today) == Dated(2026, 12, "2025–26")
    assert newest_past("SOC 15-2031, $2031", today) is None
    assert months_old(Dated(2024, 5, "May 2024"), today) == 30
    assert months_old(Dated(2026, 12, "2026"), today) == 0


# The interest quiz (content/quiz.yaml) and careers' interests


def test_a_quiz_statement_weighing_on_an_unknown_area(tree: Tree, check: CheckRunner) -> None:
    quiz = tree.content / "quiz.yaml"
    tree.edit(quiz, "    areas: {hands-on: 1}\n", "    areas: {sporty: 1}\n")
    [error] = check.fails()
    assert error.startswith(f"{quiz}:{line_of(quiz, 'sporty')}: items.0.areas.sporty")


def test_two_quiz_statements_with_one_id(tree: Tree, check: CheckRunner) -> None:
    quiz = tree.content / "quiz.yaml"
    tree.edit(quiz, "  - id: kit\n", "  - id: bike\n")
    [error] = check.fails()
    assert error.startswith(f"{quiz}:") and "each id once; twice: bike" in error


def test_a_quiz_scale_of_four_points(tree: Tree, check: CheckRunner) -> None:
    quiz = tree.content / "quiz.yaml"
    tree.edit(quiz, '  - {emoji: "😐", meaning: Not sure}\n', "")
    [error] = check.fails()
    assert error.startswith(f"{quiz}:{line_of(quiz, 'scale:')}: scale: ")


def test_a_missing_quiz_file(tree: Tree, check: CheckRunner) -> None:
    quiz = tree.content / "quiz.yaml"
    quiz.unlink()
    [error] = check.fails()
    assert error.startswith(f"{quiz}:")


def test_interests_must_lead_with_the_careers_area(tree: Tree, check: CheckRunner) -> None:
    tree.edit(tree.profile, "interests: [artistic, hands-on, ", "interests: [social, hands-on, ")
    [error] = check.fails()
    assert error.startswith(f"{tree.profile}:")
    assert "the first must be the career's area, artistic" in error


def test_an_interest_named_twice(tree: Tree, check: CheckRunner) -> None:
    tree.edit(
        tree.profile,
        "interests: [artistic, hands-on, organising]",
        "interests: [artistic, artistic]",
    )
    [error] = check.fails()
    assert "interests: each area once" in error


# The reasons students tap: content/reasons.yaml


def test_reasons_named_twice_bad_ids_and_long_labels(tree: Tree, check: CheckRunner) -> None:
    reasons = tree.content / "reasons.yaml"
    reasons.write_text(
        "reasons:\n"
        "  - id: loved_it\n"
        '    label: "😍 Loved it"\n'
        "  - id: Loved-It\n"
        '    label: "Shouty"\n'
        "  - id: loved_it\n"
        f'    label: "{"x" * 41}"\n'
        "  - id: the_money\n"
        "    colour: green\n",
        "utf-8",
    )
    check.fails_with(
        f"{reasons}:4: reasons.1.id: String should match pattern '^[a-z][a-z0-9_]{{0,31}}$'",
        f"{reasons}:7: reasons.2.label: String should have at most 40 characters",
        f"{reasons}:8: reasons.3.label: Field required",
        f"{reasons}:9: reasons.3.colour: Extra inputs are not permitted",
    )
    reasons.write_text(
        "reasons:\n  - {id: loved_it, label: Loved it}\n  - {id: loved_it, label: Again}\n",
        "utf-8",
    )
    check.fails_with(f"{reasons}:3: reasons.1.id: 'loved_it' is already the id of reason 1")


def test_no_reasons_file_or_an_empty_list(tree: Tree, check: CheckRunner) -> None:
    reasons = tree.content / "reasons.yaml"
    reasons.write_text("reasons: []\n", "utf-8")
    check.fails_with(
        f"{reasons}:1: reasons: List should have at least 1 item after validation, not 0"
    )
    reasons.unlink()
    [error] = check.fails()
    assert error.startswith(f"{reasons}:1: cannot read the file: ")


def test_a_step_text_repeating_its_title_is_refused(
    tree: Tree, card: Path, check: CheckRunner
) -> None:
    card.unlink()
    tree.edit(
        tree.profile,
        "      text: Get a rough first version to react to. It doesn’t have to be good yet.\n",
        "      text: Generate it, then listen.\n",
    )
    check.fails_with(
        f"{tree.profile}:{line_of(tree.profile, 'text: Generate it, then listen.')}: "
        "project.steps.1.text: repeats the step's title: say what the step gives or how, "
        "not its name"
    )


def test_a_glossary_term_the_card_never_uses_is_refused(
    tree: Tree, card: Path, check: CheckRunner
) -> None:
    card.unlink()
    tree.edit(tree.profile, "  - term: AVIXA\n", "  - term: mastering\n")
    check.fails_with(
        f"{tree.profile}:{line_of(tree.profile, 'term: mastering')}: glossary.7.term: "
        "'mastering' appears nowhere on the card, so no screen would explain it"
    )
