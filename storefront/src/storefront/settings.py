"""Service configuration: one validated settings object read from the environment, never at import time."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values people paste from tutorials; an admin token equal to one of them is as good as none.
_WEAK_TOKENS = frozenset({"changeme", "change-me", "admin", "password", "secret", "token", "test"})
MIN_ADMIN_TOKEN_LENGTH = 16
_LOOPBACK_NAMES = frozenset({"localhost", ""})


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES or host.startswith("/"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_admin_token(token: str) -> None:
    """Reject a token too weak to protect the admin API; the message names the setting, not the value."""
    if len(token) < MIN_ADMIN_TOKEN_LENGTH or token.lower() in _WEAK_TOKENS:
        raise ValueError(
            f"STOREFRONT_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN_LENGTH} characters and not a well-known default"
        )


def describe_errors(exc: ValidationError) -> str:
    """A settings error as text that names each setting and the rule, without the (possibly secret) input."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
        for e in exc.errors(include_input=False, include_url=False)
    )


class Settings(BaseSettings):
    """Everything the service reads from its environment; secrets are SecretStr so they never print."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    # Database selection: DATABASE_URL, else DB_HOST + DB_SECRET_ARN (AWS), else embedded PostgreSQL.
    database_url: SecretStr | None = Field(default=None, validation_alias="DATABASE_URL")
    db_host: str | None = Field(default=None, validation_alias="DB_HOST")
    db_port: int = Field(default=5432, ge=1, le=65535, validation_alias="DB_PORT")
    db_name: str = Field(default="storefront", min_length=1, validation_alias="DB_NAME")
    db_secret_arn: str | None = Field(default=None, validation_alias="DB_SECRET_ARN")
    # In AWS, ECS injects the secret's fields at task start; the first connections use them, and the
    # secret is read by ARN only when PostgreSQL rejects them (after a rotation).
    db_username: str | None = Field(default=None, validation_alias="DB_USERNAME")
    db_password: SecretStr | None = Field(default=None, validation_alias="DB_PASSWORD")
    db_sslmode: Literal["require", "verify-ca", "verify-full"] = Field(default="require", validation_alias="DB_SSLMODE")
    pool_min_size: int = Field(default=2, ge=0, le=100, validation_alias="STOREFRONT_POOL_MIN_SIZE")
    pool_max_size: int = Field(default=10, ge=1, le=200, validation_alias="STOREFRONT_POOL_MAX_SIZE")
    pool_acquire_timeout: float = Field(default=2.0, gt=0, le=60, validation_alias="STOREFRONT_POOL_ACQUIRE_TIMEOUT")
    statement_timeout_ms: int = Field(default=5000, ge=100, validation_alias="STOREFRONT_STATEMENT_TIMEOUT_MS")

    # Admin token: env wins; else read from Secrets Manager by ARN at start-up.
    admin_token: SecretStr | None = Field(default=None, validation_alias="STOREFRONT_ADMIN_TOKEN")
    admin_token_secret_arn: str | None = Field(default=None, validation_alias="STOREFRONT_ADMIN_TOKEN_SECRET_ARN")

    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, le=10 * 1024 * 1024, validation_alias="STOREFRONT_MAX_BODY_BYTES"
    )
    static_dir: Path | None = Field(default=None, validation_alias="STOREFRONT_STATIC_DIR")
    data_dir: Path = Field(default=Path(".data"), validation_alias="STOREFRONT_DATA_DIR")
    migrations_dir: Path | None = Field(default=None, validation_alias="STOREFRONT_MIGRATIONS_DIR")
    migrate_on_start: bool = Field(default=True, validation_alias="STOREFRONT_MIGRATE_ON_START")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias=AliasChoices("STOREFRONT_LOG_LEVEL", "LOG_LEVEL")
    )
    access_log: bool = Field(default=True, validation_alias="STOREFRONT_ACCESS_LOG")
    # How long the edge (and browsers) may serve a catalog read without asking again, and how much longer
    # the edge may serve it stale while it refetches: an admin change shows through the edge within these.
    catalog_max_age: int = Field(default=30, ge=0, le=86400, validation_alias="STOREFRONT_CATALOG_MAX_AGE")
    catalog_stale_while_revalidate: int = Field(
        default=30, ge=0, le=86400, validation_alias="STOREFRONT_CATALOG_STALE_WHILE_REVALIDATE"
    )
    workers: int = Field(default=1, ge=1, le=64, validation_alias="STOREFRONT_WORKERS")
    # `storefront expire-carts` deletes open carts untouched for longer than this.
    cart_ttl_hours: int = Field(default=72, ge=1, le=8760, validation_alias="STOREFRONT_CART_TTL_HOURS")

    @field_validator("admin_token")
    @classmethod
    def _reject_weak_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        check_admin_token(value.get_secret_value())
        return value

    @field_validator("database_url")
    @classmethod
    def _reject_plaintext_remote_database(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in ("postgres", "postgresql"):
            raise ValueError("DATABASE_URL must be a postgresql:// URL")
        query = parse_qs(parts.query)
        # As asyncpg (and libpq) read the URL: the last of a repeated parameter counts, and without sslmode
        # it falls back to PGSSLMODE or `prefer`, which goes on in plain text when the server has no TLS.
        host = parts.hostname or (query.get("host", [""])[-1])
        sslmode = query.get("sslmode", [""])[-1]
        if not _is_loopback(host) and sslmode not in ("require", "verify-ca", "verify-full"):
            raise ValueError(
                "DATABASE_URL for a remote host must require TLS (sslmode=require, verify-ca or verify-full)"
            )
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        if self.pool_min_size > self.pool_max_size:
            raise ValueError("STOREFRONT_POOL_MIN_SIZE must not exceed STOREFRONT_POOL_MAX_SIZE")
        if (self.db_host is None) != (self.db_secret_arn is None) and self.database_url is None:
            raise ValueError("DB_HOST and DB_SECRET_ARN must be set together")
        return self

    @property
    def catalog_cache_control(self) -> str:
        """The Cache-Control of a successful catalog read."""
        return f"public, max-age={self.catalog_max_age}, stale-while-revalidate={self.catalog_stale_while_revalidate}"

    @property
    def database_mode(self) -> Literal["url", "aws", "embedded"]:
        """Which of the three database sources applies, in order of precedence."""
        if self.database_url is not None:
            return "url"
        if self.db_host is not None and self.db_secret_arn is not None:
            return "aws"
        return "embedded"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment on first use."""
    return Settings()
