"""Catalog routes: public reads (the hot path), admin writes."""

from __future__ import annotations

from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import Response

from storefront.api import params
from storefront.api.openapi import BODY_ERRORS, PRODUCT_ID, ApiRoute, Parameter
from storefront.api.responses import CacheableRead, json_response
from storefront.api.schemas import Product, ProductCreate, ProductPage, ProductUpdate
from storefront.db.queries import Row
from storefront.domain import catalog
from storefront.domain.limits import DEFAULT_LIMIT, MAX_CURSOR, MAX_LIMIT, MAX_QUERY, NO_NUL


async def list_products(pool: asyncpg.Pool, path: dict[str, str], query: dict[str, str]) -> dict[str, Any]:
    return await catalog.list_products(
        pool,
        limit=params.limit(query.get("limit")),
        cursor=params.optional_text(query.get("cursor"), "cursor", MAX_CURSOR),
        q=params.optional_text(query.get("q"), "q", MAX_QUERY),
    )


async def get_product(pool: asyncpg.Pool, path: dict[str, str], query: dict[str, str]) -> Row:
    return await catalog.get_product(pool, params.id_value(path["product_id"], "path.product_id"))


async def create_product(request: Request) -> Response:
    params.require_admin(request)
    body = await params.json_body(request, ProductCreate)
    product = await catalog.create_product(request.app.state.pool, body.model_dump())
    return json_response(product, 201)


async def update_product(request: Request) -> Response:
    params.require_admin(request)
    product_id = params.product_id(request)
    body = await params.json_body(request, ProductUpdate)
    changes = body.model_dump(exclude_none=True)
    return json_response(await catalog.update_product(request.app.state.pool, product_id, **changes))


_LIST_QUERY: list[Parameter] = [
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    },
    {
        "name": "cursor",
        "in": "query",
        "description": "Opaque: pass back the next_cursor of the previous page",
        "schema": {"type": "string", "maxLength": MAX_CURSOR, "pattern": NO_NUL},
    },
    {
        "name": "q",
        "in": "query",
        "description": "Case-insensitive substring of name, sku or description",
        "schema": {"type": "string", "maxLength": MAX_QUERY, "pattern": NO_NUL},
    },
]

# The public reads: the hot path, and the only answers the edge may cache (every other /api/ answer is
# no-store, see EdgeMiddleware).
CATALOG_READS: tuple[ApiRoute, ...] = (
    ApiRoute(
        "/api/products/{product_id}",
        CacheableRead(get_product),
        "GET",
        summary="One product",
        ok=(200, Product),
        errors=(404, 422, 503),
        parameters=[PRODUCT_ID],
        cacheable=True,
    ),
    ApiRoute(
        "/api/products",
        CacheableRead(list_products),
        "GET",
        summary="List products (keyset pages)",
        ok=(200, ProductPage),
        errors=(422, 503),
        parameters=_LIST_QUERY,
        cacheable=True,
    ),
)

ROUTES: tuple[ApiRoute, ...] = (
    *CATALOG_READS,
    ApiRoute(
        "/api/products",
        create_product,
        "POST",
        summary="Create a product (admin)",
        ok=(201, Product),
        errors=(401, 403, 409, *BODY_ERRORS, 503),
        body=ProductCreate,
        admin=True,
    ),
    ApiRoute(
        "/api/products/{product_id}",
        update_product,
        "PATCH",
        summary="Change price, stock, name or description (admin)",
        ok=(200, Product),
        errors=(401, 403, 404, *BODY_ERRORS, 503),
        parameters=[PRODUCT_ID],
        body=ProductUpdate,
        admin=True,
    ),
)
