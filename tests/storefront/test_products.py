"""Catalog routes: keyset pagination, search, admin writes and their auth."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from storefront.app import create_app

from tests.storefront.conftest import ADMIN, add_product, make_settings

pytestmark = pytest.mark.anyio


async def test_listing_pages_through_every_product_once_with_an_opaque_cursor(
    client: httpx.AsyncClient,
) -> None:
    created = [await add_product(client) for _ in range(7)]
    seen: list[int] = []
    cursor = None
    for _ in range(10):  # bounded: 7 products at 3 per page is 3 pages
        params: dict[str, str | int] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/products", params=params)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [p["id"] for p in created]


async def test_product_has_the_contract_fields(client: httpx.AsyncClient) -> None:
    product = await add_product(client, sku="ABC-1", price_cents=1999, stock=4, description="d", currency="EUR")
    response = await client.get(f"/api/products/{product['id']}")
    assert response.status_code == 200
    assert response.json() == {
        "id": product["id"],
        "sku": "ABC-1",
        "name": "Widget",
        "description": "d",
        "price_cents": 1999,
        "currency": "EUR",
        "stock": 4,
    }


async def test_search_filters_by_name_sku_or_description(client: httpx.AsyncClient) -> None:
    await add_product(client, name="Blue kettle")
    await add_product(client, name="Red mug", description="holds tea")
    await add_product(client, sku="KETTLE-2", name="Spare lid")
    names = {p["name"] for p in (await client.get("/api/products", params={"q": "kettle"})).json()["items"]}
    assert names == {"Blue kettle", "Spare lid"}
    tea = (await client.get("/api/products", params={"q": "TEA"})).json()["items"]
    assert [p["name"] for p in tea] == ["Red mug"]


async def test_search_treats_like_wildcards_literally(client: httpx.AsyncClient) -> None:
    await add_product(client, name="plain")
    response = await client.get("/api/products", params={"q": "%"})
    assert response.status_code == 200
    assert response.json()["items"] == []


async def test_tampered_cursor_is_a_validation_error(client: httpx.AsyncClient) -> None:
    for cursor in ("not-base64!", "eyJ4IjoxfQ", "eyJhZnRlciI6LTF9"):  # junk, {"x":1}, {"after":-1}
        response = await client.get("/api/products", params={"cursor": cursor})
        assert response.status_code == 422, cursor
        assert response.json()["error"]["code"] == "invalid_cursor"


async def test_limit_out_of_range_is_a_validation_error(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/products", params={"limit": 0})).status_code == 422
    assert (await client.get("/api/products", params={"limit": 101})).status_code == 422


async def test_unknown_product_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/products/999999")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_malformed_or_out_of_range_product_id_is_a_validation_error(client: httpx.AsyncClient) -> None:
    for bad in ("abc", "0", "-1", "99999999999999999999"):
        response = await client.get(f"/api/products/{bad}")
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] == "validation_error"


async def test_create_product_needs_a_bearer_token(client: httpx.AsyncClient) -> None:
    body = {"sku": "S1", "name": "n", "price_cents": 1, "stock": 1}
    missing = await client.post("/api/products", json=body)
    wrong = await client.post("/api/products", json=body, headers={"Authorization": "Bearer wrong-token"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert (await client.get("/api/products")).json()["items"] == []


async def test_admin_routes_are_forbidden_when_no_token_is_configured(database: str) -> None:
    app: Starlette = create_app(make_settings(database, STOREFRONT_ADMIN_TOKEN=""))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            body = {"sku": "S1", "name": "n", "price_cents": 1, "stock": 1}
            response = await client.post("/api/products", json=body, headers=ADMIN)
            patch = await client.patch("/api/products/1", json={"stock": 1}, headers=ADMIN)
    assert response.status_code == patch.status_code == 403
    assert response.json()["error"]["code"] == "admin_disabled"


async def test_duplicate_sku_is_a_conflict(client: httpx.AsyncClient) -> None:
    await add_product(client, sku="DUP")
    response = await client.post(
        "/api/products", json={"sku": "DUP", "name": "n", "price_cents": 1, "stock": 1}, headers=ADMIN
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "sku_exists"


async def test_patch_changes_price_stock_name_and_description(client: httpx.AsyncClient) -> None:
    product = await add_product(client)
    response = await client.patch(
        f"/api/products/{product['id']}",
        json={"price_cents": 5, "stock": 0, "name": "New", "description": "Changed"},
        headers=ADMIN,
    )
    assert response.status_code == 200
    assert response.json() | {"id": product["id"]} == product | {
        "price_cents": 5,
        "stock": 0,
        "name": "New",
        "description": "Changed",
    }


async def test_patch_unknown_product_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.patch("/api/products/424242", json={"stock": 1}, headers=ADMIN)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "change",
    [
        {"stock": -1},
        {"price_cents": -5},
        {"price_cents": "12"},
        {"price_cents": 1.5},
        {"stock": 10**12},
        {"name": ""},
        {"name": "x" * 201},
        {"description": "bad\x00byte"},
        {"colour": "red"},
    ],
)
async def test_invalid_patch_is_rejected_and_changes_nothing(
    client: httpx.AsyncClient, change: dict[str, object]
) -> None:
    product = await add_product(client)
    response = await client.patch(f"/api/products/{product['id']}", json=change, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert (await client.get(f"/api/products/{product['id']}")).json() == product


@pytest.mark.parametrize(
    "body",
    [
        {"sku": "has space", "name": "n", "price_cents": 1, "stock": 1},
        {"sku": "S", "name": "n", "price_cents": 1, "stock": 1, "currency": "usd"},
        {"sku": "S", "name": "n", "stock": 1},
        {"sku": "S" * 65, "name": "n", "price_cents": 1, "stock": 1},
        {"sku": "S", "name": "n\x00", "price_cents": 1, "stock": 1},
    ],
)
async def test_invalid_new_product_is_rejected(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await client.post("/api/products", json=body, headers=ADMIN)
    assert response.status_code == 422
    assert (await client.get("/api/products")).json()["items"] == []
