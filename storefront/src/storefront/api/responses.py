"""JSON responses encoded with orjson straight from plain dicts (no second validation pass), and the
cacheable catalog response with its validator."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import asyncpg
import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from storefront.api import params

_JSON = "application/json"


def _default(obj: Any) -> Any:
    # asyncpg returns its own UUID subclass, which orjson does not know; standard UUIDs it handles itself.
    if isinstance(obj, uuid.UUID):
        return str(obj)
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data, default=_default), status_code=status, media_type=_JSON, headers=headers)


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response({"error": {"code": code, "message": message}}, status, headers)


def _etag_matches(if_none_match: bytes, etag: bytes) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/ prefixes do not count."""
    if if_none_match.strip() == b"*":
        return True
    return any(candidate.strip().removeprefix(b"W/") == etag for candidate in if_none_match.split(b","))


Headers = list[tuple[bytes, bytes]]
# A catalog read: (pool, path parameters, query parameters) -> the JSON-able answer.
Read = Callable[[asyncpg.Pool, dict[str, str], dict[str, str]], Awaitable[Any]]


def cacheable_json(
    request_headers: Iterable[tuple[bytes, bytes]], data: Any, cache_control: bytes
) -> tuple[int, Headers, bytes]:
    """A 200 the edge may cache (`cache_control`) with a strong ETag of its exact bytes, or a 304 with no
    body when the request's If-None-Match already names those bytes: (status, headers, body).

    The ETag is the first 128 bits of the SHA-256 of the body that is serialized anyway; SHA-256 because
    CPUs hash it in hardware (x86 SHA extensions, ARMv8 crypto on Graviton): 1.8 us for a 3 KB page here,
    against 6 us for blake2b. It changes exactly when the bytes do, so no version column or clock is involved.
    """
    body = orjson.dumps(data, default=_default)
    etag = b'"' + hashlib.sha256(body).digest()[:16].hex().encode() + b'"'
    for name, value in request_headers:
        if name == b"if-none-match":
            if _etag_matches(value, etag):
                return 304, [(b"etag", etag), (b"cache-control", cache_control)], b""
            break
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(body)),
        (b"etag", etag),
        (b"cache-control", cache_control),
    ]
    return 200, headers, body


class CacheableRead:
    """A cacheable catalog read as a bare ASGI endpoint (no Request or Response objects).

    Starlette routes to it like to any endpoint (HEAD arrives that way), and EdgeMiddleware calls
    `respond` straight for GET, ahead of the routing and exception layers: measured, those layers and the
    Request/Response objects cost more per catalog read than the read's own work. Either way the answer is
    built here, once.
    """

    def __init__(self, read: Read) -> None:
        self.read = read

    async def respond(self, scope: Scope) -> tuple[int, Headers, bytes]:
        state = scope["app"].state
        data = await self.read(state.pool, scope["path_params"], params.query(scope["query_string"]))
        return cacheable_json(scope["headers"], data, state.catalog_cache_control)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status, headers, body = await self.respond(scope)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
