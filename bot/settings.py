"""The one configuration of every subcommand: the environment, then `.env`, then the defaults (the
environment wins, as pydantic-settings has it); every key is in `.env.example`. `--db PATH`, for the
commands that have it, wins over all three. What only `run` needs is checked by `require_for_run`;
what is allowed but exposes the bot is said by `dotenv_warning` and `listen_warning`, never with a value."""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from dotenv import dotenv_values  # what pydantic-settings reads .env with
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Telegram takes 1 character; anyone who finds the webhook's port could then guess it and post updates.
MIN_SECRET_CHARS = 16
SECRET_KEYS = ("TELEGRAM_BOT_TOKEN", "SCREENING_WEBHOOK_SECRET", "SCREENING_AUDIT_KEY")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
DOTENV = ".env"
PATH_MAX = 4096  # Linux's, in bytes
DEFAULT_DB_PATH = "./screening.db"  # the one default database, when SCREENING_DB_PATH is not set
DB_HELP = f"the screening database (default: SCREENING_DB_PATH from the environment or .env, else {DEFAULT_DB_PATH})"

IdSet = Annotated[frozenset[int], NoDecode]


class SettingsError(Exception):
    """A missing or malformed setting, in one line that names the key."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=DOTENV, env_file_encoding="utf-8", extra="ignore", populate_by_name=True,
        hide_input_in_errors=True,
    )

    token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    api_url: str = Field(default="https://api.telegram.org/bot", alias="TELEGRAM_API_URL")
    db_path: Path = Field(default=Path(DEFAULT_DB_PATH), alias="SCREENING_DB_PATH")
    coordinator_ids: IdSet = Field(default=frozenset(), alias="SCREENING_COORDINATOR_IDS")
    physician_ids: IdSet = Field(default=frozenset(), alias="SCREENING_PHYSICIAN_IDS")
    webhook_url: str | None = Field(default=None, alias="SCREENING_WEBHOOK_URL")
    webhook_secret: SecretStr | None = Field(default=None, alias="SCREENING_WEBHOOK_SECRET")
    webhook_listen: str = Field(default="127.0.0.1", alias="SCREENING_WEBHOOK_LISTEN")
    webhook_port: int = Field(default=8443, ge=1, le=65535, alias="SCREENING_WEBHOOK_PORT")
    # The audit trail's key (64 hexadecimal digits), or the owner-only file holding it (default: beside the
    # database, `<database>.audit-key`, generated at the first start); never in the database's backups.
    audit_key: SecretStr | None = Field(default=None, alias="SCREENING_AUDIT_KEY")
    audit_key_file: Path | None = Field(default=None, alias="SCREENING_AUDIT_KEY_FILE")
    # An append-only file the trail's heads are written to (daily, and with every export), if set.
    anchors_file: Path | None = Field(default=None, alias="SCREENING_AUDIT_ANCHORS_FILE")
    # Hours a pre-screen waits unanswered before its physician is reminded (the second reminder comes 7 days
    # after the last change whatever this says).
    reminder_idle_hours: float = Field(default=48.0, gt=0, le=24 * 365, alias="SCREENING_REMINDER_IDLE_HOURS")

    @field_validator("token", "webhook_url", "webhook_secret", "audit_key", "audit_key_file", "anchors_file",
                     mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("reminder_idle_hours", mode="before")
    @classmethod
    def _empty_is_48(cls, value: object) -> object:
        return 48.0 if isinstance(value, str) and not value.strip() else value

    @field_validator("db_path", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():  # `SCREENING_DB_PATH=` would otherwise be "."
            return Path(DEFAULT_DB_PATH)
        return value

    @field_validator("db_path")
    @classmethod
    def _db_path(cls, value: Path) -> Path:
        if len(os.fsencode(value)) > PATH_MAX:  # the system would refuse it at every use, quoting it whole
            raise ValueError(f"is longer than the {PATH_MAX} bytes a path can have")
        return value

    @field_validator("coordinator_ids", "physician_ids", mode="before")
    @classmethod
    def _id_list(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        ids = set()
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isascii() or not part.isdigit() or int(part) <= 0:
                raise ValueError(f"{clip(part, 20)!r} is not a numeric Telegram user ID "
                                 "(comma-separated positive integers)")
            ids.add(int(part))
        return frozenset(ids)

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as https://api.telegram.org/bot")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if not parts.netloc or parts.scheme != "https" and not (
                parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
            raise ValueError("must be a public https:// URL")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not SECRET_TOKEN_RE.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1 to 256 characters from A-Z, a-z, 0-9, _ and -")
        if value is not None and len(value.get_secret_value()) < MIN_SECRET_CHARS:
            raise ValueError(f"must be at least {MIN_SECRET_CHARS} characters long, so that it cannot be guessed "
                             "(for example: python3 -c 'import secrets; print(secrets.token_urlsafe(32))')")
        return value

    @field_validator("audit_key")
    @classmethod
    def _audit_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", value.get_secret_value()):
            raise ValueError("must be 64 hexadecimal digits (for example: python3 -c 'import secrets; "
                             "print(secrets.token_hex(32))')")
        return value

    @property
    def key_file(self) -> Path:
        """Where the audit key is kept: SCREENING_AUDIT_KEY_FILE, else beside the database."""
        return self.audit_key_file or self.db_path.with_name(self.db_path.name + ".audit-key")

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("SCREENING_WEBHOOK_SECRET is required when SCREENING_WEBHOOK_URL is set")
        return self

    @property
    def use_webhook(self) -> bool:
        return self.webhook_url is not None

    def require_for_run(self) -> None:
        """What `screening-bot run` cannot do without; raises SettingsError naming the key."""
        if self.token is None:
            raise SettingsError("TELEGRAM_BOT_TOKEN is not set (the token from @BotFather)")
        if not self.coordinator_ids:
            raise SettingsError("SCREENING_COORDINATOR_IDS is empty: referrals would reach nobody")


def clip(text: str, limit: int = 40) -> str:
    """A value as a message may quote it: at most ``limit`` characters, an ellipsis for the rest."""
    return text if len(text) <= limit else text[:limit] + "…"


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a host name: it may resolve anywhere
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def listen_warning(settings: Settings) -> str | None:
    """Why the webhook's own server is reachable from the network, if it is: it speaks plain HTTP."""
    if not settings.use_webhook or _is_loopback(settings.webhook_listen):
        return None
    return (f"SCREENING_WEBHOOK_LISTEN is {clip(settings.webhook_listen) or 'empty (every address)'}, not a "
            f"loopback address: the webhook port {settings.webhook_port} is exposed to the network without TLS; "
            "keep it behind a TLS reverse proxy and a firewall, or listen on 127.0.0.1")


