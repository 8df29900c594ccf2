"""Settings: parsed from the environment and `.env`; a bad one stops `careerbot` with one line
naming it, exit code 2 and no traceback."""

import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import DEFAULT_DATABASE_URL, PROJECT_DIR, Settings, load_settings
from tests.cli_support import clean_env, run_careerbot

SETTINGS = (
    "BOT_TOKEN",
    "TELEGRAM_API_URL",
    "DATABASE_URL",
    "REDIS_URL",
    "ADMIN_IDS",
    "CONTENT_DIR",
    "DIALOGS_DIR",
    "LOG_LEVEL",
    "REMINDER_AFTER_DAYS",
    "NUDGE_AFTER_DAYS",
    "PROGRAM_TIMEZONE",
    "DIGEST_HOUR",
)
SECRET = "not-a-token-s3cr3t"


@pytest.fixture(autouse=True)
def no_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from no settings at all, in a folder without `.env`."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_defaults() -> None:
    assert_defaults(load_settings())


def assert_defaults(settings: Settings) -> None:
    assert settings.bot_token is None
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.database_url == DEFAULT_DATABASE_URL
    default_file = PROJECT_DIR / "data" / "careerbot.db"
    assert settings.database_url == f"sqlite+aiosqlite:///{default_file}"
    assert settings.redis_url is None
    assert settings.admin_ids == frozenset()
    assert settings.content_dir == PROJECT_DIR / "content"
    assert settings.dialogs_dir == PROJECT_DIR / "dialogs"
    assert settings.log_level == "INFO"
    assert settings.reminder_after_days == 3
    assert settings.program_timezone == "UTC"
    assert settings.program_zone.key == "UTC"
    assert settings.digest_hour == 8


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123456:ABC-def_ghi")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://bot@db:5432/careerbot")
    monkeypatch.setenv("REDIS_URL", "redis://localhost:6379/0")
    monkeypatch.setenv("ADMIN_IDS", "1, 2 3")
    monkeypatch.setenv("CONTENT_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    settings = load_settings()
    assert settings.bot_token is not None
    assert settings.bot_token.get_secret_value() == "123456:ABC-def_ghi"
    assert "ABC-def_ghi" not in repr(settings)  # the token never shows in a repr or a log
    assert settings.telegram_api_url == "http://127.0.0.1:8081"  # a base URL, no trailing /
    assert settings.database_url == "postgresql+asyncpg://bot@db:5432/careerbot"
    assert settings.redis_url == "redis://localhost:6379/0"
    assert settings.admin_ids == frozenset({1, 2, 3})
    assert settings.content_dir == tmp_path / "c"
    assert settings.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1, 2 3", {1, 2, 3}), ("42", {42}), (" 7 ,, 8 ", {7, 8}), ("5,5", {5}), (" ", set())],
)
def test_admin_ids_separated_by_commas_or_spaces(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: set[int]
) -> None:
    monkeypatch.setenv("ADMIN_IDS", value)
    assert load_settings().admin_ids == frozenset(expected)


def test_empty_values_mean_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """As in .env.example, where every setting is present and most are left empty."""
    for name in SETTINGS:
        monkeypatch.setenv(name, "")
    assert_defaults(load_settings())


@pytest.mark.parametrize("name", ["REMINDER_AFTER_DAYS", "NUDGE_AFTER_DAYS"])
def test_reminder_days_are_read_under_either_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    """NUDGE_AFTER_DAYS, the setting's former name, keeps working, from the environment and
    from `.env`."""
    monkeypatch.setenv(name, "5")
    assert load_settings().reminder_after_days == 5
    monkeypatch.delenv(name)
    (tmp_path / ".env").write_text(f"{name}=6\n", "utf-8")
    assert load_settings().reminder_after_days == 6


