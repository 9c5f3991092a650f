"""The AWS database source: endpoint + credentials secret, TLS required (db/source.py, aws.py).

The secret is served by a fake `read_secret_string` function (what Secrets Manager would return). The
embedded PostgreSQL build has no TLS support, so the TLS handshake itself cannot be exercised here; what
is tested is the wiring, and that sslmode=require refuses a server without TLS instead of falling back.
Password rotation over the same connector is in test_resilience.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from storefront import aws
from storefront.app import create_app
from storefront.db import source
from storefront.db.embedded import EmbeddedPostgres
from storefront.db.pool import PoolConfig, RotatingConnector

from tests.storefront.conftest import make_settings

pytestmark = pytest.mark.anyio


async def _aws_connector(
    monkeypatch: pytest.MonkeyPatch, secret: dict[str, str], **env: object
) -> tuple[RotatingConnector, list[str]]:
    """The connector the AWS source builds from `env`, with the secret served by a fake Secrets Manager
    that records each ARN it is asked for."""
    reads: list[str] = []

    def fake_secrets_manager(secret_arn: str) -> str:
        reads.append(secret_arn)
        return json.dumps(secret)

    captured: dict[str, RotatingConnector] = {}

    async def fake_create_pool(config: PoolConfig, *, connector: RotatingConnector) -> str:
        captured["connector"] = connector
        return "pool"

    monkeypatch.setattr(aws, "read_secret_string", fake_secrets_manager)
    monkeypatch.setattr(source, "create_pool", fake_create_pool)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = make_settings("", **env)
    assert settings.database_mode == "aws"
    assert await source.default_pool_factory(settings)() == "pool"
    return captured["connector"], reads


async def test_aws_source_builds_a_tls_connector_from_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wiring: endpoint from DB_HOST/DB_PORT/DB_NAME, credentials from the secret, sslmode=require."""
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-credentials"
    connector, reads = await _aws_connector(
        monkeypatch,
        {"username": "app", "password": "from-the-secret", "engine": "postgres"},
        DB_HOST="cluster.example.internal",
        DB_PORT=5433,
        DB_NAME="shop",
        DB_SECRET_ARN=arn,
    )
    assert (connector._host, connector._port, connector._database, connector._ssl) == (
        "cluster.example.internal",
        5433,
        "shop",
        "require",
    )
    credentials = await connector._current()
    assert (credentials.username, credentials.password) == ("app", "from-the-secret")
    assert "from-the-secret" not in repr(credentials)
    assert reads == [arn]


async def test_injected_credentials_are_used_first_and_the_secret_only_after_a_rejection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ECS injects DB_USERNAME/DB_PASSWORD per field at task start: no Secrets Manager call until
    PostgreSQL rejects them, then one read of the secret by ARN (the rotated password)."""
    connector, reads = await _aws_connector(
        monkeypatch,
        {"username": "app", "password": "rotated"},
        DB_HOST="db.internal",
        DB_SECRET_ARN="arn:secret",
        DB_USERNAME="app",
        DB_PASSWORD="injected",
    )
    injected = await connector._current()
    assert (injected.username, injected.password, reads) == ("app", "injected", [])
    refreshed = await connector._refresh(injected)
    assert (refreshed.password, reads) == ("rotated", ["arn:secret"])


async def test_aws_source_refuses_a_server_without_tls(
    pg: EmbeddedPostgres, database: str, monkeypatch: pytest.MonkeyPatch, scratch: Path
) -> None:
    """sslmode=require: no fallback to plaintext, the start-up fails instead."""
    plain = EmbeddedPostgres(scratch / "plain", durable=False)
    plain.start()
    try:
        monkeypatch.setattr(aws, "read_secret_string", lambda arn: '{"username": "postgres", "password": "x"}')
        monkeypatch.delenv("DATABASE_URL", raising=False)
        settings = make_settings("", DB_HOST="127.0.0.1", DB_PORT=plain.port, DB_NAME="postgres", DB_SECRET_ARN="arn:x")
        app = create_app(settings)
        with pytest.raises(ConnectionError, match=r"(?i)ssl"):
            async with app.router.lifespan_context(app):
                pass
    finally:
        plain.stop("immediate")
