"""Catalog rules: keyset pagination with an opaque cursor, product creation and changes."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

import asyncpg
import orjson

from storefront.db import queries
from storefront.db.queries import Executor, Row
from storefront.domain.limits import MAX_ID
from storefront.errors import InvalidCursor, NotFound, SkuExists


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"after": last_id})).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor points after; any tampered or foreign cursor is a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
        after = data["after"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise InvalidCursor from None
    if not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= MAX_ID:
        raise InvalidCursor
    return after


async def list_products(db: Executor, *, limit: int, cursor: str | None, q: str | None) -> dict[str, Any]:
    after = decode_cursor(cursor) if cursor else 0
    rows = await queries.list_products(db, after_id=after, limit=limit + 1, q=q)
    next_cursor = encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None
    return {"items": rows[:limit], "next_cursor": next_cursor}


async def get_product(db: Executor, product_id: int) -> Row:
    product = await queries.get_product(db, product_id)
    if product is None:
        raise NotFound(f"product {product_id} not found")
    return product


async def create_product(db: Executor, product: Mapping[str, Any]) -> Row:
    """Insert a product from its validated fields (those of `ProductCreate`); a taken sku is a 409."""
    try:
        return await queries.insert_product(db, **product)
    except asyncpg.UniqueViolationError:
        raise SkuExists(f"a product with sku {product['sku']!r} already exists") from None


async def update_product(
    db: Executor,
    product_id: int,
    *,
    name: str | None = None,
    description: str | None = None,
    price_cents: int | None = None,
    stock: int | None = None,
) -> Row:
    product = await queries.update_product(
        db, product_id, name=name, description=description, price_cents=price_cents, stock=stock
    )
    if product is None:
        raise NotFound(f"product {product_id} not found")
    return product
