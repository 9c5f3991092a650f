"""The bench's bare baseline: a raw ASGI callable + asyncpg + orjson running the service's catalog queries.

`app`: no framework, no validation, no middleware, no logging: the ceiling the service is compared against.
`contract_app`: the same reads plus, inline and nothing else, what the service's contract requires of each
one: a request id (taken or made) echoed as X-Request-Id, one JSON access line on stdout (the service's
shape, batched the same way), a strong SHA-256 ETag, Cache-Control, 304 on If-None-Match, `limit` checked.
It is the floor any implementation of that contract pays over `app` on this server.
Same pool settings as the service (size, no per-release reset). Run both with the same server as the service.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sys
import time
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
_NOT_FOUND = b'{"error":{"code":"not_found","message":"not found"}}'
_BAD_LIMIT = b'{"error":{"code":"validation_error","message":"query.limit: must be 1..100"}}'


async def _no_reset(conn: asyncpg.Connection) -> None:
    return None


async def _send(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _JSON})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Any, send: Any) -> None:
    global _pool
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


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
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
            await _send(send, 404, _NOT_FOUND)
        else:
            await _send(send, 200, orjson.dumps(dict(row)))
    else:
        await _send(send, 404, _NOT_FOUND)


# The contract's duties written out here, not imported from the service: the floor must not move when
# the service's code does, or "vs contract floor" would hide a regression.
_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
_CACHE_CONTROL = b"public, max-age=30, stale-while-revalidate=30"  # the service's default
_MAX_LIMIT = 100  # the service's
_pending: list[str] = []
_second = 0
_second_text = ""


def _flush() -> None:
    if _pending:
        lines = "".join(_pending)
        _pending.clear()
        sys.stdout.write(lines)


def _access_line(request_id: bytes, scope: dict[str, Any], status: int, start: float) -> None:
    global _second, _second_text
    now = time.time()
    second = int(now)
    if second != _second:
        _second, _second_text = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    if not _pending:
        asyncio.get_running_loop().call_later(0.01, _flush)
    _pending.append(
        f'{{"ts":"{_second_text}.{int((now - second) * 1000):03d}Z","level":"INFO","logger":"storefront.access",'
        f'"msg":"request","request_id":"{request_id.decode()}","method":"{scope["method"]}",'
        f'"path":{orjson.dumps(scope["path"]).decode()},"status":{status},'
        f'"duration_ms":{round((time.perf_counter() - start) * 1000, 3)}}}\n'
    )


async def _send_contract(send: Any, scope: dict[str, Any], status: int, body: bytes, request_id: bytes) -> int:
    if status != 200:
        headers = [(b"cache-control", b"no-store")]
    else:
        etag = b'"' + hashlib.sha256(body).digest()[:16].hex().encode() + b'"'
        headers = [(b"etag", etag), (b"cache-control", _CACHE_CONTROL)]
        for name, value in scope["headers"]:
            if name == b"if-none-match":
                if value == etag:
                    status, body = 304, b""
                break
    if status != 304:
        headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    headers.append((b"x-request-id", request_id))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status


async def contract_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    assert _pool is not None
    start = time.perf_counter()
    request_id = b""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            if _REQUEST_ID.match(value):
                request_id = value
            break
    request_id = request_id or os.urandom(16).hex().encode()
    path: str = scope["path"]
    if path == "/api/products":
        query = parse_qs(scope["query_string"].decode())
        limit = int(query.get("limit", ["20"])[0])
        if not 1 <= limit <= _MAX_LIMIT:
            status = await _send_contract(send, scope, 422, _BAD_LIMIT, request_id)
        else:
            rows = await _pool.fetch(LIST_SQL, 0, limit + 1)
            body = orjson.dumps({"items": [dict(r) for r in rows[:limit]], "next_cursor": None})
            status = await _send_contract(send, scope, 200, body, request_id)
    elif path.startswith("/api/products/"):
        row = await _pool.fetchrow(GET_SQL, int(path.rsplit("/", 1)[1]))
        body = _NOT_FOUND if row is None else orjson.dumps(dict(row))
        status = await _send_contract(send, scope, 404 if row is None else 200, body, request_id)
    else:
        status = await _send_contract(send, scope, 404, _NOT_FOUND, request_id)
    _access_line(request_id, scope, status, start)
