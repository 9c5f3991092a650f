"""The ASGI application: routes, error handlers, middleware, and the pool's lifespan.

Why Starlette and not FastAPI (measured on this machine, in-process, per request, CPU time): a FastAPI
0.165 route with one path parameter costs 40-50 us before any work (a dependency adds ~10 us), a plain
route inside a FastAPI app 23 us, the same route in a bare Starlette app 8 us. The bare baseline's whole
GET /api/products/{id} (asyncpg + orjson) is ~55 us, so FastAPI's overhead alone would cap the catalog
reads near 60% of the baseline. So: Starlette routing, pydantic models validating bodies straight from
bytes (`model_validate_json`), explicit parameter parsing, orjson responses, pure ASGI middleware, and an
OpenAPI document built from the same models and routes (api/openapi.py) for clients and the schemathesis test.
bench/RESULTS.md has the end-to-end figures.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from storefront.api import carts, errors, health, openapi, orders, products
from storefront.api.middleware import EdgeMiddleware, flush_access_lines
from storefront.db import migrate
from storefront.db.source import PoolFactory, default_pool_factory
from storefront.settings import Settings, check_admin_token, get_settings

logger = logging.getLogger("storefront")

# storefront/web in a source checkout: src/storefront/app.py -> ../../web
_DEFAULT_STATIC = Path(__file__).resolve().parents[2] / "web"
_POOL_CLOSE_TIMEOUT = 10.0


def resolve_admin_token(settings: Settings) -> bytes | None:
    """The admin token: the environment wins, else the Secrets Manager secret, else none (admin 403)."""
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value().encode()
    if settings.admin_token_secret_arn:
        from storefront.aws import read_admin_token

        token = read_admin_token(settings.admin_token_secret_arn)
        check_admin_token(token)  # same strength rules as the env var; the message never holds the value
        return token.encode()
    return None


def _freeze_startup_objects() -> None:
    """Move everything alive after start-up (modules, classes, pydantic schemas: ~40,000 objects) out of the
    collector's reach, so a full collection scans only what requests created since.

    Measured under the read benchmark: a full (generation 2) collection of the unfrozen heap took 14-21 ms
    of CPU, stalling every request in flight, a few times a minute; after the freeze, 0.4 ms. Start-up
    objects live as long as the process, so freezing them frees nothing that would have been collected.
    """
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, *, pool_factory: PoolFactory | None = None) -> Starlette:
    """The service. Tests pass their own settings and pool factory; production reads the environment."""
    settings = settings or get_settings()
    make_pool = pool_factory or default_pool_factory(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.admin_token = resolve_admin_token(settings)
        pool = await make_pool()
        try:
            if settings.migrate_on_start:
                async with pool.acquire() as conn:
                    applied = await migrate.apply(conn, settings.migrations_dir or migrate.DEFAULT_DIR)
                if applied:
                    logger.info("migrations applied", extra={"migrations": applied})
            app.state.pool = pool
            _freeze_startup_objects()
            logger.info("storefront ready", extra={"pool_max_size": settings.pool_max_size})
            yield
        finally:
            # The server has drained in-flight requests by now (graceful shutdown); close the pool.
            try:
                await asyncio.wait_for(pool.close(), _POOL_CLOSE_TIMEOUT)
            except TimeoutError:
                pool.terminate()
            flush_access_lines()  # the drained requests' lines, before the closing line
            logger.info("database pool closed")

    # The catalog reads (the hot path) are routed here too, for HEAD; EdgeMiddleware answers their GETs.
    api_routes: list[BaseRoute] = [*products.ROUTES, *health.ROUTES, *carts.ROUTES, *orders.ROUTES]
    routes = [*api_routes, openapi.route(api_routes)]
    static_dir = settings.static_dir or _DEFAULT_STATIC
    if static_dir.is_dir():
        routes.append(Mount("/", app=StaticFiles(directory=static_dir, html=True), name="web"))
    edge = partial(
        EdgeMiddleware,
        max_bytes=settings.max_body_bytes,
        access_log=settings.access_log,
        fast_reads=products.CATALOG_READS,
    )
    app = _Storefront(edge, routes=routes, lifespan=lifespan)
    app.state.catalog_cache_control = settings.catalog_cache_control.encode()
    errors.install(app)
    return app


class _Storefront(Starlette):
    """Starlette with EdgeMiddleware around its whole stack, outside even the error layer that answers 500s.

    So every answer, a 500 too, carries the request id and has its access line, and the catalog reads'
    fast lane (see EdgeMiddleware) passes through no Starlette layer: the error layer alone wraps `send` in
    a closure for every message of every request.
    """

    def __init__(self, edge: Callable[[ASGIApp], EdgeMiddleware], **kwargs: Any) -> None:
        self._edge = edge
        super().__init__(**kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        return self._edge(super().build_middleware_stack())


def app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` / multi-worker serving: settings from the environment."""
    from storefront.log import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
