"""Concurrency claims, tested with real concurrent requests against a real pool."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest

from tests.storefront.conftest import add_product, new_cart, place

pytestmark = pytest.mark.anyio


async def test_fifty_checkouts_racing_for_ten_units_sell_exactly_ten(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    product = await add_product(client, stock=10)
    carts = [await new_cart(client, (product["id"], 1)) for _ in range(50)]
    responses = await asyncio.gather(*(place(client, cart) for cart in carts))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 10 + [409] * 40
    assert all(r.json()["error"]["code"] == "out_of_stock" for r in responses if r.status_code == 409)
    assert await db.fetchval("SELECT stock FROM products WHERE id = $1", product["id"]) == 0
    assert await db.fetchval("SELECT count(*) FROM orders") == 10
    assert await db.fetchval("SELECT sum(quantity) FROM order_lines") == 10


async def test_ten_concurrent_retries_with_one_key_place_one_order(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    product = await add_product(client, stock=100)
    cart = await new_cart(client, (product["id"], 3))
    key = uuid.uuid4().hex
    responses = await asyncio.gather(*(place(client, cart, key) for _ in range(10)))
    assert [r.status_code for r in responses] == [201] * 10
    assert len({r.json()["id"] for r in responses}) == 1
    assert await db.fetchval("SELECT count(*) FROM orders") == 1
    assert await db.fetchval("SELECT stock FROM products WHERE id = $1", product["id"]) == 97


async def test_concurrent_orders_over_shared_products_do_not_deadlock(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    a = await add_product(client, stock=1000)
    b = await add_product(client, stock=1000)
    carts = [await new_cart(client, (a["id"], 1), (b["id"], 1)) for _ in range(15)]
    carts += [await new_cart(client, (b["id"], 1), (a["id"], 1)) for _ in range(15)]
    responses = await asyncio.gather(*(place(client, cart) for cart in carts))
    assert [r.status_code for r in responses] == [201] * 30
    rows = await db.fetch("SELECT stock FROM products ORDER BY id")
    assert [r["stock"] for r in rows] == [970, 970]


async def test_same_key_racing_for_two_carts_places_one_order(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    product = await add_product(client, stock=100)
    carts = [await new_cart(client, (product["id"], 1)) for _ in range(2)]
    key = uuid.uuid4().hex
    responses = await asyncio.gather(*(place(client, cart, key) for cart in carts * 5))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 5 and statuses.count(409) == 5
    assert await db.fetchval("SELECT count(*) FROM orders") == 1
    assert await db.fetchval("SELECT stock FROM products WHERE id = $1", product["id"]) == 99
