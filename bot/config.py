"""Settings from the environment and `.env`: exactly the variables in INTERFACE.md."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from prompts import DEFAULT_MODEL

_WEEKLY = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun) ([01]?\d|2[0-3]):([0-5]\d)$")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CRONTAB_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")  # crontab's 0 and 7 are Sunday


def weekly_time(value: str) -> tuple[str, int, int] | None:
    """(day, hour, minute) for `mon 09:00` or a crontab line that fires once a week (`0 9 * * 1`,
    `30 16 * * fri`), read by APScheduler's `CronTrigger.from_crontab`; None for anything else.

    Weekday numbers are crontab's (0 or 7 is Sunday, 1 Monday): APScheduler 3 counts from Monday, so
    they are turned into names first. The board is weekly, so a line firing more or less often than
    once a week (`0 9 * * 1-5`, `0 9 1 * *`) is refused rather than silently posted once."""
    v = " ".join(value.lower().split())
    m = _WEEKLY.match(v)
    if m:
        return m.group(1), int(m.group(2)), int(m.group(3))
    fields = v.split(" ")
    if len(fields) != 5:
        return None
    base, _, step = fields[4].partition("/")
    named = re.sub(r"\d+", lambda d: _CRONTAB_DAYS[int(d.group())] if int(d.group()) < 8 else d.group(), base)
    fields[4] = named + (f"/{step}" if step else "")
    from apscheduler.triggers.cron import CronTrigger
    try:
        trigger = CronTrigger.from_crontab(" ".join(fields), timezone=UTC)
    except ValueError:
        return None
    start = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday; UTC has no DST to skip or repeat an hour
    fires: list[datetime] = []
    previous = None
    while len(fires) < 3:
        at = trigger.get_next_fire_time(previous, start if previous is None else previous + timedelta(seconds=1))
        if at is None or at >= start + timedelta(days=21):
            break
        fires.append(at)
        previous = at
    if len(fires) != 3 or fires[1] - fires[0] != timedelta(days=7) or fires[2] - fires[1] != timedelta(days=7):
        return None
    return _DAYS[fires[0].weekday()], fires[0].hour, fires[0].minute


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")


def _one_of(v: str, allowed: tuple[str, ...]) -> str:
    if v not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return v


KEYGEN = ('`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`')


def fernet_key_ok(key: str) -> bool:
    """Whether `key` is a Fernet key: 32 bytes, url-safe base64 (what Fernet.generate_key() makes)."""
    import base64
    import binascii
    try:
        return len(base64.urlsafe_b64decode(key.strip().encode())) == 32
    except (binascii.Error, ValueError):
        return False


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
    # OAuth: both set, hardno installs in any number of workspaces, each with its own (encrypted) token
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    hardno_token_key: SecretStr | None = None  # a Fernet key: bot tokens are stored encrypted with it
    hardno_uninstall_grace_days: int = Field(30, ge=0, le=3650)
    hardno_clock_file: str | None = None  # testing and rehearsals: "now" is read from this file (FileClock)

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

    @field_validator("hardno_token_key")
    @classmethod
    def _token_key(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and not fernet_key_ok(v.get_secret_value()):
            raise ValueError(f"must be a Fernet key (32 url-safe base64-encoded bytes); make one with {KEYGEN}")
        return v

    @field_validator("hardno_clock_file", mode="before")
    @classmethod
    def _clock_file(cls, v):
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        from pathlib import Path

        from bot.clock import read_time_file
        read_time_file(Path(v))  # its ValueError says what the file must hold
        return v

    def clock(self):
        """The clock every command runs on: the wall clock, or HARDNO_CLOCK_FILE's time when set."""
        from bot.clock import Clock, FileClock
        return FileClock(self.hardno_clock_file) if self.hardno_clock_file else Clock()

    @field_validator("hardno_leaderboard_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        v = " ".join(v.lower().split())
        if weekly_time(v) is None:
            raise ValueError('must be a weekly time: "mon 09:00" (a weekday and a 24-hour time) or a crontab '
                             'line that fires once a week, like "0 9 * * mon"')
        return v

    @field_validator("slack_bot_token", "slack_app_token", "slack_signing_secret", "openai_api_key",
                     "openai_base_url", "hubspot_access_token", "slack_client_id", "slack_client_secret",
                     "hardno_token_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, v):
        return None if isinstance(v, str) and not v.strip() else v

    @property
    def leaderboard_schedule(self) -> tuple[str, int, int]:
        """(day, hour, minute) of the weekly leaderboard post."""
        found = weekly_time(self.hardno_leaderboard_cron)
        assert found is not None  # the validator refused anything else
        return found

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def oauth(self) -> bool:
        """Installed through OAuth in any number of workspaces (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)."""
        return self.slack_client_id is not None and self.slack_client_secret is not None

    def require_oauth(self, http: bool, *, serving: bool = True) -> str:
        """The token key, or ConfigError naming what OAuth mode is missing (`serving`: for `serve`, which
        also needs HTTP mode and the signing secret; the jobs only read tokens)."""
        if serving and not http:
            raise ConfigError("OAuth (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) serves its install pages over "
                              "HTTP: run `hardno serve --http` (or unset SLACK_APP_TOKEN)")
        if serving and not self.slack_signing_secret:
            raise ConfigError("SLACK_SIGNING_SECRET is not set: HTTP mode needs it to verify Slack's requests")
        if self.hardno_token_key is None:
            raise ConfigError("HARDNO_TOKEN_KEY is not set: with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET each "
                              f"workspace's token is stored encrypted with it; make one with {KEYGEN}")
        return self.hardno_token_key.get_secret_value()

    def app_token(self) -> str:
        return self.slack_app_token.get_secret_value() if self.slack_app_token else ""

    def require_slack(self, http: bool) -> str:
        """The bot token, or ConfigError naming what is missing to connect to Slack (single-token mode)."""
        if (self.slack_client_id is None) != (self.slack_client_secret is None):
            have, missing = (("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET") if self.slack_client_id
                             else ("SLACK_CLIENT_SECRET", "SLACK_CLIENT_ID"))
            raise ConfigError(f"{have} is set but {missing} is not: OAuth needs both (or unset {have})")
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
            if not self.app_token().startswith("xapp-"):
                raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp- "
                                  "(or unset it to use HTTP mode)" + hint)
        return token


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
