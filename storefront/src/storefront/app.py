"""The ASGI application: routers, error handlers, middleware, and the pool's lifespan.

Why FastAPI and not bare Starlette: the OpenAPI schema it derives from the request/response models drives
the schemathesis fuzz test and documents the contract, and its validation gives the 422s for free. The
cost is kept off the hot read path: routes return pre-encoded orjson `Response`s (no response-model
validation pass), middleware is pure ASGI (no BaseHTTPMiddleware), dependencies are `async def` (no
threadpool hop), and the pool skips asyncpg's per-release reset. bench/RESULTS.md has the measurements.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from storefront.api import carts, errors, health, orders, products
from storefront.api.middleware import AccessLogMiddleware, BodyLimitMiddleware
from storefront.db import migrate
from storefront.db.source import PoolFactory, default_pool_factory
from storefront.settings import Settings, get_settings

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
        Settings.model_validate({"STOREFRONT_ADMIN_TOKEN": token})  # same strength rules as the env var
        return token.encode()
    return None


def create_app(settings: Settings | None = None, *, pool_factory: PoolFactory | None = None) -> FastAPI:
    """The service. Tests pass their own settings and pool factory; production reads the environment."""
    settings = settings or get_settings()
    make_pool = pool_factory or default_pool_factory(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.admin_token = resolve_admin_token(settings)
        pool = await make_pool()
        try:
            if settings.migrate_on_start:
                async with pool.acquire() as conn:
                    applied = await migrate.apply(conn, settings.migrations_dir or migrate.DEFAULT_DIR)
                if applied:
                    logger.info("migrations applied", extra={"migrations": applied})
            app.state.pool = pool
            logger.info("storefront ready", extra={"pool_max_size": settings.pool_max_size})
            yield
        finally:
            # The server has drained in-flight requests by now (graceful shutdown); close the pool.
            try:
                await asyncio.wait_for(pool.close(), _POOL_CLOSE_TIMEOUT)
            except TimeoutError:
                pool.terminate()
            logger.info("database pool closed")

    app = FastAPI(
        title="TapStack storefront",
        version="1.0.0",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    errors.install(app)
    for router in (health.router, products.router, carts.router, orders.router):
        app.include_router(router)

    static_dir = settings.static_dir or _DEFAULT_STATIC
    if static_dir.is_dir():
        app.mount("/", StaticFiles(directory=static_dir, html=True), name="web")

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessLogMiddleware, enabled=settings.access_log)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` / multi-worker serving: settings from the environment."""
    from storefront.log import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)
