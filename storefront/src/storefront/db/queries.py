"""Every SQL statement the service runs, explicit and parameterised, one small function each."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Executor = asyncpg.Connection | asyncpg.Pool | PoolConnectionProxy
Connection = asyncpg.Connection | PoolConnectionProxy
Row = dict[str, Any]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# -- products ----------------------------------------------------------------------------------------
# Search in two steps, in one REPEATABLE READ transaction (one snapshot), with the same answers as the plain
# per-column ILIKE in id order:
#  window: the next SEARCH_WINDOW_PER_ROW * limit products after the cursor, walked in id order (the primary
#     key), each tested against the term. A term in a tenth of the catalog or more finds its page here,
#     whatever the planner would estimate for it, and nothing else runs. The test is the joined text (one
#     ILIKE, 2.4 times cheaper per row than three), then the per-column test for the rows it lets through.
#     The statement's plan never depends on the term, so PostgreSQL caches it: no planning per search.
#     When it found less than a page it also returns one more row: where the window ended (when it was full;
#     a window that is not full reached the end of the catalog);
#  beyond: only then, the matches after the window, planned for the term (`force_custom_plan` for that one
#     statement; a cached generic plan would fix one shape for every term): the trigram index for a rare
#     term, the walk in id order for a frequent one.
# The per-column exact test in `beyond` is wrapped in a CASE on the joined-text test (the same answer: it
# only runs where that test passed), for two reasons. The planner counts a CASE as 0.5 instead of multiplying
# the joined-text selectivity by the per-column one as if they were independent: that squared the estimate,
# put a term in 2% of the catalog at a few rows, and the planner then took every match from the index and
# sorted it (10-26 ms for `stoneware mug` at 200,000 products, growing with the catalog). And the CASE costs
# more than the joined-text test alone, so when the planner walks ids it tests each row with the one ILIKE
# first (2.4 times cheaper than three; with COALESCE in its place the three ran first: 8 ms for 11,500 rows).
# Migration 0005 gives the estimate 300 sample texts instead of 100.
# The searched text is exactly the expression migration 0002 indexes: the planner uses the trigram index only
# for the same expression. The per-column ILIKE stays the exact test (the joined text can also match across a
# column boundary). A term under three characters (or with no letters or digits) has no trigram to look up:
# when it matches few products, `beyond` scans the rest of the table.
SEARCH_WINDOW_PER_ROW = 10


_SEARCH_WINDOW_SQL = (
    "WITH w AS MATERIALIZED (SELECT id, (name || ' ' || sku || ' ' || description) ILIKE $2"
    " AND (name ILIKE $2 OR sku ILIKE $2 OR description ILIKE $2) AS hit"
    " FROM products WHERE id > $1 ORDER BY id LIMIT :window),"
    " a AS MATERIALIZED (SELECT id FROM w WHERE hit ORDER BY id LIMIT $3)"
    " SELECT p.id, p.sku, p.name, p.description, p.price_cents, p.currency, p.stock, false AS window_end"
    " FROM a JOIN products p USING (id)"
    " UNION ALL SELECT max(id), NULL, NULL, NULL, NULL, NULL, NULL, true FROM w"
    " WHERE (SELECT count(*) FROM a) < $3 HAVING count(*) = :window"
)


def search_window_sql(limit: int) -> str:
    """The window statement for pages of `limit` rows. The window's length is in the text (only an integer is
    put there), so that the cached generic plan knows it: a parameter would be planned as a tenth of the table."""
    return _SEARCH_WINDOW_SQL.replace(":window", str(SEARCH_WINDOW_PER_ROW * int(limit)))


SEARCH_BEYOND_SQL = (
    "SELECT id, sku, name, description, price_cents, currency, stock FROM products"
    " WHERE id > $1 AND (name || ' ' || sku || ' ' || description) ILIKE $2"
    " AND CASE WHEN (name || ' ' || sku || ' ' || description) ILIKE $2"
    " THEN name ILIKE $2 OR sku ILIKE $2 OR description ILIKE $2 ELSE false END"
    " ORDER BY id LIMIT $3"
)


async def _search_products(conn: Connection, after_id: int, limit: int, pattern: str) -> list[Row]:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        rows = await conn.fetch(search_window_sql(limit), after_id, pattern, limit)
        found = sorted((dict(r) for r in rows if not r["window_end"]), key=lambda r: int(r["id"]))
        window_end = next((int(r["id"]) for r in rows if r["window_end"]), None)
        for row in found:
            del row["window_end"]
        if len(found) < limit and window_end is not None:
            await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            beyond = await conn.fetch(SEARCH_BEYOND_SQL, window_end, pattern, limit - len(found))
            found += [dict(r) for r in beyond]
        return found


async def list_products(db: Executor, *, after_id: int, limit: int, q: str | None) -> list[Row]:
    """Products with id > after_id in id order (keyset pagination), optionally filtered by `q`."""
    if q:
        pattern = f"%{_escape_like(q)}%"
        if isinstance(db, asyncpg.Pool):
            async with db.acquire() as conn:
                return await _search_products(conn, after_id, limit, pattern)
        return await _search_products(db, after_id, limit, pattern)
    rows = await db.fetch(
        "SELECT id, sku, name, description, price_cents, currency, stock FROM products"
        " WHERE id > $1 ORDER BY id LIMIT $2",
        after_id,
        limit,
    )
    return [dict(r) for r in rows]


async def get_product(db: Executor, product_id: int) -> Row | None:
    row = await db.fetchrow(
        "SELECT id, sku, name, description, price_cents, currency, stock FROM products WHERE id = $1",
        product_id,
    )
    return dict(row) if row is not None else None


async def insert_product(
    db: Executor, *, sku: str, name: str, description: str, price_cents: int, currency: str, stock: int
) -> Row:
    row = await db.fetchrow(
        "INSERT INTO products (sku, name, description, price_cents, currency, stock)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, sku, name, description, price_cents, currency, stock",
        sku,
        name,
        description,
        price_cents,
        currency,
        stock,
    )
    assert row is not None
    return dict(row)


async def update_product(
    db: Executor,
    product_id: int,
    *,
    name: str | None,
    description: str | None,
    price_cents: int | None,
    stock: int | None,
) -> Row | None:
    """Set the given fields (None keeps the current value)."""
    row = await db.fetchrow(
        "UPDATE products SET name = COALESCE($2, name), description = COALESCE($3, description),"
        " price_cents = COALESCE($4, price_cents), stock = COALESCE($5, stock), updated_at = now()"
        " WHERE id = $1 RETURNING id, sku, name, description, price_cents, currency, stock",
        product_id,
        name,
        description,
        price_cents,
        stock,
    )
    return dict(row) if row is not None else None


# -- carts -------------------------------------------------------------------------------------------
async def insert_cart(db: Executor, cart_id: uuid.UUID) -> None:
    await db.execute("INSERT INTO carts (id) VALUES ($1)", cart_id)


async def get_cart_status(db: Executor, cart_id: uuid.UUID, *, for_update: bool = False) -> str | None:
    sql = (
        "SELECT status FROM carts WHERE id = $1 FOR UPDATE" if for_update else "SELECT status FROM carts WHERE id = $1"
    )
    status: str | None = await db.fetchval(sql, cart_id)
    return status


async def cart_lines(db: Executor, cart_id: uuid.UUID) -> list[Row]:
    """The cart's lines at current prices, in product order."""
    rows = await db.fetch(
        "SELECT ci.product_id, ci.quantity, p.price_cents AS unit_price_cents, p.currency"
        " FROM cart_items ci JOIN products p ON p.id = ci.product_id"
        " WHERE ci.cart_id = $1 ORDER BY ci.product_id",
        cart_id,
    )
    return [dict(r) for r in rows]


