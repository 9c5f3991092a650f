"""Cart routes."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from storefront.api.deps import CartId, Pool, ProductId
from storefront.api.responses import documented, json_response
from storefront.api.schemas import Cart, CartItemSet
from storefront.domain import carts

router = APIRouter(prefix="/api/carts", tags=["carts"])


@router.post("", response_model=Cart, status_code=201, responses=documented(503))
async def create_cart(pool: Pool) -> Response:
    return json_response(await carts.create_cart(pool), 201)


@router.get("/{cart_id}", response_model=Cart, responses=documented(404, 422, 503))
async def get_cart(pool: Pool, cart_id: CartId) -> Response:
    return json_response(await carts.get_cart(pool, cart_id))


@router.put(
    "/{cart_id}/items/{product_id}",
    response_model=Cart,
    responses=documented(400, 404, 409, 413, 415, 422, 503),
)
async def set_cart_item(pool: Pool, cart_id: CartId, product_id: ProductId, body: CartItemSet) -> Response:
    return json_response(await carts.set_item(pool, cart_id, product_id, body.quantity))
