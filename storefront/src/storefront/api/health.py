"""Liveness (no database) and readiness (the database answers) probes."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from storefront.api.deps import Pool
from storefront.api.responses import documented, json_response
from storefront.api.schemas import Health

router = APIRouter(tags=["health"])
_OK = b'{"status":"ok"}'


@router.get("/health", response_model=Health)
async def health() -> Response:
    return Response(_OK, media_type="application/json")


@router.get("/health/ready", response_model=Health, responses=documented(503))
async def ready(pool: Pool) -> Response:
    async with pool.acquire(timeout=1.0) as conn:
        await conn.fetchval("SELECT 1", timeout=1.0)
    return json_response({"status": "ok"})
