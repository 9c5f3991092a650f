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
from storefront.errors import Conflict, NotFound, OutOfStock


class _KeyTaken(Exception):
    """The idempotency key was committed by a concurrent transaction; roll back and look it up."""


async def _existing(db: queries.Executor, key: str, cart_id: uuid.UUID) -> dict[str, Any] | None:
    found = await queries.find_order_by_key(db, key)
    if found is None:
        return None
    if found["cart_id"] != cart_id:
        raise Conflict("Idempotency-Key was already used for a different cart", code="idempotency_key_reused")
    order = await queries.get_order(db, found["id"])
    assert order is not None
    return order


async def place_order(pool: asyncpg.Pool, cart_id: uuid.UUID, key: str) -> tuple[dict[str, Any], bool]:
    """Place the cart's order once per key; returns (order, replayed)."""
    async with pool.acquire() as conn:
        try:
            async with conn.transaction():
                cart = await queries.lock_cart_and_find_key(conn, cart_id, key)
                if cart is None:
                    raise NotFound(f"cart {cart_id} not found")
                if cart["order_id"] is not None:
                    if cart["order_cart_id"] != cart_id:
                        raise Conflict(
                            "Idempotency-Key was already used for a different cart",
                            code="idempotency_key_reused",
                        )
                    previous = await queries.get_order(conn, cart["order_id"])
                    assert previous is not None
                    return previous, True
                if cart["status"] != "open":
                    # If the lock waited for the transaction that ordered this cart, the join above still
                    # saw the snapshot from before its commit: look the key up again with a fresh one.
                    previous = await _existing(conn, key, cart_id)
                    if previous is not None:
                        return previous, True
                    raise Conflict("cart has already been ordered", code="cart_checked_out")
                wanted = await queries.lock_cart_products(conn, cart_id)
                if not wanted:
                    raise Conflict("cart is empty", code="cart_empty")
                taken = await queries.take_stock(
                    conn, [w["product_id"] for w in wanted], [w["quantity"] for w in wanted]
                )
                if len(taken) != len(wanted):
                    short = sorted({w["product_id"] for w in wanted} - {t["product_id"] for t in taken})
                    raise OutOfStock(f"not enough stock for product(s) {', '.join(map(str, short))}")
                currencies = {t["currency"] for t in taken}
                if len(currencies) != 1:
                    raise Conflict("a cart holds products of one currency", code="currency_mismatch")
                lines = sorted(taken, key=lambda t: t["product_id"])
                order_id = uuid.uuid4()
                total = sum(t["quantity"] * t["unit_price_cents"] for t in lines)
                currency = currencies.pop()
                created_at = await queries.record_order(
                    conn,
                    order_id=order_id,
                    cart_id=cart_id,
                    idempotency_key=key,
                    total_cents=total,
                    currency=currency,
                    lines=lines,
                )
                if created_at is None:
                    raise _KeyTaken
        except _KeyTaken:
            previous = await _existing(conn, key, cart_id)
            if previous is None:  # the key's holder rolled back after all: a retry will succeed
                raise Conflict("a concurrent request with this key is in progress; retry", code="retry") from None
            return previous, True
        except asyncpg.UniqueViolationError:
            # orders_cart_unique: another key ordered this cart in a concurrent transaction.
            raise Conflict("cart has already been ordered", code="cart_checked_out") from None
    order = {
        "id": order_id,
        "cart_id": cart_id,
        "status": "placed",
        "total_cents": total,
        "currency": currency,
        "created_at": created_at,
        "lines": [
            {
                "product_id": t["product_id"],
                "quantity": t["quantity"],
                "unit_price_cents": t["unit_price_cents"],
            }
            for t in lines
        ],
    }
    return order, False


async def get_order(db: queries.Executor, order_id: uuid.UUID) -> dict[str, Any]:
    order = await queries.get_order(db, order_id)
    if order is None:
        raise NotFound(f"order {order_id} not found")
    return order
