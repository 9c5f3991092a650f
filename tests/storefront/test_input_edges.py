"""Input edges (issue 25): every numeric parameter, header and body field is bounded in length before it is
converted, and a request that cannot get a database connection in time gets a clean 503."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from storefront.app import create_app
from storefront.settings import Settings

from tests.storefront.conftest import ADMIN, add_product, make_settings, new_cart

pytestmark = pytest.mark.anyio

# CPython refuses int() of a decimal string over 4,300 digits (sys.int_info.str_digits_check_threshold).
HUGE = "9" * 5000


def _error_shape(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:300]
    error = response.json()["error"]
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    return dict(error)


async def test_the_longest_numeric_query_path_and_header_values_get_a_4xx_with_the_error_shape(
    client: httpx.AsyncClient,
) -> None:
    product = await add_product(client)
    cart = await new_cart(client)
    for path in (f"/api/products?limit={HUGE}", f"/api/products?limit=0{HUGE}", f"/api/products?limit=-{HUGE}"):
        assert _error_shape(await client.get(path), 422)["code"] == "validation_error"
    assert _error_shape(await client.get(f"/api/products?cursor={HUGE}"), 422)["code"] == "validation_error"
    assert _error_shape(await client.get(f"/api/products?q={HUGE}"), 422)["code"] == "validation_error"
    assert _error_shape(await client.get(f"/api/products/{HUGE}"), 422)["code"] == "validation_error"
    patched = await client.patch(f"/api/products/{HUGE}", json={"stock": 1}, headers=ADMIN)
    assert _error_shape(patched, 422)["code"] == "validation_error"
    put = await client.put(f"/api/carts/{cart}/items/{HUGE}", json={"quantity": 1})
    assert _error_shape(put, 422)["code"] == "validation_error"
    order = await client.post("/api/orders", json={"cart_id": cart}, headers={"Idempotency-Key": HUGE})
    assert _error_shape(order, 422)["code"] == "validation_error"
    # A Content-Length too long to convert is too large, whatever the body really holds.
    long_length = await client.post(
        "/api/carts", content=b"{}", headers={"Content-Type": "application/json", "Content-Length": HUGE}
    )
    assert _error_shape(long_length, 413)["code"] == "payload_too_large"
    assert (await client.get(f"/api/products/{product['id']}")).status_code == 200


@pytest.mark.parametrize("number", [HUGE, f"-{HUGE}", f"1{'0' * 5000}.0", "1e5000"])
async def test_the_longest_numeric_body_fields_get_a_4xx_with_the_error_shape(
    client: httpx.AsyncClient, number: str
) -> None:
    product = await add_product(client)
    cart = await new_cart(client)
    json_headers = {"Content-Type": "application/json"}
    sent = [
        await client.put(
            f"/api/carts/{cart}/items/{product['id']}", content=f'{{"quantity": {number}}}', headers=json_headers
        ),
        await client.post(
            "/api/products",
            content=f'{{"sku": "HUGE-1", "name": "Huge", "price_cents": {number}, "stock": 1}}',
            headers=json_headers | ADMIN,
        ),
        await client.post(
            "/api/products",
            content=f'{{"sku": "HUGE-2", "name": "Huge", "price_cents": 1, "stock": {number}}}',
            headers=json_headers | ADMIN,
        ),
        await client.patch(
            f"/api/products/{product['id']}", content=f'{{"price_cents": {number}}}', headers=json_headers | ADMIN
        ),
        await client.patch(
            f"/api/products/{product['id']}", content=f'{{"stock": {number}}}', headers=json_headers | ADMIN
        ),
    ]
    for response in sent:
        # 400 when the number does not even parse as JSON (out of range for the parser), 422 when it parses.
        assert response.status_code in (400, 422), response.text[:300]
        _error_shape(response, response.status_code)
    assert (await client.get(f"/api/products/{product['id']}")).json()["stock"] == product["stock"]


async def test_a_request_that_finds_no_free_connection_in_time_gets_503_with_retry_after(database: str) -> None:
    """STOREFRONT_POOL_ACQUIRE_TIMEOUT bounds the wait for a connection: a pool of one, held by someone
    else, answers 503 `database_unavailable` with Retry-After after the timeout instead of waiting."""
    settings: Settings = make_settings(
        database, STOREFRONT_POOL_MIN_SIZE=1, STOREFRONT_POOL_MAX_SIZE=1, STOREFRONT_POOL_ACQUIRE_TIMEOUT=0.3
    )
    app: Starlette = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://storefront.test") as client:
            held = await app.state.pool.acquire()
            try:
                for method, path in (("GET", "/api/products"), ("GET", "/api/products?q=mug"), ("POST", "/api/carts")):
                    started = time.monotonic()
                    response = await client.request(method, path)
                    waited = time.monotonic() - started
                    error = _error_shape(response, 503)
                    assert error["code"] == "database_unavailable"
                    assert response.headers["Retry-After"] == "1"
                    assert response.headers["Cache-Control"] == "no-store"
                    assert 0.25 <= waited < 3, waited
            finally:
                await app.state.pool.release(held)
            # The connection is back: the same requests succeed.
            assert (await client.get("/api/products")).status_code == 200
            assert (await client.post("/api/carts")).status_code == 201
            await asyncio.sleep(0)