async def upsert_cart_item(db: Executor, cart_id: uuid.UUID, product_id: int, quantity: int) -> None:
    await db.execute(
        "INSERT INTO cart_items (cart_id, product_id, quantity) VALUES ($1, $2, $3)"
        " ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = EXCLUDED.quantity",
        cart_id,
        product_id,
        quantity,
    )


async def delete_cart_item(db: Executor, cart_id: uuid.UUID, product_id: int) -> None:
    await db.execute("DELETE FROM cart_items WHERE cart_id = $1 AND product_id = $2", cart_id, product_id)


async def touch_cart(db: Executor, cart_id: uuid.UUID) -> None:
    """Record activity on a cart (its expiry counts from here)."""
    await db.execute("UPDATE carts SET updated_at = now() WHERE id = $1", cart_id)


# Open carts untouched for longer than the TTL, a batch at a time, oldest first. SKIP LOCKED: a cart being
# changed or checked out right now is left alone (its transaction holds the row lock), and two runs at once
# take different carts instead of waiting on each other; the outer conditions are checked again on the row
# as it is when locked. Deleting a cart deletes its lines (ON DELETE CASCADE); a cart that has an order is
# never open, and the NOT EXISTS keeps even a broken one from failing the batch on the orders foreign key.
EXPIRE_CARTS_SQL = (
    "DELETE FROM carts WHERE id IN ("
    " SELECT c.id FROM carts c"
    " WHERE c.status = 'open' AND c.updated_at < now() - make_interval(hours => $1)"
    " AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.cart_id = c.id)"
    " ORDER BY c.updated_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
    " AND status = 'open' AND updated_at < now() - make_interval(hours => $1)"
)


