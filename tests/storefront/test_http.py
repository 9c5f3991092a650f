"""Cross-cutting HTTP behaviour: error shape for framework errors, request ids, access logs, health."""

from __future__ import annotations

import logging

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from storefront.api import params
from storefront.api.middleware import flush_access_lines
from storefront.app import create_app
from storefront.log import configure_logging

from tests.storefront.conftest import ADMIN, ADMIN_TOKEN, make_settings

pytestmark = pytest.mark.anyio


async def test_unknown_route_has_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not Found"}}


async def test_wrong_method_has_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/products")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_liveness_needs_no_database() -> None:
    app = create_app(make_settings("postgresql://nobody@127.0.0.1:1/none"))  # lifespan never started
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readiness_is_ok_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


# /health is routed by Starlette; the catalog reads are answered by EdgeMiddleware's fast lane, 200 or error.
_LANES = ["/health", "/api/products", "/api/products/999999"]


@pytest.mark.parametrize("path", _LANES)
async def test_request_id_is_honoured_and_returned(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers={"X-Request-Id": "abc-123"})
    assert response.headers["X-Request-Id"] == "abc-123"


@pytest.mark.parametrize("path", _LANES)
async def test_request_id_is_generated_when_missing_or_unsafe(client: httpx.AsyncClient, path: str) -> None:
    generated = await client.get(path)
    unsafe = await client.get(path, headers={"X-Request-Id": "bad id\twith spaces"})
    assert len(generated.headers["X-Request-Id"]) == 32
    assert unsafe.headers["X-Request-Id"] != "bad id\twith spaces"


async def test_each_request_logs_one_json_line_without_secrets(
    client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="storefront.access")
    capsys.readouterr()
    await client.post(
        "/api/products?token=query-secret",
        json={"sku": "LOG-1", "name": "n", "price_cents": 1, "stock": 1},
        headers=ADMIN | {"X-Request-Id": "req-42"},
    )
    flush_access_lines()  # lines are queued for a few milliseconds, to share one write
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if '"storefront.access"' in line]
    assert len(lines) == 1
    entry = orjson.loads(lines[0])
    assert entry["request_id"] == "req-42"
    assert entry["method"] == "POST"
    assert entry["path"] == "/api/products"
    assert entry["status"] == 201
    assert isinstance(entry["duration_ms"], float)
    assert ADMIN_TOKEN not in out and "query-secret" not in out


@pytest.mark.parametrize(("path", "status"), [("/api/products/1", 404), ("/api/products?limit=0", 422)])
async def test_a_catalog_read_logs_one_line_with_its_status(
    client: httpx.AsyncClient,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    path: str,
    status: int,
) -> None:
    caplog.set_level(logging.INFO, logger="storefront.access")
    capsys.readouterr()
    response = await client.get(path, headers={"X-Request-Id": "req-43"})
    flush_access_lines()
    lines = [line for line in capsys.readouterr().out.splitlines() if '"storefront.access"' in line]
    assert response.status_code == status
    assert len(lines) == 1
    entry = orjson.loads(lines[0])
    assert (entry["request_id"], entry["method"], entry["path"], entry["status"]) == (
        "req-43",
        "GET",
        path.split("?")[0],
        status,
    )


def test_uvicorn_builds_no_access_line_of_its_own() -> None:
    # uvicorn's protocol formats its access line (path and query quoted) whenever the "uvicorn.access"
    # logger hasHandlers(), even when the logger is disabled; EdgeMiddleware already writes the line.
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO")
        assert not logging.getLogger("uvicorn.access").hasHandlers()
        assert logging.getLogger("uvicorn.error").hasHandlers()  # server errors still reach stdout
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


async def test_openapi_schema_documents_the_error_shape(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/api/openapi.json")).json()
    responses = schema["paths"]["/api/orders"]["post"]["responses"]
    assert responses["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorResponse")
    assert "HTTPValidationError" not in schema["components"]["schemas"]


async def test_static_directory_is_served_at_the_root_when_it_exists(database: str, scratch) -> None:  # type: ignore[no-untyped-def]
    (scratch / "index.html").write_text("<h1>shop</h1>")
    app: Starlette = create_app(make_settings(database, STOREFRONT_STATIC_DIR=str(scratch)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        page = await client.get("/")
        missing = await client.get("/nothing-here.js")
        health = await client.get("/health")
    assert page.status_code == 200 and "shop" in page.text
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert health.json() == {"status": "ok"}


_QUERY_BYTES = st.sampled_from([b"limit", b"cursor", b"q", b"=", b"&", b"%", b"%C3%A9", b"+", b"20", b"\xe9", b";"])


@given(st.lists(_QUERY_BYTES, max_size=12).map(b"".join))
def test_query_parameters_are_read_as_starlette_reads_them(query_string: bytes) -> None:
    """The fast lane parses the query string itself; it must see what Starlette's `query_params` see."""
    assert params.query(query_string) == dict(QueryParams(query_string))
