"""Settings: read on demand, insecure values rejected, secrets never printed."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError
from storefront.settings import Settings, get_settings

from tests.emulator import AwsEmulator


def test_short_or_default_admin_token_is_rejected() -> None:
    for weak in ("short", "changeme", "PASSWORD"):
        with pytest.raises(ValidationError, match="STOREFRONT_ADMIN_TOKEN"):
            Settings(STOREFRONT_ADMIN_TOKEN=weak)


def test_remote_database_url_without_tls_is_rejected() -> None:
    with pytest.raises(ValidationError, match="TLS"):
        Settings(DATABASE_URL="postgresql://u:p@db.example.com/app?sslmode=disable")


# asyncpg (like libpq) takes the last of a repeated parameter, and without sslmode it falls back to PGSSLMODE
# or `prefer`, which connects in plain text when the server offers no TLS.
# https://www.postgresql.org/docs/current/libpq-ssl.html#LIBPQ-SSL-PROTECTION
REFUSED_SSLMODES = ["sslmode=disable", "sslmode=allow", "sslmode=prefer", "", "sslmode=require&sslmode=disable"]
ACCEPTED_SSLMODES = ["sslmode=require", "sslmode=verify-ca", "sslmode=verify-full", "sslmode=disable&sslmode=require"]


@pytest.mark.parametrize("query", REFUSED_SSLMODES)
def test_every_sslmode_that_allows_plain_text_to_a_remote_host_is_refused(query: str) -> None:
    with pytest.raises(ValidationError, match="DATABASE_URL for a remote host must require TLS"):
        Settings(DATABASE_URL=f"postgresql://u:p@db.example.com/app?{query}")


@pytest.mark.parametrize("query", ACCEPTED_SSLMODES)
def test_sslmodes_that_require_tls_are_accepted_for_a_remote_host(query: str) -> None:
    assert Settings(DATABASE_URL=f"postgresql://u:p@db.example.com/app?{query}").database_mode == "url"


def test_local_database_url_without_tls_is_accepted() -> None:
    assert Settings(DATABASE_URL="postgresql://u:p@127.0.0.1/app?sslmode=disable").database_mode == "url"


def test_secrets_do_not_appear_in_repr() -> None:
    settings = Settings(
        DATABASE_URL="postgresql://u:db-password-1@127.0.0.1/app",
        STOREFRONT_ADMIN_TOKEN="admin-token-abcdefgh-1",
    )
    text = repr(settings) + str(settings)
    assert "db-password-1" not in text and "admin-token-abcdefgh-1" not in text


def test_database_source_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    aws = Settings(DB_HOST="cluster.example.com", DB_SECRET_ARN="arn:aws:secretsmanager:eu-west-1:1:secret:x")
    assert aws.database_mode == "aws"
    assert Settings().database_mode == "embedded"


def test_db_host_without_secret_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(ValidationError, match="DB_SECRET_ARN"):
        Settings(DB_HOST="cluster.example.com")


def test_get_settings_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("STOREFRONT_POOL_MAX_SIZE", "7")
    try:
        first = get_settings()
        monkeypatch.setenv("STOREFRONT_POOL_MAX_SIZE", "9")
        assert get_settings() is first and first.pool_max_size == 7
    finally:
        get_settings.cache_clear()


def test_admin_token_from_the_environment_wins_over_the_secret(aws: AwsEmulator) -> None:
    """The variable is used as is: Secrets Manager is not called (the secret does not even exist)."""
    from storefront.app import resolve_admin_token

    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:admin-token-AbCdEf"
    both = Settings(STOREFRONT_ADMIN_TOKEN="env-token-abcdefghij", STOREFRONT_ADMIN_TOKEN_SECRET_ARN=missing)
    assert resolve_admin_token(both) == b"env-token-abcdefghij"


def test_admin_token_is_read_from_its_secret_as_json_or_plain_text(
    aws: AwsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token's secret in Secrets Manager (the emulator, through boto3's own client): JSON with a `token`
    field, or the token itself; a weak one is refused naming the setting; no ARN means no admin token."""
    from storefront.app import resolve_admin_token

    monkeypatch.delenv("STOREFRONT_ADMIN_TOKEN", raising=False)
    secrets = aws.client("secretsmanager")
    as_json = secrets.create_secret(Name="admin-json", SecretString='{"token": "secret-token-from-sm-123"}')["ARN"]
    plain = secrets.create_secret(Name="admin-plain", SecretString="plain-token-from-sm-456\n")["ARN"]
    weak = secrets.create_secret(Name="admin-weak", SecretString="weak")["ARN"]
    assert resolve_admin_token(Settings(STOREFRONT_ADMIN_TOKEN_SECRET_ARN=as_json)) == b"secret-token-from-sm-123"
    assert resolve_admin_token(Settings(STOREFRONT_ADMIN_TOKEN_SECRET_ARN=plain)) == b"plain-token-from-sm-456"
    with pytest.raises(ValueError, match="STOREFRONT_ADMIN_TOKEN"):
        resolve_admin_token(Settings(STOREFRONT_ADMIN_TOKEN_SECRET_ARN=weak))
    monkeypatch.delenv("STOREFRONT_ADMIN_TOKEN_SECRET_ARN", raising=False)
    assert resolve_admin_token(Settings()) is None


@pytest.mark.anyio
async def test_database_credentials_are_read_again_from_the_rotated_secret(aws: AwsEmulator) -> None:
    """Each read returns the secret's current version, so a rotation needs no redeploy
    (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets.html)."""
    from storefront.aws import database_credentials_reader

    secrets = aws.client("secretsmanager")
    arn = secrets.create_secret(Name="db", SecretString='{"username": "app", "password": "first-password"}')["ARN"]
    read = database_credentials_reader(arn)
    assert (await read()).password == "first-password"
    secrets.put_secret_value(SecretId=arn, SecretString='{"username": "app", "password": "rotated-password"}')
    rotated = await read()
    assert (rotated.username, rotated.password) == ("app", "rotated-password")


def test_invalid_configuration_exits_naming_the_setting_without_echoing_secrets() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "STOREFRONT_", "DATABASE_URL"))}
    env |= {
        "STOREFRONT_ADMIN_TOKEN": "changeme",
        "DATABASE_URL": "postgresql://app:hunter2-db-password@db.example.com/app?sslmode=disable",
    }
    result = subprocess.run(
        [sys.executable, "-m", "storefront", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "STOREFRONT_ADMIN_TOKEN" in result.stderr and "DATABASE_URL" in result.stderr
    assert "changeme" not in result.stderr + result.stdout
    assert "hunter2-db-password" not in result.stderr + result.stdout
