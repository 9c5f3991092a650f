"""ops/api_docs.py: docs/api.md is the API contract a repository user reads, generated from the OpenAPI
document the service itself serves, and kept current."""

from __future__ import annotations

import asyncio
import json

from starlette.requests import Request
from starlette.routing import Route
from storefront.app import create_app

from ops.api_docs import OUTPUT, render, served_document


def _fetched() -> dict[str, object]:
    """GET /api/openapi.json answered by the service's own route."""
    app = create_app(pool_factory=lambda: None)  # type: ignore[arg-type,return-value]
    (route,) = [r for r in app.routes if isinstance(r, Route) and r.path == "/api/openapi.json"]
    response = asyncio.run(route.endpoint(Request({"type": "http", "method": "GET", "path": route.path})))
    document: dict[str, object] = json.loads(response.body)
    return document


def test_committed_api_reference_is_current() -> None:
    assert OUTPUT.read_text() == render(), "Run `make docs` and commit docs/api.md."


def test_api_reference_renders_the_document_the_service_serves() -> None:
    """The generator reads the same document `GET /api/openapi.json` answers, not a copy of it."""
    served = _fetched()
    assert served == served_document()
    text = render(served)
    for path, methods in served["paths"].items():  # type: ignore[attr-defined]
        for method in methods:
            assert f"| `{method.upper()}` | `{path}` |" in text
    for schema in served["components"]["schemas"]:  # type: ignore[index]
        assert f"### {schema}\n" in text
