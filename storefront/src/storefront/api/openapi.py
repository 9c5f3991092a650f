"""Routes that carry their OpenAPI 3.1 operation, and the document built from them.

Each `api/<resource>.py` declares its routes as `ApiRoute`s: path, handler, method and the operation
(parameters with the limits `params.py` enforces, request body, every status the route can answer, all
errors in one shape) side by side, so the document cannot drift from the route table; the schemathesis
test holds the handlers to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from storefront.api.schemas import (
    Cart,
    CartItemSet,
    ErrorResponse,
    Health,
    Order,
    OrderCreate,
    Product,
    ProductCreate,
    ProductPage,
    ProductUpdate,
)
from storefront.domain.limits import MAX_ID

_REQUESTS: list[type[BaseModel]] = [ProductCreate, ProductUpdate, CartItemSet, OrderCreate]
_RESPONSES: list[type[BaseModel]] = [Product, ProductPage, Cart, Order, Health, ErrorResponse]

Parameter = dict[str, Any]
BODY_ERRORS = (400, 413, 415, 422)


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def path_parameter(name: str, schema: dict[str, Any]) -> Parameter:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def uuid_parameter(name: str) -> Parameter:
    return path_parameter(name, {"type": "string", "format": "uuid"})


_IF_NONE_MATCH: Parameter = {
    "name": "If-None-Match",
    "in": "header",
    "description": "ETags of copies the client holds; the current one gets a 304 without a body",
    "schema": {"type": "string"},
}
PRODUCT_ID = path_parameter("product_id", {"type": "integer", "minimum": 1, "maximum": MAX_ID})


class ApiRoute(Route):
    """A Starlette route for one method, with the OpenAPI operation that documents it."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],  # a Request handler, or a bare ASGI endpoint (a CacheableRead)
        method: str,
        *,
        summary: str,
        ok: tuple[int, type[BaseModel]],
        errors: tuple[int, ...] = (),
        parameters: Sequence[Parameter] = (),
        body: type[BaseModel] | None = None,
        admin: bool = False,
        cacheable: bool = False,
    ) -> None:
        super().__init__(path, endpoint, methods=[method])
        self.method = method.lower()
        responses: dict[str, Any] = {
            str(ok[0]): {"description": "OK", "content": {"application/json": {"schema": _ref(ok[1])}}}
        }
        for status in errors:
            responses[str(status)] = {
                "description": "Error",
                "content": {"application/json": {"schema": _ref(ErrorResponse)}},
            }
        if cacheable:
            responses["304"] = {"description": "Not Modified: If-None-Match names the current ETag"}
            parameters = [*parameters, _IF_NONE_MATCH]
        self.operation: dict[str, Any] = {"summary": summary, "responses": responses}
        if parameters:
            self.operation["parameters"] = list(parameters)
        if body is not None:
            self.operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _ref(body)}},
            }
        if admin:
            self.operation["security"] = [{"bearer": []}]


def document(routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI document of every `ApiRoute` among `routes`."""
    _, defs = models_json_schema(
        [(m, "validation") for m in _REQUESTS] + [(m, "serialization") for m in _RESPONSES],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if isinstance(route, ApiRoute):
            paths.setdefault(route.path, {})[route.method] = route.operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "TapStack storefront", "version": "1.0.0"},
        "paths": paths,
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def route(routes: Sequence[BaseRoute]) -> Route:
    """GET /api/openapi.json for `routes`, built on its first request (schema generation costs start-up time)."""
    built: list[bytes] = []

    async def openapi_json(request: Request) -> Response:
        if not built:
            built.append(orjson.dumps(document(routes)))
        return Response(built[0], media_type="application/json")

    return Route("/api/openapi.json", openapi_json, methods=["GET"])