def test_the_new_reminder_name_wins_over_the_old(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUDGE_AFTER_DAYS", "4")
    monkeypatch.setenv("REMINDER_AFTER_DAYS", "9")
    assert load_settings().reminder_after_days == 9


def test_reminder_days_are_set_by_field_name() -> None:
    assert Settings(_env_file=None, reminder_after_days=8).reminder_after_days == 8


def test_the_program_time_zone_and_digest_hour(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PROGRAM_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("DIGEST_HOUR", "0")
    settings = load_settings()
    assert settings.program_zone.key == "Europe/Berlin"
    assert settings.digest_hour == 0
    monkeypatch.delenv("PROGRAM_TIMEZONE")
    (tmp_path / ".env").write_text("PROGRAM_TIMEZONE=America/Sao_Paulo\n", "utf-8")
    assert load_settings().program_zone.key == "America/Sao_Paulo"


def test_dotenv_in_the_working_folder_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("# local\nADMIN_IDS=9, 10\nDATABASE_URL=\n", "utf-8")
    settings = load_settings()
    assert settings.admin_ids == frozenset({9, 10})
    assert settings.database_url == DEFAULT_DATABASE_URL


def test_environment_wins_over_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LOG_LEVEL=ERROR\n", "utf-8")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    assert load_settings().log_level == "WARNING"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "DATABASE_URL",
            "mysql://localhost/careerbot",
            "must start with sqlite+aiosqlite:// or postgresql+asyncpg://",
        ),
        ("DATABASE_URL", "sqlite:///data/x.db", None),
        ("BOT_TOKEN", SECRET, "must look like 123456:ABC-DEF… (from @BotFather)"),
        ("BOT_TOKEN", "987654:", None),
        ("BOT_TOKEN", "abc:DEF", None),
        ("ADMIN_IDS", "x", None),
        ("ADMIN_IDS", "1, two", None),
        ("LOG_LEVEL", "LOUD", "Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
        ("TELEGRAM_API_URL", "127.0.0.1:8081", "must be an http:// or https:// base URL"),
        (
            "PROGRAM_TIMEZONE",
            "Mars/Olympus",
            "must be a time zone name such as Europe/Berlin or UTC, not 'Mars/Olympus'",
        ),
        ("PROGRAM_TIMEZONE", "Europe/Berlin ", None),
        ("PROGRAM_TIMEZONE", "Europe", None),  # a folder of zones, not one
        ("PROGRAM_TIMEZONE", "../../etc/passwd", None),
        ("PROGRAM_TIMEZONE", "+02:00", None),
        ("DIGEST_HOUR", "24", None),
        ("DIGEST_HOUR", "-1", None),
        ("DIGEST_HOUR", "8am", None),
    ],
)
def test_a_bad_setting_stops_with_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    value: str,
    message: str | None,
) -> None:
    monkeypatch.setenv(name, value)
    code, out, err = run_main(capsys, "content", "check")
    assert code == 2
    assert out == ""
    [line] = err.splitlines()
    if message is None:
        assert re.fullmatch(rf"careerbot: setting {name}: \S.*", line), line
    else:
        assert line == f"careerbot: setting {name}: {message}"
    assert "Traceback" not in err
    if name == "BOT_TOKEN":
        assert value not in err  # a token, even a malformed one, is never printed


def test_every_bad_setting_gets_its_own_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {"DATABASE_URL": "mysql://x", "BOT_TOKEN": SECRET, "ADMIN_IDS": "x", "LOG_LEVEL": "loud"}
    for name, value in bad.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("REDIS_URL", "redis://localhost")  # a good one is not mentioned
    code, out, err = run_main(capsys, "content", "check")
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    named = [re.search(r"setting ([A-Z_]+): ", line) for line in lines]
    assert all(named), lines
    assert sorted(match[1] for match in named if match) == sorted(bad)
    assert "Traceback" not in err and SECRET not in err


def test_bad_admin_ids_are_explained_to_an_operator(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ADMIN_IDS", "1, two")
    _, _, err = run_main(capsys, "content", "check")
    [line] = err.splitlines()
    assert line.startswith("careerbot: setting ADMIN_IDS: ")
    assert "int()" not in line
    assert "'two'" in line


def test_every_settings_line_says_who_is_speaking(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://x")
    monkeypatch.setenv("LOG_LEVEL", "loud")
    _, _, err = run_main(capsys, "content", "check")
    lines = err.splitlines()
    assert len(lines) == 2
    assert all(line.startswith("careerbot: setting ") for line in lines), lines


def test_run_without_a_token_says_which_setting_is_missing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run_main(capsys, "run")
    assert code == 1
    assert err == (
        "careerbot: setting BOT_TOKEN: required to talk to Telegram (try `careerbot chat`)\n"
    )


def test_the_installed_command_with_bad_settings(tmp_path: Path) -> None:
    env = clean_env(
        tmp_path, DATABASE_URL="postgres://db/careerbot", BOT_TOKEN=SECRET, ADMIN_IDS="1 2"
    )
    result = run_careerbot(cwd=tmp_path, env=env, stdin="")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert any(
        line.endswith(
            "setting DATABASE_URL: must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
        for line in lines
    )
    assert any(
        line.endswith("setting BOT_TOKEN: must look like 123456:ABC-DEF… (from @BotFather)")
        for line in lines
    )
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr
    assert not (tmp_path / "data").exists()  # nothing was started


def test_the_installed_command_reads_dotenv_of_its_working_folder(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LOG_LEVEL=verbose\n", "utf-8")
    result = run_careerbot("content", "check", cwd=tmp_path, env=clean_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr == (
        "careerbot: setting LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'\n"
    )
