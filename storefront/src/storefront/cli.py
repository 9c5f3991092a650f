"""`storefront` command line: serve, migrate, seed, expire-carts (a scheduled job), and run-local (embedded
PostgreSQL + seed + serve). Without a configured database each command runs against the embedded one."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator, Sequence

import asyncpg
from pydantic import ValidationError

from storefront.db.queries import Connection
from storefront.settings import Settings, describe_errors, get_settings

logger = logging.getLogger("storefront.cli")
LOCAL_DB = "storefront"
SEED_BATCH = 5000


@contextlib.contextmanager
def _embedded_database(settings: Settings) -> Iterator[str]:
    """Start (or reuse) the embedded server under the data dir; yields a URL; stops it if we started it."""
    from storefront.db.embedded import EmbeddedPostgres, installed

    if not installed():
        raise SystemExit(
            "storefront: no database configured (set DATABASE_URL, or DB_HOST and DB_SECRET_ARN); "
            "the embedded PostgreSQL for local runs is not installed here"
        )

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    server = EmbeddedPostgres(settings.data_dir / "pg")
    started_here = not server.running()
    logger.info("starting embedded PostgreSQL", extra={"pgdata": str(server.pgdata)})
    server.start()
    try:

        async def ensure_db() -> None:
            conn = await asyncpg.connect(server.superuser_url("postgres"))
            try:
                if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", LOCAL_DB):
                    await conn.execute(f'CREATE DATABASE "{LOCAL_DB}"')
            finally:
                await conn.close()

        asyncio.run(ensure_db())
        yield server.superuser_url(LOCAL_DB)
    finally:
        if started_here:
            logger.info("stopping embedded PostgreSQL")
            server.stop()


@contextlib.contextmanager
def _database_env(settings: Settings) -> Iterator[Settings]:
    """Settings with a usable database: embedded mode becomes a DATABASE_URL for this process and workers."""
    if settings.database_mode != "embedded":
        yield settings
        return
    with _embedded_database(settings) as url:
        os.environ["DATABASE_URL"] = url
        get_settings.cache_clear()
        try:
            yield get_settings()
        finally:
            os.environ.pop("DATABASE_URL", None)
            get_settings.cache_clear()


@contextlib.asynccontextmanager
async def _connection(settings: Settings) -> AsyncIterator[Connection]:
    """One connection from the configured source (the same code path as the service's pool)."""
    from storefront.db.source import default_pool_factory

    single = settings.model_copy(update={"pool_min_size": 1, "pool_max_size": 1})
    pool = await default_pool_factory(single)()
    try:
        async with pool.acquire() as conn:
            yield conn
    finally:
        await pool.close()


async def _migrate(settings: Settings) -> list[str]:
    from storefront.db import migrate

    async with _connection(settings) as conn:
        return await migrate.apply(conn, settings.migrations_dir or migrate.DEFAULT_DIR)


async def _seed(settings: Settings, count: int) -> int:
    from storefront import demo

    added = 0
    async with _connection(settings) as conn:
        # In batches, each with its own minute: the search index makes every inserted product cost about
        # 0.2-1 ms (more under load), past the service's per-statement timeout for a whole batch.
        await conn.execute("SET statement_timeout = '60s'")
        for first in range(1, count + 1, SEED_BATCH):
            batch = [demo.product(n) for n in range(first, min(first + SEED_BATCH - 1, count) + 1)]
            status: str = await conn.execute(
                """
                INSERT INTO products (sku, name, description, price_cents, currency, stock)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::integer[])
                ON CONFLICT (sku) DO NOTHING
                """,
                *([p[column] for p in batch] for column in demo.COLUMNS),
            )
            added += int(status.split()[-1])
    return added


async def _expire_carts(settings: Settings, ttl_hours: int) -> int:
    from storefront.domain.carts import expire_abandoned_carts

    async with _connection(settings) as conn:
        return await expire_abandoned_carts(conn, ttl_hours=ttl_hours)


class _Terminated(Exception):
    """SIGTERM/SIGINT after uvicorn's graceful shutdown: unwind so the embedded server is stopped too."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated(signum)


def _serve(settings: Settings, host: str, port: int, workers: int) -> None:
    from storefront import drain

    # uvicorn drains in-flight requests on SIGTERM (and, with drain's server and protocol, every connection
    # it accepted: answered or cleanly closed, never reset), runs the lifespan shutdown (closing the pool),
    # then re-raises the signal to the previous handler: ours, which unwinds through the `finally` blocks.
    signal.signal(signal.SIGTERM, _raise_terminated)
    signal.signal(signal.SIGINT, _raise_terminated)
    drain.serve(
        app="storefront.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=20,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storefront", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API (embedded PostgreSQL when no database is configured)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=None)
    sub.add_parser("migrate", help="apply pending schema migrations, then exit")
    seed = sub.add_parser("seed", help="add the first N products of the demo catalog (idempotent)")
    seed.add_argument("--products", type=int, default=50)
    expire = sub.add_parser("expire-carts", help="delete open carts untouched for longer than the TTL, then exit")
    expire.add_argument("--ttl-hours", type=int, default=None, help="default: STOREFRONT_CART_TTL_HOURS")
    local = sub.add_parser("run-local", help="embedded PostgreSQL + migrate + seed + serve")
    local.add_argument("--host", default="127.0.0.1")
    local.add_argument("--port", type=int, default=8000)
    local.add_argument("--products", type=int, default=50)
    return parser


def _run(args: argparse.Namespace, parser: argparse.ArgumentParser, settings: Settings, *, local: bool) -> None:
    """One command, with a database ready; `local`: the embedded one, which may be new (migrate it first)."""
    if args.command == "migrate":
        applied = asyncio.run(_migrate(settings))
        logger.info("migrations done", extra={"applied": applied})
    elif args.command == "seed":
        if args.products < 0 or args.products > 1_000_000:
            parser.error("--products must be between 0 and 1000000")
        asyncio.run(_migrate(settings))
        added = asyncio.run(_seed(settings, args.products))
        logger.info("seeded products", extra={"added": added})
    elif args.command == "expire-carts":
        ttl_hours = settings.cart_ttl_hours if args.ttl_hours is None else args.ttl_hours
        if not 1 <= ttl_hours <= 8760:
            parser.error("--ttl-hours must be between 1 and 8760")
        if local:
            asyncio.run(_migrate(settings))
        expired = asyncio.run(_expire_carts(settings, ttl_hours))
        logger.info("expired carts", extra={"expired": expired, "ttl_hours": ttl_hours})
    elif args.command == "serve":
        _serve(settings, args.host, args.port, args.workers or settings.workers)
    elif args.command == "run-local":
        asyncio.run(_migrate(settings))
        added = asyncio.run(_seed(settings, args.products))
        logger.info("seeded products", extra={"added": added})
        _serve(settings, args.host, args.port, 1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)

    from storefront.db.migrate import MigrationError
    from storefront.log import configure_logging

    try:
        base = get_settings()
    except ValidationError as exc:
        print(f"storefront: invalid configuration: {describe_errors(exc)}", file=sys.stderr)
        return 2
    configure_logging(base.log_level)
    try:
        with _database_env(base) as settings:
            _run(args, parser, settings, local=base.database_mode == "embedded")
    except _Terminated:
        return 0
    except MigrationError as exc:
        logger.error("migration failed", extra={"error": str(exc)})
        return 1
    except (OSError, asyncpg.PostgresError) as exc:
        logger.error("database error", extra={"error": f"{type(exc).__name__}: {exc}"})
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
