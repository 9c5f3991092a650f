"""The asyncpg connection pool and where its connections come from.

Three sources, chosen by settings: a DATABASE_URL; the AWS cluster endpoint plus the credentials secret
(TLS required); or the local embedded server (the CLI turns that into a DATABASE_URL). For the secret
source, a rejected password makes the connector re-read the secret once and retry, so a rotation takes
effect on the next new connection without a redeploy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg

logger = logging.getLogger("storefront.db")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


CredentialsReader = Callable[[], Awaitable[Credentials]]


class RotatingConnector:
    """An asyncpg `connect` replacement that refreshes credentials once when the password is rejected."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        database: str,
        read_credentials: CredentialsReader,
        ssl: Literal["require", "verify-ca", "verify-full"] | bool = "require",
        initial: Credentials | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._database = database
        self._read = read_credentials
        self._ssl = ssl
        # Credentials known at start (ECS-injected); None means read them from the secret first.
        self._credentials: Credentials | None = initial
        self._lock = asyncio.Lock()
        self.refreshes = 0

    async def _current(self) -> Credentials:
        async with self._lock:
            if self._credentials is None:
                self._credentials = await self._read()
            return self._credentials

    async def _refresh(self, rejected: Credentials) -> Credentials:
        async with self._lock:
            # Another connection attempt may already have refreshed them.
            if self._credentials is rejected or self._credentials is None:
                self._credentials = await self._read()
                self.refreshes += 1
                logger.warning("database password rejected; re-read the credentials secret")
            return self._credentials

    async def _connect(self, credentials: Credentials, kwargs: dict[str, Any]) -> asyncpg.Connection:
        return await asyncpg.connect(
            host=self._host,
            port=self._port,
            database=self._database,
            user=credentials.username,
            password=credentials.password,
            ssl=self._ssl,
            **kwargs,
        )

    async def __call__(self, *args: Any, **kwargs: Any) -> asyncpg.Connection:
        credentials = await self._current()
        try:
            return await self._connect(credentials, kwargs)
        except asyncpg.InvalidPasswordError:
            fresh = await self._refresh(credentials)
            return await self._connect(fresh, kwargs)


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Skip asyncpg's per-release reset round trip: the service keeps no session state on connections."""


@dataclass(frozen=True)
class PoolConfig:
    min_size: int = 2
    max_size: int = 10
    statement_timeout_ms: int = 5000
    acquire_timeout: float = 2.0  # seconds a request waits for a free connection (STOREFRONT_POOL_ACQUIRE_TIMEOUT)


class TimedPool(asyncpg.Pool):
    """A pool whose `acquire()` gives up after `acquire_timeout` seconds unless told otherwise.

    asyncpg waits without limit by default, also inside `pool.fetch()` and friends, so during an outage or a
    burst every request would queue for a connection until the client gave up. With the bound the wait ends
    in `TimeoutError`, which the service answers 503 `database_unavailable` with `Retry-After`
    (api/errors.py). The time to open a new connection counts too: asyncpg connects inside `acquire`.
    """

    acquire_timeout: float | None = None

    def acquire(self, *, timeout: float | None = None) -> Any:
        return super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)


async def create_pool(
    config: PoolConfig, *, dsn: str | None = None, connector: RotatingConnector | None = None
) -> TimedPool:
    """A pool over `dsn` or `connector` (exactly one), with server-side timeouts set per connection."""
    if (dsn is None) == (connector is None):
        raise ValueError("give exactly one of dsn or connector")
    server_settings = {
        "application_name": "storefront",
        "statement_timeout": str(config.statement_timeout_ms),
        "idle_in_transaction_session_timeout": str(max(config.statement_timeout_ms * 2, 10000)),
    }
    # asyncpg.create_pool's own body, with our class: it has no parameter for the pool class.
    pool = TimedPool(
        dsn,
        min_size=config.min_size,
        max_size=config.max_size,
        max_queries=50000,
        connect=connector,
        setup=None,
        init=None,
        reset=_no_reset,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        server_settings=server_settings,
        max_inactive_connection_lifetime=60.0,
    )
    pool.acquire_timeout = config.acquire_timeout
    await pool
    return pool
