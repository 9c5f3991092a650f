"""Cart routes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from storefront.api import params
from storefront.api.openapi import BODY_ERRORS, PRODUCT_ID, ApiRoute, uuid_parameter
from storefront.api.responses import json_response
from storefront.api.schemas import Cart, CartItemSet
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


_CART_ID = uuid_parameter("cart_id")

ROUTES: tuple[ApiRoute, ...] = (
    ApiRoute("/api/carts", create_cart, "POST", summary="New empty cart", ok=(201, Cart), errors=(503,)),
    ApiRoute(
        "/api/carts/{cart_id}",
        get_cart,
        "GET",
        summary="A cart with its lines and total",
        ok=(200, Cart),
        errors=(404, 422, 503),
        parameters=[_CART_ID],
    ),
    ApiRoute(
        "/api/carts/{cart_id}/items/{product_id}",
        set_cart_item,
        "PUT",
        summary="Set a line's quantity (0 removes it)",
        ok=(200, Cart),
        errors=(404, 409, *BODY_ERRORS, 503),
        parameters=[_CART_ID, PRODUCT_ID],
        body=CartItemSet,
    ),
)
