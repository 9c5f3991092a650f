"""Request parsing for the routes: path, query, header and JSON body, each failure a 4xx AppError.

Bodies are validated by pydantic straight from the raw bytes (`model_validate_json`, parsed in Rust);
path and query values by small explicit functions whose limits the OpenAPI document repeats.
"""

from __future__ import annotations

import hmac
import re
import uuid
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from storefront.api.schemas import MAX_ID
from storefront.errors import AppError, Forbidden, Invalid, Unauthorized

M = TypeVar("M", bound=BaseModel)

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_CURSOR = 200
MAX_QUERY = 100
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False)[:5]:
        loc = ".".join(str(p) for p in error.get("loc", ())) or "body"
        parts.append(f"{loc}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request body"


async def json_body(request: Request, model: type[M]) -> M:
    """The body as `model`: 400 when it is not JSON at all, 422 when it does not fit the model."""
    body = await request.body()
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        if any(e.get("type") == "json_invalid" for e in exc.errors(include_url=False)):
            raise AppError("request body is not valid JSON", code="malformed_json") from None
        raise Invalid(_describe(exc)) from None


def product_id(request: Request, name: str = "product_id") -> int:
    raw: str = request.path_params[name]
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or not 1 <= int(raw) <= MAX_ID:
        raise Invalid(f"path.{name}: must be an integer between 1 and {MAX_ID}")
    return int(raw)


def uuid_param(request: Request, name: str) -> uuid.UUID:
    raw: str = request.path_params[name]
    try:
        if len(raw) != 36:
            raise ValueError
        return uuid.UUID(raw)
    except ValueError:
        raise Invalid(f"path.{name}: must be a UUID") from None


def _text(value: str, name: str, max_length: int) -> str:
    if len(value) > max_length:
        raise Invalid(f"query.{name}: at most {max_length} characters")
    if "\x00" in value:
        raise Invalid(f"query.{name}: must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(f"query.{name}: must be valid Unicode text") from None
    return value


def limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise Invalid(f"query.limit: must be an integer between 1 and {MAX_LIMIT}")
    return int(raw)


def optional_text(request: Request, name: str, max_length: int) -> str | None:
    raw = request.query_params.get(name)
    return None if raw is None else _text(raw, name, max_length)


def idempotency_key(request: Request) -> str:
    key = request.headers.get("idempotency-key")
    if key is None:
        raise Invalid("header.Idempotency-Key: Field required")
    if not IDEMPOTENCY_KEY.match(key):
        raise Invalid("header.Idempotency-Key: 1 to 200 printable ASCII characters")
    return key


def require_admin(request: Request) -> None:
    """403 when no admin token is configured; 401 unless the bearer token matches (constant time)."""
    expected: bytes | None = request.app.state.admin_token
    if expected is None:
        raise Forbidden("admin API is disabled: no admin token is configured", code="admin_disabled")
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token")
    if not hmac.compare_digest(token.strip().encode("utf-8", "surrogateescape"), expected):
        raise Unauthorized("invalid bearer token")
