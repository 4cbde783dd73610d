"""Settings from the environment and `.env`: exactly the variables in INTERFACE.md."""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from prompts import DEFAULT_MODEL

_CRON = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun) ([01]?\d|2[0-3]):([0-5]\d)$")


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")


def _one_of(v: str, allowed: tuple[str, ...]) -> str:
    if v not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return v


class ConfigError(Exception):
    """A one-line message saying what to set or fix (the CLI prints it and exits 2)."""


class LogSettings(BaseSettings):
    """Just the logging variables, read before any command runs: a bad one stops every command the same way,
    and a command that needs no other setting is not stopped by another one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")
    hardno_log_level: str = "INFO"
    hardno_log_format: str = "text"

    @field_validator("hardno_log_level")
    @classmethod
    def _log_level(cls, v: str) -> str:
        return _one_of(v.strip().upper(), LOG_LEVELS)

    @field_validator("hardno_log_format")
    @classmethod
    def _log_format(cls, v: str) -> str:
        return _one_of(v.strip().lower(), LOG_FORMATS)


class Settings(LogSettings):

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///hardno.db"
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = DEFAULT_MODEL
    hardno_digest_hour: int = Field(9, ge=0, le=23)
    hardno_leaderboard_cron: str = "mon 09:00"
    hubspot_access_token: SecretStr | None = None  # a private app token: turns the CRM sync on
    hubspot_api_url: str = "https://api.hubapi.com"
    hardno_crm_sync_minutes: int = Field(15, ge=1, le=24 * 60)

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL like https://slack.com/api/")
        return v if v.endswith("/") else v + "/"

    @field_validator("hubspot_api_url")
    @classmethod
    def _hubspot_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL like https://api.hubapi.com")
        return v.rstrip("/")

    @field_validator("hardno_leaderboard_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        v = " ".join(v.lower().split())
        if not _CRON.match(v):
            raise ValueError('must look like "mon 09:00" (a weekday and a 24-hour time)')
        return v

    @field_validator("slack_bot_token", "slack_app_token", "slack_signing_secret", "openai_api_key",
                     "openai_base_url", "hubspot_access_token", mode="before")
    @classmethod
    def _blank_is_unset(cls, v):
        return None if isinstance(v, str) and not v.strip() else v

    @property
    def leaderboard_schedule(self) -> tuple[str, int, int]:
        """(day, hour, minute) of the weekly leaderboard post."""
        m = _CRON.match(self.hardno_leaderboard_cron)
        return m.group(1), int(m.group(2)), int(m.group(3))

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def require_slack(self, http: bool) -> None:
        """Raise ConfigError naming what is missing to connect to Slack."""
        hint = " (`hardno try` runs the bot without Slack)"
        token = self.slack_bot_token and self.slack_bot_token.get_secret_value()
        if not token:
            raise ConfigError("SLACK_BOT_TOKEN is not set: set it to your app's xoxb- bot token" + hint)
        if not token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-" + hint)
        if http:
            if not self.slack_signing_secret:
                raise ConfigError("SLACK_SIGNING_SECRET is not set: HTTP mode needs it to verify "
                                  "Slack's requests (or set SLACK_APP_TOKEN for Socket Mode)" + hint)
        else:
            app = self.slack_app_token.get_secret_value() if self.slack_app_token else ""
            if not app.startswith("xapp-"):
                raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp- "
                                  "(or unset it to use HTTP mode)" + hint)


def load_settings(**overrides) -> Settings:
    """Settings, or ConfigError with one line naming the variable to fix."""
    try:
        return Settings(**overrides)
    except ValidationError as e:
        err = e.errors()[0]
        name = str(err["loc"][0]).upper() if err["loc"] else "a setting"
        msg = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{name} {msg}") from None


def load_log_settings() -> LogSettings:
    try:
        return LogSettings()
    except ValidationError as e:
        err = e.errors()[0]
        raise ConfigError(f"{str(err['loc'][0]).upper()} {err['msg'].removeprefix('Value error, ')}") from None
