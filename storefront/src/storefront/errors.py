"""Domain errors: each carries the HTTP status and the stable error code clients see."""

from __future__ import annotations


class AppError(Exception):
    """An expected failure that maps to a 4xx/503 response with the error shape."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class OutOfStock(Conflict):
    code = "out_of_stock"


class Invalid(AppError):
    status = 422
    code = "validation_error"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "forbidden"
