"""Liveness (no database) and readiness (the database answers) probes."""

from __future__ import annotations

import asyncpg
from starlette.requests import Request
from starlette.responses import Response

_OK = b'{"status":"ok"}'


async def health(request: Request) -> Response:
    return Response(_OK, media_type="application/json")


async def ready(request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    async with pool.acquire(timeout=1.0) as conn:
        await conn.fetchval("SELECT 1", timeout=1.0)
    return Response(_OK, media_type="application/json")
