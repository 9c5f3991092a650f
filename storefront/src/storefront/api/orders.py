"""Order routes: placement is idempotent per Idempotency-Key."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from storefront.api import params
from storefront.api.responses import json_response
from storefront.api.schemas import OrderCreate
from storefront.domain import orders


async def place_order(request: Request) -> Response:
    key = params.idempotency_key(request)
    body = await params.json_body(request, OrderCreate)
    order, replayed = await orders.place_order(request.app.state.pool, body.cart_id, key)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return json_response(order, 201, headers)


async def get_order(request: Request) -> Response:
    order_id = params.uuid_param(request, "order_id")
    return json_response(await orders.get_order(request.app.state.pool, order_id))
