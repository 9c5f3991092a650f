"""The bench's bare baseline: a raw ASGI callable + asyncpg + orjson running the service's catalog queries.

No framework, no validation, no middleware, no logging: the ceiling the service is compared against.
Same pool settings as the service (size, no per-release reset). Run it with the same server as the service.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs

import asyncpg
import orjson

LIST_SQL = (
    "SELECT id, sku, name, description, price_cents, currency, stock FROM products WHERE id > $1 ORDER BY id LIMIT $2"
)
GET_SQL = "SELECT id, sku, name, description, price_cents, currency, stock FROM products WHERE id = $1"
_pool: asyncpg.Pool | None = None
_JSON = [(b"content-type", b"application/json")]


async def _no_reset(conn: asyncpg.Connection) -> None:
    return None


async def _send(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _JSON})
    await send({"type": "http.response.body", "body": body})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _pool
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                _pool = await asyncpg.create_pool(
                    os.environ["DATABASE_URL"],
                    min_size=int(os.environ.get("STOREFRONT_POOL_MIN_SIZE", "2")),
                    max_size=int(os.environ.get("STOREFRONT_POOL_MAX_SIZE", "10")),
                    reset=_no_reset,
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if _pool is not None:
                    await _pool.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
    assert _pool is not None
    path: str = scope["path"]
    if path == "/api/products":
        query = parse_qs(scope["query_string"].decode())
        limit = int(query.get("limit", ["20"])[0])
        rows = await _pool.fetch(LIST_SQL, 0, limit + 1)
        items = [dict(r) for r in rows[:limit]]
        await _send(send, 200, orjson.dumps({"items": items, "next_cursor": None}))
    elif path.startswith("/api/products/"):
        row = await _pool.fetchrow(GET_SQL, int(path.rsplit("/", 1)[1]))
        if row is None:
            await _send(send, 404, b'{"error":{"code":"not_found","message":"not found"}}')
        else:
            await _send(send, 200, orjson.dumps(dict(row)))
    else:
        await _send(send, 404, b'{"error":{"code":"not_found","message":"not found"}}')
