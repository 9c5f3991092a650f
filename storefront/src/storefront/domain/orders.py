"""Order placement: one transaction that takes stock for every line or for none.

Rules, all enforced inside PostgreSQL:
- the cart row is locked first, so retries of one cart are serialised;
- stock is taken by a conditional UPDATE (`stock >= quantity`) backed by `CHECK (stock >= 0)`;
  products are locked in id order, so concurrent orders cannot deadlock;
- the Idempotency-Key is UNIQUE: a concurrent insert with the same key waits for the first transaction,
  then finds the key taken; the request then returns that order (same cart) or a 409 (other cart).
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from storefront.db import queries
from storefront.db.queries import Connection, Executor, Row
from storefront.errors import (
    CartCheckedOut,
    CartEmpty,
    CurrencyMismatch,
    IdempotencyKeyReused,
    KeyInProgress,
    NotFound,
    OutOfStock,
)


class _KeyTaken(Exception):
    """The idempotency key was committed by a concurrent transaction; roll back and look it up."""


async def _order_of_key(db: Executor, order_id: uuid.UUID, key_cart_id: uuid.UUID, cart_id: uuid.UUID) -> Row:
    """The order a key already placed, provided the key was used for this cart."""
    if key_cart_id != cart_id:
        raise IdempotencyKeyReused
    order = await queries.get_order(db, order_id)
    assert order is not None
    return order


async def _look_up_key(db: Executor, key: str, cart_id: uuid.UUID) -> Row | None:
    """The order a key placed, read with a fresh snapshot; None when no order holds the key."""
    found = await queries.find_order_by_key(db, key)
    if found is None:
        return None
    return await _order_of_key(db, found["id"], found["cart_id"], cart_id)


async def _replay(conn: Connection, cart_id: uuid.UUID, key: str) -> Row | None:
    """Lock the cart; the order this key already placed for it, or None when the cart can be ordered now."""
    cart = await queries.lock_cart_and_find_key(conn, cart_id, key)
    if cart is None:
        raise NotFound(f"cart {cart_id} not found")
    if cart["order_id"] is not None:
        return await _order_of_key(conn, cart["order_id"], cart["order_cart_id"], cart_id)
    if cart["status"] != "open":
        # If the lock waited for the transaction that ordered this cart, the join above still saw the
        # snapshot from before its commit: look the key up again with a fresh one.
        previous = await _look_up_key(conn, key, cart_id)
        if previous is None:
            raise CartCheckedOut
        return previous
    return None


async def _record(conn: Connection, cart_id: uuid.UUID, key: str) -> dict[str, Any]:
    """Take stock for every line of the locked cart and record the order; raises _KeyTaken when a
    concurrent transaction committed the key first (then nothing was written)."""
    wanted = await queries.lock_cart_products(conn, cart_id)
    if not wanted:
        raise CartEmpty
    taken = await queries.take_stock(conn, [w["product_id"] for w in wanted], [w["quantity"] for w in wanted])
    if len(taken) != len(wanted):
        short = sorted({w["product_id"] for w in wanted} - {t["product_id"] for t in taken})
        raise OutOfStock(f"not enough stock for product(s) {', '.join(map(str, short))}")
    currencies = {t["currency"] for t in taken}
    if len(currencies) != 1:
        raise CurrencyMismatch
    lines = [
        {"product_id": t["product_id"], "quantity": t["quantity"], "unit_price_cents": t["unit_price_cents"]}
        for t in sorted(taken, key=lambda t: t["product_id"])
    ]
    order_id = uuid.uuid4()
    total = sum(line["quantity"] * line["unit_price_cents"] for line in lines)
    currency = currencies.pop()
    created_at = await queries.record_order(
        conn, order_id=order_id, cart_id=cart_id, idempotency_key=key, total_cents=total, currency=currency, lines=lines
    )
    if created_at is None:
        raise _KeyTaken
    return {
        "id": order_id,
        "cart_id": cart_id,
        "status": "placed",
        "total_cents": total,
        "currency": currency,
        "created_at": created_at,
        "lines": lines,
    }


async def place_order(pool: asyncpg.Pool, cart_id: uuid.UUID, key: str) -> tuple[dict[str, Any], bool]:
    """Place the cart's order once per key; returns (order, replayed)."""
    async with pool.acquire() as conn:
        try:
            async with conn.transaction():
                previous = await _replay(conn, cart_id, key)
                if previous is not None:
                    return previous, True
                return await _record(conn, cart_id, key), False
        except _KeyTaken:
            previous = await _look_up_key(conn, key, cart_id)
            if previous is None:  # the key's holder rolled back after all: a retry will succeed
                raise KeyInProgress from None
            return previous, True
        except asyncpg.UniqueViolationError:
            # orders_cart_unique: another key ordered this cart in a concurrent transaction.
            raise CartCheckedOut from None


async def get_order(db: queries.Executor, order_id: uuid.UUID) -> dict[str, Any]:
    order = await queries.get_order(db, order_id)
    if order is None:
        raise NotFound(f"order {order_id} not found")
    return order
