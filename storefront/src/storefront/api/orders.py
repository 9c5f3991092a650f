"""Order routes: placement is idempotent per Idempotency-Key."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from storefront.api import params
from storefront.api.openapi import BODY_ERRORS, ApiRoute, Parameter, uuid_parameter
from storefront.api.responses import json_response
from storefront.api.schemas import Order, OrderCreate
from storefront.domain import orders
from storefront.domain.limits import IDEMPOTENCY_KEY_CHARS, MAX_IDEMPOTENCY_KEY


async def place_order(request: Request) -> Response:
    key = params.idempotency_key(request)
    body = await params.json_body(request, OrderCreate)
    order, replayed = await orders.place_order(request.app.state.pool, body.cart_id, key)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return json_response(order, 201, headers)


async def get_order(request: Request) -> Response:
    order_id = params.uuid_param(request, "order_id")
    return json_response(await orders.get_order(request.app.state.pool, order_id))


_IDEMPOTENCY_KEY: Parameter = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "Client-chosen key; retries with the same key return the same order",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_IDEMPOTENCY_KEY,
        "pattern": f"^{IDEMPOTENCY_KEY_CHARS}+$",
    },
}

ROUTES: tuple[ApiRoute, ...] = (
    ApiRoute(
        "/api/orders",
        place_order,
        "POST",
        summary="Place the cart's order, once per Idempotency-Key",
        ok=(201, Order),
        errors=(404, 409, *BODY_ERRORS, 503),
        parameters=[_IDEMPOTENCY_KEY],
        body=OrderCreate,
    ),
    ApiRoute(
        "/api/orders/{order_id}",
        get_order,
        "GET",
        summary="An order with its lines and total",
        ok=(200, Order),
        errors=(404, 422, 503),
        parameters=[uuid_parameter("order_id")],
    ),
)
