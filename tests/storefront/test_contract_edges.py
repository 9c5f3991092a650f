"""The API contract's edges (DESIGN.md), on the real PostgreSQL: a partial PATCH, a cart's one currency, the
last page of a listing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.storefront.conftest import ADMIN, add_product, new_cart

pytestmark = pytest.mark.anyio

CHANGES: list[dict[str, Any]] = [
    {"name": "Renamed"},
    {"description": "Described anew"},
    {"price_cents": 1},
    {"stock": 0},
    {"price_cents": 2500, "stock": 3},
    # An explicit null names no change either.
    {"name": "Only the name", "description": None},
]


@pytest.mark.parametrize("change", CHANGES, ids=[",".join(change) for change in CHANGES])
async def test_a_partial_patch_changes_what_it_names_and_nothing_else(
    client: httpx.AsyncClient, change: dict[str, Any]
) -> None:
    product = await add_product(client, price_cents=1999, stock=7, description="Original", currency="EUR")
    response = await client.patch(f"/api/products/{product['id']}", json=change, headers=ADMIN)
    assert response.status_code == 200, response.text
    expected = product | {field: value for field, value in change.items() if value is not None}
    assert response.json() == expected
    assert (await client.get(f"/api/products/{product['id']}")).json() == expected


async def test_an_empty_patch_changes_nothing(client: httpx.AsyncClient) -> None:
    product = await add_product(client, description="Kept")
    response = await client.patch(f"/api/products/{product['id']}", json={}, headers=ADMIN)
    assert response.status_code == 200
    assert (await client.get(f"/api/products/{product['id']}")).json() == product


async def test_a_cart_refuses_a_product_in_another_currency(client: httpx.AsyncClient) -> None:
    dollars = await add_product(client, currency="USD", price_cents=500)
    euros = await add_product(client, currency="EUR", price_cents=700)
    cart_id = await new_cart(client, (dollars["id"], 2))
    response = await client.put(f"/api/carts/{cart_id}/items/{euros['id']}", json={"quantity": 1})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "currency_mismatch"
    cart = (await client.get(f"/api/carts/{cart_id}")).json()
    assert cart["items"] == [{"product_id": dollars["id"], "quantity": 2, "unit_price_cents": 500}]
    assert cart["total_cents"] == 1000


async def test_a_cart_in_one_currency_takes_more_of_it_and_any_currency_once_emptied(
    client: httpx.AsyncClient,
) -> None:
    """The rule compares with the other lines: changing the only line's quantity, or starting over in another
    currency after removing it, is allowed."""
    euros = await add_product(client, currency="EUR", price_cents=700)
    more_euros = await add_product(client, currency="EUR", price_cents=300)
    dollars = await add_product(client, currency="USD", price_cents=500)
    cart_id = await new_cart(client, (euros["id"], 1))
    assert (await client.put(f"/api/carts/{cart_id}/items/{euros['id']}", json={"quantity": 3})).status_code == 200
    assert (await client.put(f"/api/carts/{cart_id}/items/{more_euros['id']}", json={"quantity": 1})).status_code == 200
    for product in (euros, more_euros):
        await client.put(f"/api/carts/{cart_id}/items/{product['id']}", json={"quantity": 0})
    response = await client.put(f"/api/carts/{cart_id}/items/{dollars['id']}", json={"quantity": 1})
    assert response.status_code == 200
    assert response.json()["total_cents"] == 500


async def _pages(client: httpx.AsyncClient, limit: int, q: str | None = None) -> list[dict[str, Any]]:
    pages = []
    cursor = None
    for _ in range(10):
        query: dict[str, str | int] = {"limit": limit, **({"q": q} if q else {})}
        if cursor:
            query["cursor"] = cursor
        page = (await client.get("/api/products", params=query)).json()
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return pages


@pytest.mark.parametrize(("products", "limit", "sizes"), [(6, 3, [3, 3]), (3, 3, [3]), (4, 2, [2, 2]), (0, 5, [0])])
async def test_the_last_full_page_has_no_next_cursor(
    client: httpx.AsyncClient, products: int, limit: int, sizes: list[int]
) -> None:
    """A page that ends the listing says so (next_cursor null) even when it is full: no extra empty page."""
    for _ in range(products):
        await add_product(client)
    pages = await _pages(client, limit)
    assert [len(page["items"]) for page in pages] == sizes
    assert [page["next_cursor"] is None for page in pages] == [False] * (len(sizes) - 1) + [True]


async def test_the_last_full_page_of_a_search_has_no_next_cursor(client: httpx.AsyncClient) -> None:
    for index in range(6):
        await add_product(client, name="Lantern" if index % 2 else "Kettle")
    pages = await _pages(client, 3, q="lantern")
    assert [len(page["items"]) for page in pages] == [3]
    assert pages[0]["next_cursor"] is None
