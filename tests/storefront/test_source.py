"""The AWS database source: endpoint + credentials secret, TLS required (db/source.py, aws.py).

The credentials secret lives in the AWS API emulator (tests/emulator.py: Secrets Manager through boto3's own
client, as in AWS) and PostgreSQL is the real embedded server, which checks the password (scram-sha-256 over
TCP). The embedded build has no TLS support, so the connector is driven with TLS off where a connection must
succeed; the settings' own sslmode=require is shown refusing that server instead of falling back.
Password rotation under load is in test_resilience.py.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import asyncpg
import pytest
from storefront.app import create_app
from storefront.aws import database_credentials_reader
from storefront.db.embedded import EmbeddedPostgres
from storefront.db.pool import Credentials, PoolConfig, RotatingConnector, create_pool

from tests.emulator import AwsEmulator
from tests.storefront.conftest import make_settings

pytestmark = pytest.mark.anyio


async def _role(db: asyncpg.Connection, password: str) -> str:
    role = f"app_{uuid.uuid4().hex[:8]}"
    await db.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    return role


def _secret(aws: AwsEmulator, role: str, password: str) -> str:
    secrets = aws.client("secretsmanager")
    value = json.dumps({"username": role, "password": password, "engine": "postgres"})
    return str(secrets.create_secret(Name=f"db-{role}", SecretString=value)["ARN"])


def _connector(pg: EmbeddedPostgres, database: str, arn: str, initial: Credentials | None = None) -> RotatingConnector:
    return RotatingConnector(
        host="127.0.0.1",
        port=pg.port,
        database=database.split("@/", 1)[1].split("?", 1)[0],
        read_credentials=database_credentials_reader(arn),
        ssl=False,  # the embedded server has no TLS; the service's settings allow only require/verify-*
        initial=initial,
    )


async def _whoami(connector: RotatingConnector) -> str:
    pool = await create_pool(PoolConfig(min_size=0, max_size=1), connector=connector)
    try:
        return str(await pool.fetchval("SELECT current_user"))
    finally:
        await pool.close()


async def test_the_connector_logs_in_with_the_credentials_held_in_the_secret(
    aws: AwsEmulator, pg: EmbeddedPostgres, database: str, db: asyncpg.Connection
) -> None:
    role = await _role(db, "from-the-secret")
    arn = _secret(aws, role, "from-the-secret")
    assert await _whoami(_connector(pg, database, arn)) == role


async def test_injected_credentials_are_used_until_rejected_then_the_secret_is_read_again(
    aws: AwsEmulator, pg: EmbeddedPostgres, database: str, db: asyncpg.Connection
) -> None:
    """ECS injects DB_USERNAME/DB_PASSWORD at task start: they are used while PostgreSQL accepts them (the
    secret, already rotated ahead of the database here, is not read: its password would fail); once the
    database takes the rotated password, the rejected login re-reads the secret and succeeds."""
    role = await _role(db, "injected")
    arn = _secret(aws, role, "rotated")
    connector = _connector(pg, database, arn, initial=Credentials(role, "injected"))
    assert await _whoami(connector) == role
    assert await _whoami(connector) == role
    await db.execute(f"ALTER ROLE {role} PASSWORD 'rotated'")
    assert await _whoami(connector) == role
    # And again on the next rotation: the connector holds what it read, until PostgreSQL says otherwise.
    aws.client("secretsmanager").put_secret_value(
        SecretId=arn, SecretString=json.dumps({"username": role, "password": "rotated-twice"})
    )
    assert await _whoami(connector) == role
    await db.execute(f"ALTER ROLE {role} PASSWORD 'rotated-twice'")
    assert await _whoami(connector) == role


async def test_a_wrong_password_in_the_secret_is_an_authentication_error_not_a_loop(
    aws: AwsEmulator, pg: EmbeddedPostgres, database: str, db: asyncpg.Connection
) -> None:
    """One re-read per rejection: a secret that is wrong too fails the connection with PostgreSQL's error."""
    role = await _role(db, "the-real-one")
    arn = _secret(aws, role, "not-it")
    with pytest.raises(asyncpg.InvalidPasswordError):
        await _whoami(_connector(pg, database, arn, initial=Credentials(role, "not-it-either")))


async def test_aws_source_reads_the_secret_and_refuses_a_server_without_tls(
    aws: AwsEmulator, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch, scratch: Path
) -> None:
    """The service's own wiring from DB_HOST/DB_PORT/DB_NAME/DB_SECRET_ARN: it reaches the configured
    server with the secret's credentials and sslmode=require, and refuses to go on in plain text."""
    plain = EmbeddedPostgres(scratch / "plain", durable=False)
    plain.start()
    try:
        arn = _secret(aws, "postgres", "x")
        monkeypatch.delenv("DATABASE_URL", raising=False)
        settings = make_settings("", DB_HOST="127.0.0.1", DB_PORT=plain.port, DB_NAME="postgres", DB_SECRET_ARN=arn)
        assert settings.db_sslmode == "require"
        app = create_app(settings)
        with pytest.raises(ConnectionError, match=r"(?i)ssl"):
            async with app.router.lifespan_context(app):
                pass
    finally:
        plain.stop("immediate")


async def test_aws_source_fails_naming_a_secret_that_does_not_exist(
    aws: AwsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The secret is read by its ARN from Secrets Manager before any connection: a wrong ARN stops start-up
    with Secrets Manager's own error."""
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-secret-AbCdEf"
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app(make_settings("", DB_HOST="127.0.0.1", DB_PORT=9, DB_SECRET_ARN=missing))
    with pytest.raises(Exception, match="ResourceNotFoundException"):
        async with app.router.lifespan_context(app):
            pass
