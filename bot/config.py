"""All settings, read from the environment and `.env`; `.env.example` documents each one."""

import math
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{PROJECT_DIR / 'data' / 'careerbot.db'}"
MAX_BROADCAST_PER_SECOND = 25
SQLITE_NO_FILE = ("sqlite+aiosqlite:", "sqlite+aiosqlite:///:memory:")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,
        extra="ignore",
        populate_by_name=True,
    )

    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str | None = None
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    content_dir: Path = PROJECT_DIR / "content"
    dialogs_dir: Path = PROJECT_DIR / "dialogs"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Days an opted-in student's unfinished project sits untouched before a reminder is sent.
    # NUDGE_AFTER_DAYS, the setting's former name, is still read; REMINDER_AFTER_DAYS wins.
    reminder_after_days: Annotated[
        int,
        Field(
            ge=1,
            le=365,
            validation_alias=AliasChoices("reminder_after_days", "nudge_after_days"),
        ),
    ] = 3
    cohort_link_days: Annotated[int, Field(ge=0, le=3650)] = 0
    # The program's clock: leads' weekly digest goes out on Monday at DIGEST_HOUR there.
    program_timezone: str = "UTC"
    digest_hour: Annotated[int, Field(ge=0, le=23)] = 8
    broadcast_per_second: float = 25
    # A delivery that meets a transient failure (Telegram 5xx, a timeout, 429) is tried again
    # with growing pauses from the base, until this long after the announcement was sent.
    announcement_retry_hours: Annotated[float, Field(gt=0, le=168, allow_inf_nan=False)] = 24
    announcement_retry_base_seconds: Annotated[float, Field(gt=0, le=3600, allow_inf_nan=False)] = 5
    # The background-jobs lease: renewed every third of it while held, so another process
    # takes over this long after the holder died.
    jobs_lease_seconds: Annotated[float, Field(ge=1, le=300, allow_inf_nan=False)] = 3
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "127.0.0.1"
    webhook_port: Annotated[int, Field(ge=1, le=65535)] = 8080
    webhook_path: str = "/telegram"
    # Back-pressure and slow clients, per webhook worker.
    webhook_max_updates: Annotated[int, Field(ge=1, le=10_000)] = 40
    webhook_queue_timeout: Annotated[float, Field(gt=0, le=300)] = 10
    webhook_read_timeout: Annotated[float, Field(gt=0, le=300)] = 10
    webhook_max_connections: Annotated[int, Field(ge=1, le=100_000)] = 200
    # Connection pools, per process: PostgreSQL (SQLite always has one connection) and Redis.
    db_pool_size: Annotated[int, Field(ge=1, le=1000)] = 10
    db_pool_overflow: Annotated[int, Field(ge=0, le=1000)] = 10
    db_pool_timeout: Annotated[float, Field(gt=0, le=300)] = 10
    redis_pool_size: Annotated[int, Field(ge=1, le=10_000)] = 50
    redis_pool_timeout: Annotated[float, Field(gt=0, le=300)] = 10
    # Keys the pseudonyms of students in CSV exports; unset, the bot makes a random key once
    # and keeps it in the database (table `secrets`).
    pseudonym_key: SecretStr | None = None
    # How long start-up keeps retrying a Telegram it cannot reach before the command fails.
    startup_retry_seconds: Annotated[int, Field(ge=0, le=86400)] = 300
    # `careerbot webhook` stops (exit 1) when a worker dies this many times in a row, each
    # within a minute of starting: a crash loop, which restarting cannot mend.
    worker_crash_limit: Annotated[int, Field(ge=1, le=100)] = 5
    # The web dashboard: its public URL (the bot's /dashboard links to it; unset, the command
    # says it is not configured), the path it is served under by the webhook workers and
    # `careerbot dashboard`, and how long a login lasts.
    dashboard_url: str | None = None
    dashboard_path: str = "/dashboard"
    dashboard_session_hours: Annotated[float, Field(gt=0, le=720, allow_inf_nan=False)] = 12

    @field_validator("admin_ids", mode="before")
    @classmethod
    def split_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = value.replace(",", " ").split()
            for part in parts:
                if not (part.isascii() and part.isdigit()):
                    raise ValueError(
                        f"must be Telegram user ids (numbers) separated by commas, not {part!r}"
                    )
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("bot_token")
    @classmethod
    def token_has_telegram_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            bot_id, _, secret = value.get_secret_value().partition(":")
            if not bot_id.isdigit() or not secret:
                raise ValueError("must look like 123456:ABC-DEF… (from @BotFather)")
        return value

    @field_validator("broadcast_per_second", mode="before")
    @classmethod
    def rate_is_a_number_up_to_25(cls, value: object) -> object:
        try:
            rate = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            rate = math.nan
        if not (math.isfinite(rate) and 0 < rate <= MAX_BROADCAST_PER_SECOND):
            raise ValueError(
                f"must be a number between 0 and {MAX_BROADCAST_PER_SECOND} (messages per "
                f"second: more than 0, at most {MAX_BROADCAST_PER_SECOND}), not {value!r}"
            )
        return rate

    @field_validator("database_url")
    @classmethod
    def database_is_supported(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        if value.startswith("sqlite") and value.split("?")[0].rstrip("/") in SQLITE_NO_FILE:
            raise ValueError(
                "SQLite needs a file (an in-memory database would vanish with each process "
                "and each worker): sqlite+aiosqlite:///path/to/careerbot.db"
            )
        return value

    @field_validator("webhook_secret")
    @classmethod
    def secret_is_telegram_safe(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("program_timezone")
    @classmethod
    def timezone_is_known(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise ValueError(
                f"must be a time zone name such as Europe/Berlin or UTC, not {value!r}"
            ) from None
        return value

    @field_validator("dashboard_url")
    @classmethod
    def dashboard_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(
                "must be an http:// or https:// URL, e.g. https://bot.example.org/dashboard"
            )
        return value.rstrip("/") if value is not None else None

    @field_validator("dashboard_path")
    @classmethod
    def dashboard_path_is_a_prefix(cls, value: str) -> str:
        if not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", value):
            raise ValueError("must be a path such as /dashboard (no trailing slash)")
        return value

    @property
    def program_zone(self) -> ZoneInfo:
        return ZoneInfo(self.program_timezone)

    @field_validator("telegram_api_url")
    @classmethod
    def api_url_is_http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// base URL")
        return value.rstrip("/")


class SettingsError(Exception):
    """Start-up must stop with one line per bad setting, naming it."""


def load_settings() -> Settings:
    try:
        return Settings()
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"file .env: byte {exc.object[exc.start]:#04x} at offset {exc.start} is not UTF-8 "
            "text: save the file as UTF-8"
        ) from None
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]).upper() or "settings"
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"setting {name}: {message}")
        raise SettingsError("\n".join(lines)) from None
