"""The OpenAPI 3.1 document of the contract, built once from the pydantic models and the route table.

It documents what the handlers do (the schemathesis test holds them to it): parameters with the same
limits `params.py` enforces, request bodies, every status a route can answer, all errors in one shape.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from storefront.api import params
from storefront.api.schemas import (
    MAX_ID,
    Cart,
    CartItemSet,
    ErrorResponse,
    Health,
    Order,
    OrderCreate,
    Product,
    ProductCreate,
    ProductPage,
    ProductUpdate,
)

_REQUESTS: list[type[BaseModel]] = [ProductCreate, ProductUpdate, CartItemSet, OrderCreate]
_RESPONSES: list[type[BaseModel]] = [Product, ProductPage, Cart, Order, Health, ErrorResponse]


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


_PRODUCT_ID = _path("product_id", {"type": "integer", "minimum": 1, "maximum": MAX_ID})
_CART_ID = _path("cart_id", {"type": "string", "format": "uuid"})
_ORDER_ID = _path("order_id", {"type": "string", "format": "uuid"})
_NO_NUL = "^[^\\x00]*$"
_LIST_QUERY = [
    {
        "name": "limit",
        "in": "query",
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": params.MAX_LIMIT,
            "default": params.DEFAULT_LIMIT,
        },
    },
    {
        "name": "cursor",
        "in": "query",
        "description": "Opaque: pass back the next_cursor of the previous page",
        "schema": {"type": "string", "maxLength": params.MAX_CURSOR, "pattern": _NO_NUL},
    },
    {
        "name": "q",
        "in": "query",
        "description": "Case-insensitive substring of name, sku or description",
        "schema": {"type": "string", "maxLength": params.MAX_QUERY, "pattern": _NO_NUL},
    },
]
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "Client-chosen key; retries with the same key return the same order",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[\\x21-\\x7e]+$"},
}


def _operation(
    summary: str,
    ok: tuple[int, type[BaseModel]],
    errors: tuple[int, ...],
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: type[BaseModel] | None = None,
    admin: bool = False,
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(ok[0]): {"description": "OK", "content": {"application/json": {"schema": _ref(ok[1])}}}
    }
    for status in errors:
        responses[str(status)] = {
            "description": "Error",
            "content": {"application/json": {"schema": _ref(ErrorResponse)}},
        }
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    if admin:
        op["security"] = [{"bearer": []}]
    return op


_BODY_ERRORS = (400, 413, 415, 422)


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    _, defs = models_json_schema(
        [(m, "validation") for m in _REQUESTS] + [(m, "serialization") for m in _RESPONSES],
        ref_template="#/components/schemas/{model}",
    )
    paths = {
        "/health": {"get": _operation("Liveness, no database", (200, Health), ())},
        "/health/ready": {"get": _operation("Readiness: the database answers", (200, Health), (503,))},
        "/api/products": {
            "get": _operation("List products (keyset pages)", (200, ProductPage), (422, 503), parameters=_LIST_QUERY),
            "post": _operation(
                "Create a product (admin)",
                (201, Product),
                (401, 403, 409, *_BODY_ERRORS, 503),
                body=ProductCreate,
                admin=True,
            ),
        },
        "/api/products/{product_id}": {
            "get": _operation("One product", (200, Product), (404, 422, 503), parameters=[_PRODUCT_ID]),
            "patch": _operation(
                "Change price, stock, name or description (admin)",
                (200, Product),
                (401, 403, 404, *_BODY_ERRORS, 503),
                parameters=[_PRODUCT_ID],
                body=ProductUpdate,
                admin=True,
            ),
        },
        "/api/carts": {"post": _operation("New empty cart", (201, Cart), (503,))},
        "/api/carts/{cart_id}": {
            "get": _operation("A cart with its lines and total", (200, Cart), (404, 422, 503), parameters=[_CART_ID])
        },
        "/api/carts/{cart_id}/items/{product_id}": {
            "put": _operation(
                "Set a line's quantity (0 removes it)",
                (200, Cart),
                (404, 409, *_BODY_ERRORS, 503),
                parameters=[_CART_ID, _PRODUCT_ID],
                body=CartItemSet,
            )
        },
        "/api/orders": {
            "post": _operation(
                "Place the cart's order, once per Idempotency-Key",
                (201, Order),
                (404, 409, *_BODY_ERRORS, 503),
                parameters=[_IDEMPOTENCY_KEY],
                body=OrderCreate,
            )
        },
        "/api/orders/{order_id}": {
            "get": _operation(
                "An order with its lines and total", (200, Order), (404, 422, 503), parameters=[_ORDER_ID]
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "TapStack storefront", "version": "1.0.0"},
        "paths": paths,
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
