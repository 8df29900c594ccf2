"""`careerbot content import`: career cards become profiles, and re-importing keeps the authors'
own fields.

The seed card (`content/cards/music-producer.txt`, a verbatim copy of the program's export) must
reproduce today's `content/careers/music-producer.yaml` exactly; broken copies of it must be
refused with `file:line: section: message` and nothing written.
"""

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import Settings
from bot.content.cards import parse_card, read_card, slugify, split_sources
from bot.content.catalog import load_profile
from bot.content.importer import profile_card_fields
from bot.content.yaml_source import SourceErrors

REAL = Settings(_env_file=None).content_dir
SEED = REAL / "cards" / "music-producer.txt"
TODAY = REAL / "careers" / "music-producer.yaml"
PROFILE = Path("content/careers/music-producer.yaml")  # as printed, relative to the cwd


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def errors(self) -> list[str]:
        lines = self.err.splitlines()
        assert re.fullmatch(r"careerbot: \d+ error\(s\) in the cards, nothing written:", lines[0])
        return lines[1:]


@dataclass
class Workspace:
    root: Path
    capsys: pytest.CaptureFixture[str]

    @property
    def content(self) -> Path:
        return self.root / "content"

    @property
    def careers(self) -> Path:
        return self.content / "careers"

    def card(self, name: str, text: str | None = None) -> Path:
        file = self.root / "incoming" / name
        file.parent.mkdir(exist_ok=True)
        file.write_text(SEED.read_text("utf-8") if text is None else text, "utf-8")
        return file

    def run(self, *args: str | Path) -> Run:
        self.capsys.readouterr()
        code = main(["content", "import", *map(str, args)])
        captured = self.capsys.readouterr()
        return Run(code, captured.out, captured.err)

    def snapshot(self) -> dict[str, bytes]:
        return {
            str(path.relative_to(self.content)): path.read_bytes()
            for path in sorted(self.content.rglob("*"))
            if path.is_file()
        }


