"""Request parsing for the routes: path, query, header and JSON body, each failure a 4xx AppError.

Bodies are validated by pydantic straight from the raw bytes (`model_validate_json`, parsed in Rust);
path and query values by small explicit functions, with the limits `domain.limits` holds (the OpenAPI
operations beside each route state the same ones).
"""

from __future__ import annotations

import hmac
import re
import uuid
from typing import TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from storefront.domain.limits import (
    DEFAULT_LIMIT,
    IDEMPOTENCY_KEY_CHARS,
    MAX_ID,
    MAX_ID_DIGITS,
    MAX_IDEMPOTENCY_KEY,
    MAX_LIMIT,
    text_problem,
)
from storefront.errors import AdminDisabled, Invalid, MalformedJson, Unauthorized

M = TypeVar("M", bound=BaseModel)

_IDEMPOTENCY_KEY = re.compile(f"^{IDEMPOTENCY_KEY_CHARS}{{1,{MAX_IDEMPOTENCY_KEY}}}$")


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
            raise MalformedJson from None
        raise Invalid(_describe(exc)) from None


def product_id(request: Request, name: str = "product_id") -> int:
    return id_value(request.path_params[name], f"path.{name}")


def id_value(raw: str, where: str) -> int:
    """A product id (1 to the bigint maximum) from its decimal text; `where` names it in the 422."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > MAX_ID_DIGITS or not 1 <= int(raw) <= MAX_ID:
        raise Invalid(f"{where}: must be an integer between 1 and {MAX_ID}")
    return int(raw)


def uuid_param(request: Request, name: str) -> uuid.UUID:
    raw: str = request.path_params[name]
    try:
        if len(raw) != 36:
            raise ValueError
        return uuid.UUID(raw)
    except ValueError:
        raise Invalid(f"path.{name}: must be a UUID") from None


def query(query_string: bytes) -> dict[str, str]:
    """The query string's parameters, the last of repeated ones winning: as Starlette's `query_params`
    reads them (latin-1 bytes, percent-decoded as UTF-8, blank values kept), without its multi-dict."""
    text = query_string.decode("latin-1")
    if "%" in text or "+" in text:
        return dict(parse_qsl(text, keep_blank_values=True))
    # Nothing to decode (the catalog's usual `limit=20&cursor=...`): parse_qsl's split, at a third of its cost.
    return {name: value for name, _, value in (field.partition("=") for field in text.split("&") if field)}


# The most digits an allowed `limit` has.
LIMIT_DIGITS = len(str(MAX_LIMIT))


def limit(raw: str | None) -> int:
    """The `limit` query value: a page size from 1 to MAX_LIMIT, DEFAULT_LIMIT when absent."""
    if raw is None:
        return DEFAULT_LIMIT
    # Length first: int() of a string of more than 4,300 digits raises (CPython's conversion limit).
    if len(raw) > LIMIT_DIGITS or not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise Invalid(f"query.limit: must be an integer between 1 and {MAX_LIMIT}")
    return int(raw)


def optional_text(raw: str | None, name: str, max_length: int) -> str | None:
    """A free-text query value PostgreSQL can hold, at most `max_length` characters; None when absent."""
    if raw is None:
        return None
    if len(raw) > max_length:
        raise Invalid(f"query.{name}: at most {max_length} characters")
    problem = text_problem(raw)
    if problem is not None:
        raise Invalid(f"query.{name}: {problem}")
    return raw


def idempotency_key(request: Request) -> str:
    key = request.headers.get("idempotency-key")
    if key is None:
        raise Invalid("header.Idempotency-Key: Field required")
    if not _IDEMPOTENCY_KEY.match(key):
        raise Invalid(f"header.Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters")
    return key


def require_admin(request: Request) -> None:
    """403 when no admin token is configured; 401 unless the bearer token matches (constant time)."""
    expected: bytes | None = request.app.state.admin_token
    if expected is None:
        raise AdminDisabled
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing bearer token")
    if not hmac.compare_digest(token.strip().encode("utf-8", "surrogateescape"), expected):
        raise Unauthorized("invalid bearer token")
