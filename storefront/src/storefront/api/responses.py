"""JSON responses encoded with orjson straight from plain dicts (no second validation pass)."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.responses import Response

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
