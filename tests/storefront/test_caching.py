"""Edge caching: catalog reads are public with a strong ETag and 304s; every other /api/ answer is no-store."""

from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest
from starlette.applications import Starlette
from storefront.app import create_app
from storefront.domain import carts, catalog

from tests.storefront.conftest import ADMIN, add_product, make_settings, new_cart, place

pytestmark = pytest.mark.anyio

CATALOG = "public, max-age=30, stale-while-revalidate=30"


def _etag_of(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


@pytest.fixture
async def product(client: httpx.AsyncClient) -> dict[str, object]:
    return await add_product(client, stock=5)


@pytest.mark.parametrize("path", ["/api/products/{id}", "/api/products", "/api/products?limit=1&q=Widget"])
async def test_catalog_read_is_public_with_a_strong_etag_of_its_bytes(
    client: httpx.AsyncClient, product: dict[str, object], path: str
) -> None:
    response = await client.get(path.format(id=product["id"]))
    assert response.status_code == 200
    assert response.headers["cache-control"] == CATALOG
    assert response.headers["etag"] == _etag_of(response.content)


@pytest.mark.parametrize("path", ["/api/products/{id}", "/api/products"])
async def test_if_none_match_with_the_current_etag_is_a_304_without_a_body(
    client: httpx.AsyncClient, product: dict[str, object], path: str
) -> None:
    url = path.format(id=product["id"])
    etag = (await client.get(url)).headers["etag"]
    response = await client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert "content-length" not in response.headers or response.headers["content-length"] == "0"
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == CATALOG


@pytest.mark.parametrize("header", ['"other", W/{etag}', "*", '"a",{etag}'])
async def test_if_none_match_compares_weakly_and_takes_lists_and_star(
    client: httpx.AsyncClient, product: dict[str, object], header: str
) -> None:
    """RFC 9110 13.1.2: If-None-Match uses the weak comparison, so a W/ prefix still matches."""
    url = f"/api/products/{product['id']}"
    etag = (await client.get(url)).headers["etag"]
    response = await client.get(url, headers={"If-None-Match": header.format(etag=etag)})
    assert response.status_code == 304


async def test_a_changed_product_answers_its_new_body_to_the_old_etag(
    client: httpx.AsyncClient, product: dict[str, object]
) -> None:
    url = f"/api/products/{product['id']}"
    old = (await client.get(url)).headers["etag"]
    patched = await client.patch(url, json={"price_cents": 1234}, headers=ADMIN)
    assert patched.status_code == 200
    response = await client.get(url, headers={"If-None-Match": old})
    assert response.status_code == 200
    assert response.json()["price_cents"] == 1234
    assert response.headers["etag"] not in (old, None)


async def test_catalog_cache_lifetimes_come_from_settings(database: str) -> None:
    app = create_app(
        make_settings(database, STOREFRONT_CATALOG_MAX_AGE=5, STOREFRONT_CATALOG_STALE_WHILE_REVALIDATE=120)
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://storefront.test") as client:
            response = await client.get("/api/products")
    assert response.headers["cache-control"] == "public, max-age=5, stale-while-revalidate=120"


async def test_every_other_successful_api_answer_is_no_store(
    client: httpx.AsyncClient, product: dict[str, object]
) -> None:
    created = await client.post(
        "/api/products", json={"sku": "NS-1", "name": "n", "price_cents": 1, "stock": 1}, headers=ADMIN
    )
    answers = {"POST /api/products": created}
    answers["PATCH /api/products/{id}"] = await client.patch(
        f"/api/products/{product['id']}", json={"stock": 9}, headers=ADMIN
    )
    cart_response = await client.post("/api/carts")
    cart = cart_response.json()["id"]
    answers["POST /api/carts"] = cart_response
    answers["PUT /api/carts/{id}/items/{product}"] = await client.put(
        f"/api/carts/{cart}/items/{product['id']}", json={"quantity": 1}
    )
    answers["GET /api/carts/{id}"] = await client.get(f"/api/carts/{cart}")
    order = await place(client, cart)
    answers["POST /api/orders"] = order
    answers["GET /api/orders/{id}"] = await client.get(f"/api/orders/{order.json()['id']}")
    answers["GET /api/openapi.json"] = await client.get("/api/openapi.json")
    assert {label: r.status_code < 300 for label, r in answers.items()} == dict.fromkeys(answers, True)
    assert {label: r.headers.get("cache-control") for label, r in answers.items()} == dict.fromkeys(answers, "no-store")
    assert not any("etag" in r.headers for r in answers.values())


async def test_every_api_error_is_no_store_even_on_catalog_paths(client: httpx.AsyncClient) -> None:
    cart = await new_cart(client)
    missing = uuid.uuid4()
    answers = {
        "unknown product": await client.get("/api/products/999999"),
        "malformed product id": await client.get("/api/products/abc"),
        "bad limit": await client.get("/api/products?limit=0"),
        "bad cursor": await client.get("/api/products?cursor=!!"),
        "unknown cart": await client.get(f"/api/carts/{missing}"),
        "unknown order": await client.get(f"/api/orders/{missing}"),
        "empty cart order": await place(client, cart),
        "no admin token": await client.post("/api/products", json={}),
        "wrong method": await client.delete("/api/products"),
        "unknown api route": await client.get("/api/nothing-here"),
        "not json": await client.post("/api/carts", content=b"x", headers={"Content-Type": "text/plain"}),
        "too large": await client.post(
            "/api/carts", content=b"{}" * 40000, headers={"Content-Type": "application/json"}
        ),
    }
    assert {label: r.status_code >= 400 for label, r in answers.items()} == dict.fromkeys(answers, True)
    assert {label: r.headers.get("cache-control") for label, r in answers.items()} == dict.fromkeys(answers, "no-store")


async def test_an_unexpected_error_on_a_catalog_read_is_no_store(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(catalog, "get_product", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://storefront.test") as client:
        response = await client.get("/api/products/1")
    assert response.status_code == 500
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("path", ["/api/products/{id}", "/api/products"])
async def test_head_on_a_catalog_read_has_the_get_headers_and_no_body(
    client: httpx.AsyncClient, product: dict[str, object], path: str
) -> None:
    """HEAD is routed by Starlette, GET answered by EdgeMiddleware's fast lane: the same CacheableRead."""
    url = path.format(id=product["id"])
    get = await client.get(url)
    head = await client.head(url)
    assert head.status_code == 200
    assert head.content == b""
    for name in ("etag", "cache-control", "content-type", "content-length"):
        assert head.headers[name] == get.headers[name], name


@pytest.mark.parametrize("path", ["/api/products/{id}", "/api/carts/{cart}"])
async def test_an_unexpected_error_is_a_500_with_the_error_shape_and_request_id(
    app: Starlette, product: dict[str, object], monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """Both lanes: the catalog read's fast lane, and a route behind Starlette's error layer."""

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(catalog, "get_product", broken)
    monkeypatch.setattr(carts, "get_cart", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://storefront.test") as client:
        url = path.format(id=product["id"], cart=uuid.uuid4())
        response = await client.get(url, headers={"X-Request-Id": "req-500"})
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal_error", "message": "internal error"}}
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-request-id"] == "req-500"