@pytest.fixture
def ws(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Workspace:
    """A content dir holding today's profile (no cards yet), which `careerbot` is pointed at."""
    workspace = Workspace(tmp_path, capsys)
    workspace.careers.mkdir(parents=True)
    shutil.copy(TODAY, workspace.careers)
    shutil.copy(REAL / "questions.yaml", workspace.content)
    monkeypatch.setenv("CONTENT_DIR", str(workspace.content))
    monkeypatch.chdir(tmp_path)
    return workspace


def test_the_shipped_card_is_the_program_seed_verbatim(seed_text: str) -> None:
    assert SEED.read_text("utf-8") == seed_text


def test_reimporting_the_seed_reproduces_todays_profile(ws: Workspace) -> None:
    before = load_profile(TODAY)
    run = ws.run(ws.card("000_seed.txt"))
    assert run.code == 0, run.err
    assert run.out.splitlines() == [
        f"{PROFILE}: unchanged",
        "content/cards/music-producer.txt: created",
    ]
    target = ws.careers / "music-producer.yaml"
    assert target.read_bytes() == TODAY.read_bytes()
    assert load_profile(target) == before
    assert (ws.content / "cards" / "music-producer.txt").read_bytes() == SEED.read_bytes()


def test_importing_twice_is_idempotent(ws: Workspace) -> None:
    card = ws.card("000_seed.txt")
    (ws.careers / "music-producer.yaml").unlink()
    assert ws.run(card).out.splitlines()[0] == f"{PROFILE}: created"
    first = ws.snapshot()
    again = ws.run(card)
    assert again.code == 0
    assert again.out.splitlines() == [
        f"{PROFILE}: unchanged",
        "content/cards/music-producer.txt: unchanged",
    ]
    assert ws.snapshot() == first


def test_a_new_card_makes_a_valid_profile_with_todays_card_fields(ws: Workspace) -> None:
    (ws.careers / "music-producer.yaml").unlink()
    run = ws.run(ws.card("000_seed.txt"))
    assert run.code == 0, run.err
    created = load_profile(ws.careers / "music-producer.yaml")
    today = load_profile(TODAY)
    assert profile_card_fields(created) == profile_card_fields(today)
    # Placeholders the author refines: one step, one pay path, no area or question words.
    [step] = created.project.steps
    assert (step.id, step.title, step.text) == ("start", today.project.title, today.project.text)
    [path] = created.numbers.pay_paths
    assert (path.name, path.text) == ("Music Producer", today.numbers.text)
    assert (created.area, created.aliases, created.keywords) == (None, [], {})
    text = (ws.careers / "music-producer.yaml").read_text("utf-8")
    assert text.startswith("# Career profile: Music Producer.\n")
    assert '    - time: "11:00"\n' in text and "summary: >-\n  If you hear" in text


def test_reimport_updates_the_card_fields_and_keeps_the_authors(ws: Workspace) -> None:
    """A changed card replaces every text it owns; area, aliases, keywords, steps, pay paths
    and the related careers' slugs are the authors' and stay."""
    (ws.careers / "sound-designer.yaml").write_text(
        TODAY.read_text("utf-8").replace("title: Music Producer", "title: Sound Designer"), "utf-8"
    )
    target = ws.careers / "music-producer.yaml"
    target.write_text(
        target.read_text("utf-8").replace(
            "  - title: Filmmaker\n", "  - title: Filmmaker\n    slug: sound-designer\n"
        ),
        "utf-8",
    )
    before = load_profile(target)
    seed = SEED.read_text("utf-8")
    changed = seed.replace("Mixing & editing30%", "Mixing & editing35%").replace(
        "Business & acquisition20%", "Business & acquisition15%"
    )
    changed = changed.replace("Pick a project and see how it feels.", "Pick a project.")
    run = ws.run(ws.card("001_changed.txt", changed))
    assert run.code == 0, run.err
    assert run.out.splitlines()[0] == f"{PROFILE}: updated"
    after = load_profile(target)
    assert [s.percent for s in after.work.split] == [25, 35, 15, 10, 15]
    assert after.closing == "The only way to know is to try it.\nPick a project."
    kept = ("area", "aliases", "keywords")
    assert {k: getattr(after, k) for k in kept} == {k: getattr(before, k) for k in kept}
    assert after.project.steps == before.project.steps
    assert after.numbers.pay_paths == before.numbers.pay_paths
    # The author's slug stays; a title with a profile of that slug gets linked.
    assert [(c.title, c.slug) for c in after.related] == [
        ("Content Creator", None),
        ("Filmmaker", "sound-designer"),
        ("Sound Designer", "sound-designer"),
    ]


def test_related_careers_imported_together_link_to_each_other(ws: Workspace) -> None:
    seed = SEED.read_text("utf-8")
    other = seed.replace("Music Producer\n", "Sound Designer\n", 1).replace(
        "Related:Content Creator·Filmmaker·Sound Designer", "Related:Music Producer·Filmmaker"
    )
    ws.card("000_a.txt")
    ws.card("000_b.txt", other)
    run = ws.run(ws.root / "incoming")
    assert run.code == 0, run.err
    assert sorted(run.out.splitlines()) == sorted(
        [
            f"{PROFILE}: updated",
            "content/cards/music-producer.txt: created",
            "content/careers/sound-designer.yaml: created",
            "content/cards/sound-designer.txt: created",
        ]
    )
    mine = load_profile(ws.careers / "music-producer.yaml")
    theirs = load_profile(ws.careers / "sound-designer.yaml")
    assert [(c.title, c.slug) for c in mine.related][-1] == ("Sound Designer", "sound-designer")
    assert [(c.title, c.slug) for c in theirs.related] == [
        ("Music Producer", "music-producer"),
        ("Filmmaker", None),
    ]


def test_dry_run_writes_nothing(ws: Workspace) -> None:
    (ws.careers / "music-producer.yaml").unlink()
    before = ws.snapshot()
    run = ws.run(ws.card("000_seed.txt"), "--dry-run")
    assert run.code == 0
    assert run.out.splitlines() == [
        f"{PROFILE}: created",
        "content/cards/music-producer.txt: created",
        "dry run: nothing written",
    ]
    assert ws.snapshot() == before


def lines_of(text: str) -> list[str]:
    return text.split("\n")


def number_of(text: str, line: str, occurrence: int = 0) -> int:
    """The 1-based number of the `occurrence`-th line equal to `line`."""
    return [i for i, found in enumerate(lines_of(text), 1) if found == line][occurrence]


def move(lines: list[str], start: str, count: int, before: str) -> list[str]:
    i = lines.index(start)
    block, rest = lines[i : i + count], lines[:i] + lines[i + count :]
    j = rest.index(before)
    return rest[:j] + block + rest[j:]


def broken_cards() -> list[tuple[str, str, list[tuple[str, int, str, str]]]]:
    """(name, card text, [(line text, occurrence, section, message)]) for each way a card
    breaks; the line number is looked up in the broken text itself."""
    seed = SEED.read_text("utf-8")
    lines = lines_of(seed)
    outlook = "Where it’s going"
    truncated = "\n".join(lines[: lines.index(outlook) + 2])
    reordered = "\n".join(move(lines, "Right now", 2, outlook))
    i = lines.index("Right now")
    duplicated = "\n".join(lines[: i + 2] + lines[i : i + 2] + lines[i + 2 :])
    empty = "\n".join(lines[: lines.index(outlook) + 1] + lines[lines.index(outlook) + 2 :])
    last = lines_of(truncated)[-1]
    return [
        (
            "truncated",
            truncated,
            [
                (
                    last,
                    0,
                    "right_now",
                    "section missing: no heading line 'Right now' after "
                    "outlook (is the card cut short?)",
                ),
                (
                    last,
                    0,
                    "sources",
                    "section missing: no heading line 'Sources: …' after "
                    "outlook (is the card cut short?)",
                ),
            ],
        ),
        (
            "reordered",
            reordered,
            [
                (
                    "Right now",
                    0,
                    "right_now",
                    "section out of order: right_now must come after outlook (line {outlook})",
                )
            ],
        ),
        (
            "duplicated",
            duplicated,
            [
                (
                    "Right now",
                    1,
                    "right_now",
                    "duplicated section: 'Right now' again (first at line {first})",
                )
            ],
        ),
        ("empty", empty, [(outlook, 0, "outlook", "empty section: nothing under its heading")]),
        (
            "split",
            seed.replace("acquisition20%", "acquisition10%"),
            [("- Recording & tracking25%", 0, "work", "the split adds up to 90%, not 100%")],
        ),
        (
            "split-line",
            seed.replace("acquisition20%", "acquisition 20 percent"),
            [
                (
                    "- Business & acquisition 20 percent",
                    0,
                    "work",
                    "malformed split line "
                    "'- Business & acquisition 20 percent': expected '- <label><percent>%'",
                )
            ],
        ),
        (
            "moment-line",
            seed.replace("- 3:00Mix", "- 3pm Mix"),
            [
                (
                    "- 3pm Mix & tweak",
                    0,
                    "day",
                    "malformed moment line '- 3pm Mix & tweak': expected '- <time><title>'",
                )
            ],
        ),
        (
            "undated",
            seed.replace(" Dated June 2026.", ""),
            [
                (
                    next(line for line in lines if line.startswith("Sources:")).replace(
                        " Dated June 2026.", ""
                    ),
                    0,
                    "sources",
                    "no 'Dated <Month YYYY>.' at the end of the line",
                )
            ],
        ),
    ]


BROKEN = broken_cards()


@pytest.mark.parametrize(("name", "text", "expected"), BROKEN, ids=[case[0] for case in BROKEN])
def test_a_broken_card_is_refused_with_file_line_and_section(
    ws: Workspace, name: str, text: str, expected: list[tuple[str, int, str, str]]
) -> None:
    good = ws.card("000_good.txt")
    bad = ws.card(f"000_{name}.txt", text)
    before = ws.snapshot()
    run = ws.run(good, bad)
    assert run.code == 1 and run.out == "" and "Traceback" not in run.err
    places = {
        "outlook": number_of(text, "Where it’s going"),
        "first": number_of(text, "Right now") if "\nRight now\n" in text else None,
    }
    assert run.errors == [
        f"{bad}:{number_of(text, line, occurrence)}: {section}: {message.format(**places)}"
        for line, occurrence, section, message in expected
    ]
    assert ws.snapshot() == before, "a refused import wrote nothing, not even the good card"


def test_every_error_of_every_card_is_reported(ws: Workspace) -> None:
    _, split, [split_error] = BROKEN[4]
    _, _, [moment_error] = BROKEN[6]
    both = ws.card("000_both.txt", split.replace("- 3:00Mix", "- 3pm Mix"))
    run = ws.run(both)
    assert run.code == 1
    text = both.read_text("utf-8")
    assert [error.split(": ", 1)[0] for error in run.errors] == [
        f"{both}:{number_of(text, split_error[0])}",
        f"{both}:{number_of(text, moment_error[0])}",
    ]


def test_a_missing_path_and_an_empty_folder_are_refused(ws: Workspace) -> None:
    (ws.root / "empty").mkdir()
    run = ws.run(ws.root / "nothing.txt", ws.root / "empty")
    assert run.code == 1
    assert run.errors == [
        f"{ws.root / 'nothing.txt'}:1: no such file or folder",
        f"{ws.root / 'empty'}:1: no card (*.txt) in this folder",
    ]


def test_the_parser_reads_the_seed_section_by_section() -> None:
    card = read_card(SEED)
    assert card.title == "Music Producer" and card.slug == "music-producer"
    assert card.related == ("Content Creator", "Filmmaker", "Sound Designer")
    assert card.suits.startswith("Worth a look if ") and card.suits.endswith("artist’s sound.")
    assert card.not_suited.startswith("Maybe not if ")
    assert [(s.label, s.percent) for s in card.work.split][1] == ("Mixing & editing", 30)
    assert [m.time for m in card.day.moments] == ["11:00", "12:30", "3:00", "5:00", "6:00"]
    assert len(card.checklist.fits) == 4 and len(card.checklist.misfits) == 3
    assert card.project.title == "AI Music Track + Cover Art"
    assert card.numbers.note.endswith("AVIXA sector data.")
    assert card.sources.items[0] == "BLS Sound Engineering Technicians (27-4014, +11–17%, May 2024)"
    assert card.sources.dated == "June 2026"
    assert card.closing.splitlines()[-1] == "Pick a project and see how it feels."


def test_sources_split_only_outside_parentheses() -> None:
    assert split_sources("A (x; y); B; C (z)") == ["A (x; y)", "B", "C (z)"]


def test_slugs_from_titles() -> None:
    assert slugify("Music Producer") == "music-producer"
    assert slugify("UX / UI Designer") == "ux-ui-designer"
    assert slugify("  Nurse (RN) ") == "nurse-rn"


def test_a_card_with_windows_line_ends_and_blank_lines_reads_the_same() -> None:
    seed = SEED.read_text("utf-8")
    loose = seed.replace("\n", "\r\n\r\n")
    assert parse_card(SEED, loose).work == read_card(SEED).work
    with pytest.raises(SourceErrors):
        parse_card(SEED, "")


def test_reimporting_keeps_sign_questions_glossary_and_source_links(ws: Workspace) -> None:
    before = load_profile(TODAY)
    target = ws.careers / "music-producer.yaml"
    linked = target.read_text("utf-8").replace(
        "    - producer surveys (2025–26)\n",
        "    - name: producer surveys (2025–26)\n      url: https://example.org/surveys\n",
    )
    target.write_text(linked, "utf-8")
    assert ws.run(ws.card("000_seed.txt")).code == 0
    after = load_profile(target)
    assert after.checklist == before.checklist
    assert all(sign.ask and sign.you for sign in after.checklist.fits)
    assert after.glossary == before.glossary and after.glossary
    assert after.project.steps == before.project.steps
    assert after.sources.items[1].url == "https://example.org/surveys"


def test_a_sign_the_card_rewords_comes_back_bare(ws: Workspace) -> None:
    """Its question forms were written for other words: they are dropped, not kept wrong."""
    first = load_profile(TODAY).checklist.fits[0]
    reworded = "they have a good ear and can hear what a track needs"
    card = ws.card("000_seed.txt", SEED.read_text("utf-8").replace(first.sign, reworded))
    assert ws.run(card).code == 0
    after = load_profile(ws.careers / "music-producer.yaml")
    assert after.checklist.fits[0].sign == reworded
    assert after.checklist.fits[0].ask is None and after.checklist.fits[0].you is None
    assert after.checklist.fits[1].ask, "the unchanged signs keep theirs"
