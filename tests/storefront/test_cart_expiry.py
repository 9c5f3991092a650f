"""The cart-expiry job (`storefront expire-carts`, scheduled hourly in AWS by infra/jobs.py): open carts
untouched for longer than STOREFRONT_CART_TTL_HOURS are deleted with their lines; nothing else changes."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest
from storefront import cli
from storefront.domain.carts import EXPIRE_BATCH, expire_abandoned_carts
from storefront.settings import get_settings

from tests.storefront.conftest import add_product, new_cart, place

pytestmark = pytest.mark.anyio
TTL_HOURS = 24


async def _age(db: asyncpg.Connection, cart_id: str, hours: int) -> None:
    await db.execute(
        "UPDATE carts SET updated_at = now() - make_interval(hours => $2) WHERE id = $1", uuid.UUID(cart_id), hours
    )


async def _carts(db: asyncpg.Connection) -> set[str]:
    return {str(row["id"]) for row in await db.fetch("SELECT id FROM carts")}


async def test_only_open_carts_untouched_for_longer_than_the_ttl_are_deleted_and_no_stock_moves(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    product = await add_product(client, stock=10)
    abandoned = await new_cart(client, (product["id"], 3))
    recent = await new_cart(client, (product["id"], 2))
    ordered = await new_cart(client, (product["id"], 1))
    assert (await place(client, ordered)).status_code == 201
    for cart in (abandoned, ordered):
        await _age(db, cart, TTL_HOURS + 1)
    await _age(db, recent, TTL_HOURS - 1)

    assert await expire_abandoned_carts(db, ttl_hours=TTL_HOURS) == 1

    assert await _carts(db) == {recent, ordered}
    assert await db.fetchval("SELECT count(*) FROM cart_items WHERE cart_id = $1", uuid.UUID(abandoned)) == 0
    # Carts never took stock; only the order did (10 - 1).
    assert await db.fetchval("SELECT stock FROM products WHERE id = $1", product["id"]) == 9
    assert (await client.get(f"/api/carts/{abandoned}")).status_code == 404
    assert (await client.get(f"/api/carts/{recent}")).status_code == 200


async def test_changing_a_cart_restarts_its_ttl(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    product = await add_product(client)
    cart = await new_cart(client, (product["id"], 1))
    await _age(db, cart, TTL_HOURS + 5)
    put = await client.put(f"/api/carts/{cart}/items/{product['id']}", json={"quantity": 2})
    assert put.status_code == 200
    assert await expire_abandoned_carts(db, ttl_hours=TTL_HOURS) == 0
    assert cart in await _carts(db)


async def test_a_second_run_finds_nothing_to_do(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    product = await add_product(client)
    for _ in range(3):
        await _age(db, await new_cart(client, (product["id"], 1)), TTL_HOURS * 2)
    assert await expire_abandoned_carts(db, ttl_hours=TTL_HOURS) == 3
    assert await expire_abandoned_carts(db, ttl_hours=TTL_HOURS) == 0


async def test_two_runs_at_once_expire_each_cart_once_without_error(database: str, db: asyncpg.Connection) -> None:
    """Two schedules overlapping (a retry beside a slow run): together they delete every abandoned cart exactly
    once, neither waits on the other's rows, and checkout-ready carts are untouched."""
    product_id = await db.fetchval(
        "INSERT INTO products (sku, name, price_cents, stock) VALUES ('EXP-1', 'Widget', 100, 5) RETURNING id"
    )
    abandoned = 2 * EXPIRE_BATCH + 137  # several batches each
    await db.execute(
        "INSERT INTO carts (id, updated_at) SELECT gen_random_uuid(), now() - interval '3 days'"
        " FROM generate_series(1, $1)",
        abandoned,
    )
    await db.execute("INSERT INTO cart_items (cart_id, product_id, quantity) SELECT id, $1, 1 FROM carts", product_id)
    fresh = await db.fetchval("INSERT INTO carts (id) VALUES (gen_random_uuid()) RETURNING id")

    async def run() -> int:
        conn = await asyncpg.connect(database)
        try:
            return await expire_abandoned_carts(conn, ttl_hours=TTL_HOURS)
        finally:
            await conn.close()

    first, second = await asyncio.gather(run(), run())
    assert first + second == abandoned
    assert await _carts(db) == {str(fresh)}
    assert await db.fetchval("SELECT count(*) FROM cart_items") == 0
    assert await db.fetchval("SELECT stock FROM products WHERE id = $1", product_id) == 5


async def test_the_command_line_job_expires_carts(
    client: httpx.AsyncClient, db: asyncpg.Connection, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`storefront expire-carts` as the schedule (and `make job JOB=expire-carts`) runs it."""
    product = await add_product(client)
    await _age(db, await new_cart(client, (product["id"], 1)), 100)
    monkeypatch.setenv("DATABASE_URL", database)
    monkeypatch.setenv("STOREFRONT_CART_TTL_HOURS", "48")
    get_settings.cache_clear()
    try:
        assert await asyncio.to_thread(cli.main, ["expire-carts"]) == 0
    finally:
        get_settings.cache_clear()
    assert await _carts(db) == set()
