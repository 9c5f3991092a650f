"""Cart routes and the bad-input rules: 4xx with the error shape, nothing changed."""

from __future__ import annotations

import httpx
import pytest

from tests.storefront.conftest import add_product, new_cart

pytestmark = pytest.mark.anyio


async def test_new_cart_is_empty(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/carts")
    assert response.status_code == 201
    body = response.json()
    assert body["items"] == [] and body["total_cents"] == 0
    assert (await client.get(f"/api/carts/{body['id']}")).json() == body


async def test_put_item_sets_quantity_and_prices_the_cart(client: httpx.AsyncClient) -> None:
    p = await add_product(client, price_cents=300)
    cart = await new_cart(client, (p["id"], 1))
    response = await client.put(f"/api/carts/{cart}/items/{p['id']}", json={"quantity": 4})
    assert response.status_code == 200
    assert response.json() == {
        "id": cart,
        "items": [{"product_id": p["id"], "quantity": 4, "unit_price_cents": 300}],
        "total_cents": 1200,
    }


async def test_quantity_zero_removes_the_line(client: httpx.AsyncClient) -> None:
    p = await add_product(client)
    cart = await new_cart(client, (p["id"], 2))
    response = await client.put(f"/api/carts/{cart}/items/{p['id']}", json={"quantity": 0})
    assert response.json()["items"] == []
    assert response.json()["total_cents"] == 0


async def test_unknown_cart_is_not_found(client: httpx.AsyncClient) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    assert (await client.get(f"/api/carts/{missing}")).status_code == 404
    assert (await client.put(f"/api/carts/{missing}/items/1", json={"quantity": 1})).status_code == 404


async def test_malformed_cart_id_is_a_validation_error(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/carts/123")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_adding_an_unknown_product_is_not_found(client: httpx.AsyncClient) -> None:
    cart = await new_cart(client)
    response = await client.put(f"/api/carts/{cart}/items/999999", json={"quantity": 1})
    assert response.status_code == 404
    assert (await client.get(f"/api/carts/{cart}")).json()["items"] == []


@pytest.mark.parametrize("quantity", [-1, 1001, 10**30, "2", 1.5, None, True])
async def test_bad_quantity_is_rejected_and_changes_nothing(client: httpx.AsyncClient, quantity: object) -> None:
    p = await add_product(client)
    cart = await new_cart(client, (p["id"], 1))
    response = await client.put(f"/api/carts/{cart}/items/{p['id']}", json={"quantity": quantity})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert (await client.get(f"/api/carts/{cart}")).json()["items"][0]["quantity"] == 1


async def test_malformed_json_is_a_bad_request(client: httpx.AsyncClient) -> None:
    p = await add_product(client)
    cart = await new_cart(client)
    response = await client.put(
        f"/api/carts/{cart}/items/{p['id']}",
        content=b'{"quantity": ',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


async def test_non_json_body_is_unsupported_media_type(client: httpx.AsyncClient) -> None:
    p = await add_product(client)
    cart = await new_cart(client)
    response = await client.put(
        f"/api/carts/{cart}/items/{p['id']}", content=b"quantity=1", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


async def test_body_over_the_size_limit_is_rejected(client: httpx.AsyncClient) -> None:
    p = await add_product(client)
    cart = await new_cart(client)
    big = b'{"quantity": 1, "pad": "' + b"x" * 70_000 + b'"}'
    response = await client.put(
        f"/api/carts/{cart}/items/{p['id']}", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert (await client.get(f"/api/carts/{cart}")).json()["items"] == []


async def test_streamed_body_over_the_size_limit_is_rejected(client: httpx.AsyncClient) -> None:
    cart = await new_cart(client)

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 8192

    response = await client.put(
        f"/api/carts/{cart}/items/1", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
