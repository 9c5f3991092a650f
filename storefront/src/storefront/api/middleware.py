"""Pure ASGI middleware: request id + one JSON access-log line per request, and the body size limit."""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from starlette.convertors import StringConvertor
from starlette.exceptions import HTTPException
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storefront.api import errors
from storefront.api.responses import CacheableRead, Headers

_ACCESS_LOGGER = "storefront.access"
_access = logging.getLogger(_ACCESS_LOGGER)


_ts_second = -1
_ts_prefix = ""
_pending: list[str] = []


# How long a line may wait for the write that takes it: short enough that logs read as live, long enough
# that under load one write syscall carries many lines instead of one.
FLUSH_INTERVAL = 0.01


def flush_access_lines() -> None:
    """Write the queued lines now (the queue's timer does it by itself; shutdown and tests call this)."""
    if _pending:
        lines = "".join(_pending)
        _pending.clear()
        sys.stdout.write(lines)


atexit.register(flush_access_lines)


def _emit(line: str) -> None:
    """Queue a line; the queue is written in one write at most FLUSH_INTERVAL later.

    With PYTHONUNBUFFERED (as in the container) every write is a syscall. Flushing once per event-loop
    iteration still cost one write per request or two when each iteration finishes few requests; a short
    timer makes it one write per many requests under load, one per request when idle.
    """
    if not _pending:
        try:
            asyncio.get_running_loop().call_later(FLUSH_INTERVAL, flush_access_lines)
        except RuntimeError:  # no loop (called from sync code): write at once
            sys.stdout.write(line)
            return
    _pending.append(line)


def write_access_line(request_id: str, method: str, path: str, status: int, duration_ms: float) -> None:
    """One JSON line per request, in the same shape as log.JsonFormatter's.

    Written straight to stdout rather than through `logging` (measured: the logging machinery cost
    ~35 us a request, a third of a catalog read), with the timestamp's second cached. `request_id` is
    validated or generated hex and `method` an HTTP token, so only the path needs JSON escaping.
    Honours the level set for `storefront.access` (set it to WARNING, or STOREFRONT_ACCESS_LOG=0, to silence).
    """
    global _ts_second, _ts_prefix
    if _access.disabled or not _access.isEnabledFor(logging.INFO):
        return
    now = time.time()
    second = int(now)
    if second != _ts_second:
        _ts_second, _ts_prefix = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    _emit(
        f'{{"ts":"{_ts_prefix}.{int((now - second) * 1000):03d}Z","level":"INFO","logger":"{_ACCESS_LOGGER}",'
        f'"msg":"request","request_id":"{request_id}","method":"{method}","path":{orjson.dumps(path).decode()},'
        f'"status":{status},"duration_ms":{duration_ms}}}\n'
    )


_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
Respond = Callable[[Scope], Awaitable[tuple[int, Headers, bytes]]]


# Under /api/ only the catalog reads set their own Cache-Control; carts, orders, admin writes and every
# error must never be stored by the edge or a browser.
_NO_STORE = (b"cache-control", b"no-store")
_TOO_LARGE = orjson.dumps({"error": {"code": "payload_too_large", "message": "request body is too large"}})
_NOT_JSON = orjson.dumps(
    {
        "error": {
            "code": "unsupported_media_type",
            "message": "send the body as Content-Type: application/json",
        }
    }
)


def _request_id(headers: list[tuple[bytes, bytes]]) -> bytes:
    """The caller's X-Request-Id when well-formed, else a new one."""
    for name, value in headers:
        if name == b"x-request-id":
            if _REQUEST_ID.match(value):
                return value
            break
    return os.urandom(16).hex().encode()  # as unique as a uuid4, a third of the cost


def _stamp(headers: list[tuple[bytes, bytes]], request_id: bytes, api: bool) -> None:
    """Add the request id, and under /api/ `no-store` unless the answer states its own Cache-Control."""
    if api:
        for name, _ in headers:
            if name == b"cache-control":
                break
        else:
            headers.append(_NO_STORE)
    headers.append((b"x-request-id", request_id))


