"""Where the service's connections come from: DATABASE_URL, or the AWS endpoint plus credentials secret."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg

from storefront.db.pool import Credentials, PoolConfig, RotatingConnector, create_pool
from storefront.settings import Settings

PoolFactory = Callable[[], Awaitable[asyncpg.Pool]]


def default_pool_factory(settings: Settings) -> PoolFactory:
    """Build the pool from the settings' database source (URL, or AWS endpoint + secret)."""
    config = PoolConfig(
        settings.pool_min_size, settings.pool_max_size, settings.statement_timeout_ms, settings.pool_acquire_timeout
    )

    async def factory() -> asyncpg.Pool:
        mode = settings.database_mode
        if mode == "url":
            assert settings.database_url is not None
            return await create_pool(config, dsn=settings.database_url.get_secret_value())
        if mode == "aws":
            from storefront.aws import database_credentials_reader

            assert settings.db_host is not None and settings.db_secret_arn is not None
            connector = RotatingConnector(
                host=settings.db_host,
                port=settings.db_port,
                database=settings.db_name,
                read_credentials=database_credentials_reader(settings.db_secret_arn),
                ssl=settings.db_sslmode,
                initial=(
                    Credentials(settings.db_username, settings.db_password.get_secret_value())
                    if settings.db_username and settings.db_password
                    else None
                ),
            )
            return await create_pool(config, connector=connector)
        raise RuntimeError(
            "no database configured: set DATABASE_URL (or DB_HOST and DB_SECRET_ARN), "
            "or start through `storefront serve`, which runs an embedded PostgreSQL locally"
        )

    return factory
