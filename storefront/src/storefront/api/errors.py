"""Exception handlers: every error, ours or the framework's, leaves as {"error": {"code", "message"}}."""

from __future__ import annotations

import asyncio
import logging

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


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    return error_response(exc.status, exc.code, exc.message, headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, dict(exc.headers or {}))


async def _database_down(request: Request, exc: Exception) -> Response:
    logger.warning("database unavailable", extra={"error": type(exc).__name__})
    return error_response(
        503, "database_unavailable", "the database is unavailable; retry shortly", {"Retry-After": "1"}
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    logger.error("unhandled error", exc_info=exc)
    # Answered outside EdgeMiddleware (Starlette's outermost layer), so it states no-store itself.
    return error_response(500, "internal_error", "internal error", {"Cache-Control": "no-store"})


def install(app: Starlette) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(HTTPException, _http_error)
    for exc_type in DATABASE_DOWN:
        app.add_exception_handler(exc_type, _database_down)
    app.add_exception_handler(Exception, _unexpected)
