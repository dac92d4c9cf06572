"""Every environment variable Teambot reads, validated once at start-up."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from teambot.core.db import normalise_database_url


class Settings(BaseSettings):
    """Configuration from the environment (and `.env`); secrets stay `SecretStr`."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", case_sensitive=False, populate_by_name=True
    )

    database_url: str = Field(default="sqlite:///./teambot.db")
    port: int = Field(default=3000, ge=1, le=65535)
    host: str = "0.0.0.0"
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one JSON object a line (structlog), for log shippers
    # /metrics: on its own port (never public), or on the main port for whoever sends the token.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_token: SecretStr | None = None
    default_timezone: str = Field(default="UTC", alias="TEAMBOT_TIMEZONE")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_url: str | None = None

    microsoft_app_id: str | None = None
    microsoft_app_password: SecretStr | None = None
    microsoft_app_tenant_id: str | None = None
    microsoft_app_type: str = "MultiTenant"
    # Bot Framework endpoints, under botbuilder's own names, for a sovereign/private cloud; unset
    # means Microsoft's public cloud. The Teams tests point them at local stand-ins.
    channel_service: str | None = None
    to_channel_from_bot_login_url: str | None = None
    to_channel_from_bot_oauth_scope: str | None = None
    to_bot_from_channel_token_issuer: str | None = None
    to_bot_from_channel_openid_metadata_url: str | None = None
    to_bot_from_emulator_openid_metadata_url: str | None = None

    scheduler_enabled: bool = Field(default=True, alias="TEAMBOT_SCHEDULER")
    sweep_seconds: float = Field(default=15, gt=0, le=3600, alias="TEAMBOT_SWEEP_SECONDS")
    intake_lease_seconds: float = Field(default=30, ge=1, le=3600, alias="TEAMBOT_INTAKE_LEASE_SECONDS")
    # How long a due item (a nudge, a mail, a webhook delivery) stays with the process that claimed it:
    # after a crash, another process sends it once this runs out.
    due_lease_seconds: float = Field(default=300, ge=1, le=3600, alias="TEAMBOT_DUE_LEASE_SECONDS")
    # Where the work behind an ack runs: `web` (the process that acked, the default) or `worker` (web
    # processes only record and ack; `teambot worker` processes run it, woken by PostgreSQL NOTIFY).
    work: Literal["web", "worker"] = Field(default="web", alias="TEAMBOT_WORK")
    worker_slots: int = Field(default=16, ge=1, le=256, alias="TEAMBOT_WORKER_SLOTS")

    # The customer loop: the written follow-up by email and the one-click feedback page.
    smtp_url: SecretStr | None = None  # smtp://user:pass@host:587 or smtps://...; unset: the outbox folder
    mail_from: str = "Teambot <teambot@localhost>"
    outbox_dir: str = Field(default="./outbox", alias="TEAMBOT_OUTBOX")
    secret: SecretStr | None = Field(default=None, alias="TEAMBOT_SECRET")  # unset: made once, kept in the DB
    public_url_setting: str | None = Field(default=None, alias="TEAMBOT_PUBLIC_URL")

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _metrics_port(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if len(value.get_secret_value().strip()) < 16:
            raise ValueError("use at least 16 characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().strip().startswith(("smtp://", "smtps://")):
            raise ValueError("use smtp://user:pass@host:587 (STARTTLS) or smtps://user:pass@host:465")
        return value

    @field_validator("mail_from")
    @classmethod
    def _mail_from(cls, value: str) -> str:
        from email.utils import parseaddr

        if "@" not in parseaddr(value)[1]:
            raise ValueError("use an address such as 'Bistro Care <care@bistro.example>'")
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 16:
            raise ValueError("use at least 16 characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
        return value

    @field_validator("public_url_setting")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.strip().startswith(("http://", "https://")):
            raise ValueError("use the address customers reach Teambot at, like https://teambot.example.com")
        return value.strip().rstrip("/")

    @property
    def public_url(self) -> str:
        """Where feedback links point: TEAMBOT_PUBLIC_URL, else this machine on $PORT."""
        return self.public_url_setting or f"http://localhost:{self.port}"

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        normalise_database_url(value)  # raises ValueError naming the problem
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Paris") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("use one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @property
    def async_database_url(self) -> str:
        return normalise_database_url(self.database_url)

    @property
    def slack_configured(self) -> bool:
        has_secret = self.slack_signing_secret is not None or self.slack_app_token is not None
        has_auth = self.slack_bot_token is not None or self.slack_client_id is not None
        return has_secret and has_auth

    @property
    def teams_configured(self) -> bool:
        return self.microsoft_app_id is not None


class ConfigError(Exception):
    """A setting is wrong; the message names it and says how to fix it."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "?"
            lines.append(f"  {name}: {err['msg']}")
        raise ConfigError("Teambot cannot start; fix these settings:\n" + "\n".join(lines)) from None
