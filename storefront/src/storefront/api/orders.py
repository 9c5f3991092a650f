"""Order routes: placement is idempotent per Idempotency-Key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from starlette.responses import Response

from storefront.api.deps import OrderId, Pool
from storefront.api.responses import documented, json_response
from storefront.api.schemas import Order, OrderCreate
from storefront.domain import orders

router = APIRouter(prefix="/api/orders", tags=["orders"])

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Client-chosen key; retries with the same key return the same order",
    ),
]


@router.post(
    "", response_model=Order, status_code=201, responses=documented(400, 404, 409, 413, 415, 422, 503)
)
async def place_order(pool: Pool, body: OrderCreate, idempotency_key: IdempotencyKey) -> Response:
    order, replayed = await orders.place_order(pool, body.cart_id, idempotency_key)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return json_response(order, 201, headers)


@router.get("/{order_id}", response_model=Order, responses=documented(404, 422, 503))
async def get_order(pool: Pool, order_id: OrderId) -> Response:
    return json_response(await orders.get_order(pool, order_id))
