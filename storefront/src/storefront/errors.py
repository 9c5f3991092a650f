"""Domain errors: each class carries the HTTP status and the stable error code clients see, once.

A subclass states them as class keywords (`class CartEmpty(Conflict, code="cart_empty", message=...)`), so
the code a client branches on is written in exactly one place and raised by name.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An expected failure that maps to a 4xx/503 response with the error shape."""

    status = 400
    code = "bad_request"
    default_message = "bad request"

    def __init_subclass__(
        cls, *, status: int | None = None, code: str | None = None, message: str | None = None, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.status = status or cls.status
        cls.code = code or cls.code
        cls.default_message = message or cls.default_message

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class MalformedJson(AppError, code="malformed_json", message="request body is not valid JSON"):
    """The body is not JSON at all (a body that is JSON but does not fit is `Invalid`)."""


class NotFound(AppError, status=404, code="not_found", message="not found"):
    """No such product, cart or order."""


class Conflict(AppError, status=409, code="conflict", message="conflict"):
    """The request is well-formed but the current state forbids it."""


class OutOfStock(Conflict, code="out_of_stock", message="not enough stock"):
    """A cart line asks for more than is left."""


class CartCheckedOut(Conflict, code="cart_checked_out", message="cart has already been ordered"):
    """The cart was ordered (by this key or another): it changes no more."""


class CartEmpty(Conflict, code="cart_empty", message="cart is empty"):
    """An order needs at least one line."""


class CurrencyMismatch(Conflict, code="currency_mismatch", message="a cart holds products of one currency"):
    """An order is totalled in one currency."""


class IdempotencyKeyReused(
    Conflict, code="idempotency_key_reused", message="Idempotency-Key was already used for a different cart"
):
    """A key names one order of one cart."""


class KeyInProgress(Conflict, code="retry", message="a concurrent request with this key is in progress; retry"):
    """The key's concurrent holder rolled back after all: a retry will succeed."""


class SkuExists(Conflict, code="sku_exists", message="a product with this sku already exists"):
    """SKUs are unique."""


class Invalid(AppError, status=422, code="validation_error", message="invalid request"):
    """A path, query, header or body value out of its documented range."""


class InvalidCursor(Invalid, code="invalid_cursor", message="cursor is not valid"):
    """A tampered or foreign pagination cursor."""


class Unauthorized(AppError, status=401, code="unauthorized", message="unauthorized"):
    """No or a wrong admin bearer token."""


class Forbidden(AppError, status=403, code="forbidden", message="forbidden"):
    """The caller may not do this."""


class AdminDisabled(Forbidden, code="admin_disabled", message="admin API is disabled: no admin token is configured"):
    """No admin token is configured, so no token can match."""
