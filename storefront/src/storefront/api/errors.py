"""Exception handlers: every error, ours or the framework's, leaves as {"error": {"code", "message"}}."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import asyncpg
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from storefront.api.responses import error_response
from storefront.errors import AppError, Unauthorized

logger = logging.getLogger("storefront.errors")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}

# Failures that mean "the database is not reachable right now", answered 503 so clients retry.
DATABASE_DOWN: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,  # class 08
    asyncpg.OperatorInterventionError,  # class 57: shutdown, cannot connect now, query canceled
    asyncpg.InsufficientResourcesError,  # class 53: too many connections
    asyncpg.InterfaceError,  # connection closed underneath us
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
    asyncio.TimeoutError,
)


def _app_error(exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return error_response(exc.status, exc.code, exc.message, headers)


def _http_error(exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, dict(exc.headers or {}))


def _database_down(exc: Exception) -> Response:
    logger.warning("database unavailable", extra={"error": type(exc).__name__})
    return error_response(
        503, "database_unavailable", "the database is unavailable; retry shortly", {"Retry-After": "1"}
    )


def _unexpected(exc: Exception) -> Response:
    logger.error("unhandled error", exc_info=exc)
    # no-store on any path: EdgeMiddleware adds it only under /api/.
    return error_response(500, "internal_error", "internal error", {"Cache-Control": "no-store"})


_HANDLERS: dict[type[Exception], Callable[[Exception], Response]] = {
    AppError: _app_error,
    HTTPException: _http_error,
    **dict.fromkeys(DATABASE_DOWN, _database_down),
    Exception: _unexpected,
}


def render(exc: Exception) -> Response:
    """The response for `exc`, found as Starlette finds a handler: the nearest class in its MRO.

    For the catalog reads answered ahead of Starlette's exception layers (EdgeMiddleware's fast lane).
    """
    handler = next(_HANDLERS[cls] for cls in type(exc).__mro__ if cls in _HANDLERS)  # Exception always is
    return handler(exc)


def _handle_in_starlette(handler: Callable[[Exception], Response]) -> Callable[..., Awaitable[Response]]:
    # A coroutine, since Starlette runs synchronous handlers in its thread pool.
    async def handle(request: Request, exc: Exception) -> Response:
        return handler(exc)

    return handle


def install(app: Starlette) -> None:
    for exc_type, handler in _HANDLERS.items():
        app.add_exception_handler(exc_type, _handle_in_starlette(handler))
