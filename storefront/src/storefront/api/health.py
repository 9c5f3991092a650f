"""Liveness (no database) and readiness (the database answers) probes."""

from __future__ import annotations

import asyncpg
from starlette.requests import Request
from starlette.responses import Response

from storefront.api.openapi import ApiRoute
from storefront.api.schemas import Health

_OK = b'{"status":"ok"}'


async def health(request: Request) -> Response:
    return Response(_OK, media_type="application/json")


async def ready(request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire(timeout=1.0) as conn:
        await conn.fetchval("SELECT 1", timeout=1.0)
    return Response(_OK, media_type="application/json")


ROUTES: tuple[ApiRoute, ...] = (
    ApiRoute("/health", health, "GET", summary="Liveness, no database", ok=(200, Health)),
    ApiRoute("/health/ready", ready, "GET", summary="Readiness: the database answers", ok=(200, Health), errors=(503,)),
)
