"""Cart routes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from storefront.api import params
from storefront.api.responses import json_response
from storefront.api.schemas import CartItemSet
from storefront.domain import carts


async def create_cart(request: Request) -> Response:
    return json_response(await carts.create_cart(request.app.state.pool), 201)


async def get_cart(request: Request) -> Response:
    return json_response(await carts.get_cart(request.app.state.pool, params.uuid_param(request, "cart_id")))


async def set_cart_item(request: Request) -> Response:
    cart_id = params.uuid_param(request, "cart_id")
    product_id = params.product_id(request)
    body = await params.json_body(request, CartItemSet)
    return json_response(await carts.set_item(request.app.state.pool, cart_id, product_id, body.quantity))