def dotenv_warning(path: str | Path = DOTENV) -> str | None:
    """Why `.env` should be private, if it should be and is not: it holds secrets others can read or change."""
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        return None
    if not mode & 0o077:
        return None
    try:
        values = {k.upper(): v for k, v in dotenv_values(path, encoding="utf-8").items()}
    except (OSError, UnicodeDecodeError):
        return None
    held = [k for k in SECRET_KEYS if (values.get(k) or "").strip()]
    if not held:
        return None
    return (f"{path} can be read or changed by other users (mode {mode:04o}) and holds {', '.join(held)}; "
            f"make it private: chmod 600 {path}")


def _alias(field: str) -> str:
    info = Settings.model_fields.get(field)
    return info.alias if info and info.alias else field


def explain(error: ValidationError) -> str:
    """One line for a ValidationError, naming each setting by its environment key, never its value."""
    parts = []
    for e in error.errors(include_url=False, include_input=False):
        key = _alias(str(e["loc"][0])) if e["loc"] else ""
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{key}: {msg}" if key else msg)
    return "; ".join(parts)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and `.env`; SettingsError (one line) when malformed."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(explain(exc)) from None
    except OSError as exc:
        raise SettingsError(f".env: cannot read it ({exc.strerror or type(exc).__name__})") from None
    except UnicodeDecodeError as exc:
        raise SettingsError(f".env: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def add_db_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="PATH", help=DB_HELP)


def settings_for(args: argparse.Namespace) -> Settings:
    """The settings a command runs with, loaded once and kept on ``args``: its `--db` (when it has one)
    over the environment over `.env` over the defaults. SettingsError (one line) when malformed."""
    settings = getattr(args, "settings", None)
    if settings is None:
        db = getattr(args, "db", None)
        settings = load_settings(db_path=db) if db else load_settings()
        args.settings = settings
    return settings