async def expire_carts(db: Executor, *, ttl_hours: int, batch: int) -> int:
    """Delete up to `batch` abandoned open carts; returns how many."""
    status: str = await db.execute(EXPIRE_CARTS_SQL, ttl_hours, batch)
    return int(status.split()[-1])


# -- orders ------------------------------------------------------------------------------------------
async def lock_cart_products(db: Executor, cart_id: uuid.UUID) -> list[Row]:
    """Lock the cart's products in id order (a fixed order, so concurrent orders cannot deadlock)."""
    rows = await db.fetch(
        "SELECT ci.product_id, ci.quantity FROM cart_items ci JOIN products p ON p.id = ci.product_id"
        " WHERE ci.cart_id = $1 ORDER BY p.id FOR UPDATE OF p",
        cart_id,
    )
    return [dict(r) for r in rows]


async def take_stock(db: Executor, product_ids: list[int], quantities: list[int]) -> list[Row]:
    """Decrement stock only where enough is left; returns the rows actually decremented."""
    rows = await db.fetch(
        "UPDATE products p SET stock = p.stock - l.quantity, updated_at = now()"
        " FROM unnest($1::bigint[], $2::integer[]) AS l(product_id, quantity)"
        " WHERE p.id = l.product_id AND p.stock >= l.quantity"
        " RETURNING p.id AS product_id, l.quantity, p.price_cents AS unit_price_cents, p.currency",
        product_ids,
        quantities,
    )
    return [dict(r) for r in rows]


async def lock_cart_and_find_key(db: Executor, cart_id: uuid.UUID, idempotency_key: str) -> Row | None:
    """Lock the cart row; returns its status and the order already holding the key (if any), or None
    when the cart does not exist. One round trip."""
    row = await db.fetchrow(
        "SELECT c.status, o.id AS order_id, o.cart_id AS order_cart_id"
        " FROM carts c LEFT JOIN orders o ON o.idempotency_key = $2"
        " WHERE c.id = $1 FOR UPDATE OF c",
        cart_id,
        idempotency_key,
    )
    return dict(row) if row is not None else None


async def record_order(
    db: Executor,
    *,
    order_id: uuid.UUID,
    cart_id: uuid.UUID,
    idempotency_key: str,
    total_cents: int,
    currency: str,
    lines: list[Row],
) -> datetime | None:
    """Insert the order, its lines, and mark the cart ordered, in one statement; unless the key is taken
    (the insert waits for a concurrent holder of the key to commit or abort first).

    Returns the order's created_at, or None when the key was already taken (then nothing was written).
    """
    created_at: datetime | None = await db.fetchval(
        "WITH o AS ("
        "  INSERT INTO orders (id, cart_id, idempotency_key, total_cents, currency)"
        "  VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, created_at"
        "), l AS ("
        "  INSERT INTO order_lines (order_id, product_id, quantity, unit_price_cents)"
        "  SELECT o.id, x.product_id, x.quantity, x.unit_price_cents"
        "  FROM o, unnest($6::bigint[], $7::integer[], $8::bigint[])"
        "    AS x(product_id, quantity, unit_price_cents)"
        "), c AS ("
        "  UPDATE carts SET status = 'checked_out' WHERE id = $2 AND EXISTS (SELECT 1 FROM o)"
        ") SELECT created_at FROM o",
        order_id,
        cart_id,
        idempotency_key,
        total_cents,
        currency,
        [line["product_id"] for line in lines],
        [line["quantity"] for line in lines],
        [line["unit_price_cents"] for line in lines],
    )
    return created_at


async def find_order_by_key(db: Executor, idempotency_key: str) -> Row | None:
    row = await db.fetchrow("SELECT id, cart_id FROM orders WHERE idempotency_key = $1", idempotency_key)
    return dict(row) if row is not None else None


async def get_order(db: Executor, order_id: uuid.UUID) -> Row | None:
    row = await db.fetchrow(
        "SELECT id, cart_id, status, total_cents, currency, created_at FROM orders WHERE id = $1", order_id
    )
    if row is None:
        return None
    order = dict(row)
    lines = await db.fetch(
        "SELECT product_id, quantity, unit_price_cents FROM order_lines WHERE order_id = $1 ORDER BY product_id",
        order_id,
    )
    order["lines"] = [dict(r) for r in lines]
    return order
