"""Order placement: atomic, idempotent, stock never below zero."""

from __future__ import annotations

import asyncpg
import httpx
import pytest

from tests.storefront.conftest import add_product, new_cart, place

pytestmark = pytest.mark.anyio


async def test_placing_an_order_takes_stock_and_returns_lines_and_total(client: httpx.AsyncClient) -> None:
    a = await add_product(client, price_cents=250, stock=5)
    b = await add_product(client, price_cents=1000, stock=1)
    cart = await new_cart(client, (a["id"], 2), (b["id"], 1))
    response = await place(client, cart)
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["total_cents"] == 1500
    assert order["cart_id"] == cart
    assert {(line["product_id"], line["quantity"], line["unit_price_cents"]) for line in order["lines"]} == {
        (a["id"], 2, 250),
        (b["id"], 1, 1000),
    }
    assert (await client.get(f"/api/products/{a['id']}")).json()["stock"] == 3
    assert (await client.get(f"/api/products/{b['id']}")).json()["stock"] == 0
    fetched = await client.get(f"/api/orders/{order['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == order


async def test_order_with_one_short_line_takes_no_stock_at_all(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    plenty = await add_product(client, stock=10)
    scarce = await add_product(client, stock=1)
    cart = await new_cart(client, (plenty["id"], 3), (scarce["id"], 2))
    response = await place(client, cart)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "out_of_stock"
    stocks = await db.fetch("SELECT id, stock FROM products ORDER BY id")
    assert [(r["id"], r["stock"]) for r in stocks] == [(plenty["id"], 10), (scarce["id"], 1)]
    assert await db.fetchval("SELECT count(*) FROM orders") == 0


async def test_order_without_idempotency_key_is_rejected(client: httpx.AsyncClient) -> None:
    p = await add_product(client)
    cart = await new_cart(client, (p["id"], 1))
    response = await client.post("/api/orders", json={"cart_id": cart})
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["error"]["message"]


async def test_same_idempotency_key_returns_the_same_order_once(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    p = await add_product(client, stock=5)
    cart = await new_cart(client, (p["id"], 2))
    first = await place(client, cart, "key-1")
    second = await place(client, cart, "key-1")
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == second.json()["id"]
    assert await db.fetchval("SELECT count(*) FROM orders") == 1
    assert await db.fetchval("SELECT stock FROM products WHERE id = $1", p["id"]) == 3


async def test_idempotency_key_reused_for_another_cart_is_a_conflict(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    p = await add_product(client, stock=5)
    first_cart = await new_cart(client, (p["id"], 1))
    other_cart = await new_cart(client, (p["id"], 1))
    assert (await place(client, first_cart, "shared-key")).status_code == 201
    response = await place(client, other_cart, "shared-key")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert await db.fetchval("SELECT count(*) FROM orders") == 1
    assert await db.fetchval("SELECT stock FROM products WHERE id = $1", p["id"]) == 4


async def test_empty_cart_cannot_be_ordered(client: httpx.AsyncClient) -> None:
    cart = await new_cart(client)
    response = await place(client, cart)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "cart_empty"


async def test_ordered_cart_cannot_be_ordered_again_with_a_new_key(client: httpx.AsyncClient) -> None:
    p = await add_product(client, stock=5)
    cart = await new_cart(client, (p["id"], 1))
    assert (await place(client, cart)).status_code == 201
    again = await place(client, cart)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "cart_checked_out"


async def test_ordered_cart_cannot_be_changed(client: httpx.AsyncClient) -> None:
    p = await add_product(client, stock=5)
    cart = await new_cart(client, (p["id"], 1))
    assert (await place(client, cart)).status_code == 201
    response = await client.put(f"/api/carts/{cart}/items/{p['id']}", json={"quantity": 2})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "cart_checked_out"


async def test_order_for_unknown_cart_is_not_found(client: httpx.AsyncClient) -> None:
    response = await place(client, "00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_unknown_order_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/orders/00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404


async def test_malformed_order_id_is_a_validation_error(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/orders/not-a-uuid")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_stock_cannot_go_below_zero_even_by_direct_sql(db: asyncpg.Connection) -> None:
    await db.execute("INSERT INTO products (sku, name, price_cents, stock) VALUES ('X', 'x', 1, 1)")
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("UPDATE products SET stock = stock - 2 WHERE sku = 'X'")
