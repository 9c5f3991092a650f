"""Catalog routes: public reads (the hot path), admin writes."""

from __future__ import annotations

import asyncpg
from starlette.requests import Request
from starlette.responses import Response

from storefront.api import params
from storefront.api.responses import json_response
from storefront.api.schemas import ProductCreate, ProductUpdate
from storefront.domain import catalog


async def list_products(request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    page = await catalog.list_products(
        pool,
        limit=params.limit(request),
        cursor=params.optional_text(request, "cursor", params.MAX_CURSOR),
        q=params.optional_text(request, "q", params.MAX_QUERY),
    )
    return json_response(page)


async def get_product(request: Request) -> Response:
    pool: asyncpg.Pool = request.app.state.pool
    return json_response(await catalog.get_product(pool, params.product_id(request)))


async def create_product(request: Request) -> Response:
    params.require_admin(request)
    body = await params.json_body(request, ProductCreate)
    product = await catalog.create_product(request.app.state.pool, **body.model_dump())
    return json_response(product, 201)


async def update_product(request: Request) -> Response:
    params.require_admin(request)
    product_id = params.product_id(request)
    body = await params.json_body(request, ProductUpdate)
    changes = body.model_dump(exclude_none=True)
    return json_response(await catalog.update_product(request.app.state.pool, product_id, **changes))
