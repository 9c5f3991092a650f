"""Cart rules: carts are created empty, changed only while open, priced at current product prices."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from storefront.db import queries
from storefront.errors import CartCheckedOut, CurrencyMismatch, NotFound


async def create_cart(db: asyncpg.Pool) -> dict[str, Any]:
    cart_id = uuid.uuid4()
    await queries.insert_cart(db, cart_id)
    return {"id": cart_id, "items": [], "total_cents": 0}


async def _view(db: queries.Executor, cart_id: uuid.UUID) -> dict[str, Any]:
    lines = await queries.cart_lines(db, cart_id)
    items = [
        {"product_id": r["product_id"], "quantity": r["quantity"], "unit_price_cents": r["unit_price_cents"]}
        for r in lines
    ]
    total = sum(r["quantity"] * r["unit_price_cents"] for r in lines)
    return {"id": cart_id, "items": items, "total_cents": total}


async def get_cart(db: asyncpg.Pool, cart_id: uuid.UUID) -> dict[str, Any]:
    if await queries.get_cart_status(db, cart_id) is None:
        raise NotFound(f"cart {cart_id} not found")
    return await _view(db, cart_id)


async def set_item(db: asyncpg.Pool, cart_id: uuid.UUID, product_id: int, quantity: int) -> dict[str, Any]:
    """Set a line's quantity (0 removes it) on an open cart, atomically with the cart's lock."""
    async with db.acquire() as conn, conn.transaction():
        status = await queries.get_cart_status(conn, cart_id, for_update=True)
        if status is None:
            raise NotFound(f"cart {cart_id} not found")
        if status != "open":
            raise CartCheckedOut
        if quantity == 0:
            await queries.delete_cart_item(conn, cart_id, product_id)
        else:
            product = await queries.get_product(conn, product_id)
            if product is None:
                raise NotFound(f"product {product_id} not found")
            lines = await queries.cart_lines(conn, cart_id)
            currencies = {r["currency"] for r in lines if r["product_id"] != product_id}
            if currencies and product["currency"] not in currencies:
                raise CurrencyMismatch
            await queries.upsert_cart_item(conn, cart_id, product_id, quantity)
        await queries.touch_cart(conn, cart_id)
        return await _view(conn, cart_id)


# Carts deleted per statement: each batch is its own short transaction, so the job never holds many locks.
EXPIRE_BATCH = 500


async def expire_abandoned_carts(db: asyncpg.Pool | queries.Connection, *, ttl_hours: int) -> int:
    """Delete open carts untouched for longer than `ttl_hours`; returns how many.

    Nothing goes back to stock: a cart never takes stock (an order does, in one transaction with the
    cart's checkout). Idempotent: a second run finds nothing older than the TTL. Safe to run twice at once:
    each batch skips carts another transaction holds (queries.EXPIRE_CARTS_SQL)."""
    expired = 0
    while True:
        deleted = await queries.expire_carts(db, ttl_hours=ttl_hours, batch=EXPIRE_BATCH)
        expired += deleted
        if deleted < EXPIRE_BATCH:
            return expired
