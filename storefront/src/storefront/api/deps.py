"""Dependencies shared by routers, as Annotated aliases."""

from __future__ import annotations

import hmac
import uuid
from typing import Annotated

import asyncpg
from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from storefront.api.schemas import MAX_ID
from storefront.errors import Forbidden, Unauthorized


async def _pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


_bearer = HTTPBearer(auto_error=False, description="The admin token")


async def _require_admin(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Admin routes: 403 when no token is configured, 401 unless the bearer token matches (constant time)."""
    expected: bytes | None = request.app.state.admin_token
    if expected is None:
        raise Forbidden("admin API is disabled: no admin token is configured", code="admin_disabled")
    if credentials is None:
        raise Unauthorized("missing bearer token")
    if not hmac.compare_digest(credentials.credentials.encode("utf-8", "surrogateescape"), expected):
        raise Unauthorized("invalid bearer token")


Pool = Annotated[asyncpg.Pool, Depends(_pool)]
Admin = Depends(_require_admin)
ProductId = Annotated[int, Path(ge=1, le=MAX_ID, description="Product id")]
CartId = Annotated[uuid.UUID, Path(description="Cart id")]
OrderId = Annotated[uuid.UUID, Path(description="Order id")]
