"""Catalog routes: public reads, admin writes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from storefront.api.deps import Admin, Pool, ProductId
from storefront.api.responses import documented, json_response
from storefront.api.schemas import NO_NUL, Product, ProductCreate, ProductPage, ProductUpdate, SearchText
from storefront.domain import catalog

router = APIRouter(prefix="/api/products", tags=["products"])


@router.get("", response_model=ProductPage, responses=documented(400, 422, 503))
async def list_products(
    pool: Pool,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    q: Annotated[SearchText | None, Query()] = None,
) -> Response:
    return json_response(await catalog.list_products(pool, limit=limit, cursor=cursor, q=q))


@router.get("/{product_id}", response_model=Product, responses=documented(404, 422, 503))
async def get_product(pool: Pool, product_id: ProductId) -> Response:
    return json_response(await catalog.get_product(pool, product_id))


@router.post(
    "",
    response_model=Product,
    status_code=201,
    dependencies=[Admin],
    responses=documented(400, 401, 403, 409, 413, 415, 422, 503),
)
async def create_product(pool: Pool, body: ProductCreate) -> Response:
    product = await catalog.create_product(pool, **body.model_dump())
    return json_response(product, 201)


@router.patch(
    "/{product_id}",
    response_model=Product,
    dependencies=[Admin],
    responses=documented(400, 401, 403, 404, 413, 415, 422, 503),
)
async def update_product(pool: Pool, product_id: ProductId, body: ProductUpdate) -> Response:
    changes = body.model_dump(exclude_none=True)
    return json_response(await catalog.update_product(pool, product_id, **changes))