class EdgeMiddleware:
    """Everything each request passes through first, in one pure ASGI layer (one layer: measured cheaper).

    - request id: honours a well-formed X-Request-Id, else makes one; returned on the response;
    - access log: one JSON line with request id, method, path, status, duration. Only the path is
      logged, never the query string, headers or body, so tokens cannot reach the logs;
    - caching: `Cache-Control: no-store` on every /api/ answer that states no policy of its own;
    - body guard: 413 for bodies over `max_bytes` (by Content-Length, or while streaming), 415 for
      bodies that are not JSON (every body this API takes is JSON);
    - fast lane: a GET for one of `fast_reads` (the catalog reads, the hot path) is answered here, straight
      from its `CacheableRead`, with errors rendered as the app's handlers render them (`errors.render`).
      Measured with the database stubbed out: Starlette's exception and routing layers and the
      Request/Response objects were 30-60 us of a catalog read, more than the read's own work.
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, access_log: bool = True, fast_reads: Sequence[Route] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # The most digits an allowed Content-Length has, worked out once rather than per request.
        self.max_length_digits = len(str(max_bytes))
        self.access_log = access_log
        self._fast: list[tuple[Callable[[str], re.Match[str] | None], Respond]] = []
        for route in fast_reads:
            endpoint = route.endpoint
            # Path parameters must stay strings (the reads parse them): a match's groups are the path_params.
            strings = all(isinstance(c, StringConvertor) for c in route.param_convertors.values())
            if not (isinstance(endpoint, CacheableRead) and route.methods == {"GET", "HEAD"} and strings):
                raise TypeError(f"{route.path}: a fast read is a GET CacheableRead with string path parameters")
            self._fast.append((route.path_regex.match, endpoint.respond))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = _request_id(scope["headers"])
        status = 500
        api = scope["path"].startswith("/api/")

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", ())]
                _stamp(headers, request_id, api)
                message["headers"] = headers
            await send(message)

        try:
            respond = self._fast_read(scope)
            if respond is not None:
                status = await _answer(respond, scope, send, request_id, api)
            elif scope["method"] in ("GET", "HEAD"):
                await self.app(scope, receive, send_with_id)
            else:
                guarded = await self._guard_body(scope, receive, send_with_id)
                if guarded is not None:
                    await self.app(scope, guarded, send_with_id)
        finally:
            if self.access_log:
                write_access_line(
                    request_id.decode(),
                    scope["method"],
                    scope["path"],
                    status,
                    round((time.perf_counter() - start) * 1000, 3),
                )

    def _fast_read(self, scope: Scope) -> Respond | None:
        """The fast read a GET is for, with its path parameters put in the scope; None for any other request."""
        if scope["method"] == "GET":
            path: str = scope["path"]
            for match_path, respond in self._fast:
                match = match_path(path)
                if match is not None:
                    scope["path_params"] = match.groupdict()
                    return respond
        return None

    async def _guard_body(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """A size-limited `receive`, or None after answering 413/415 itself."""
        has_body = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                # A length with more digits than any allowed one is too large, and is not converted: int()
                # refuses more than 4,300 digits, and a server in front may not have checked it.
                try:
                    length = int(value) if len(value) <= self.max_length_digits else self.max_bytes + 1
                except ValueError:
                    length = 0
                if length > self.max_bytes:
                    await _send_error(send, 413, _TOO_LARGE)
                    return None
                has_body = has_body or length > 0
            elif name == b"transfer-encoding":
                has_body = True
        if has_body:
            for name, value in scope["headers"]:
                if name == b"content-type":
                    media = value.split(b";", 1)[0].strip().lower()
                    if media != b"application/json" and not media.endswith(b"+json"):
                        await _send_error(send, 415, _NOT_JSON)
                        return None
        received = 0
        max_bytes = self.max_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise HTTPException(413, "request body is too large")
            return message

        return limited_receive


async def _send_error(send: Any, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _answer(respond: Respond, scope: Scope, send: Send, request_id: bytes, api: bool) -> int:
    """Send a fast read's answer, or the error response its failure maps to; its status."""
    try:
        status, headers, body = await respond(scope)
    except Exception as exc:
        response = errors.render(exc)
        status, headers, body = response.status_code, response.raw_headers, bytes(response.body)
    _stamp(headers, request_id, api)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status
