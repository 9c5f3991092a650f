"""Request and response models, kept apart (create / update / public) as in the FastAPI template."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from storefront.domain import limits
from storefront.domain.limits import MAX_PRICE_CENTS, MAX_QUANTITY, MAX_STOCK, NO_NUL


def _clean_text(value: str) -> str:
    """The domain's text rule as a model validator: a 422 here rather than a 500 from the database."""
    problem = limits.text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _json_integer(value: object) -> object:
    """JSON Schema integers: 3 and 3.0 yes; "3", 3.5 and true no (pydantic's lax mode would take "3")."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be an integer")
        return int(value)
    return value


_JSON_INT = BeforeValidator(_json_integer)
Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL), AfterValidator(_clean_text)]
Description = Annotated[str, Field(max_length=5000, pattern=NO_NUL), AfterValidator(_clean_text)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
# Constraints before the validator, or pydantic leaves them out of the JSON schema.
PriceCents = Annotated[int, Field(ge=0, le=MAX_PRICE_CENTS), _JSON_INT]
Stock = Annotated[int, Field(ge=0, le=MAX_STOCK), _JSON_INT]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody


class Health(BaseModel):
    status: str


class Product(BaseModel):
    id: int
    sku: str
    name: str
    description: str
    price_cents: int
    currency: str
    stock: int


class ProductPage(BaseModel):
    items: list[Product]
    next_cursor: str | None


class ProductCreate(_Input):
    sku: Sku
    name: Name
    description: Description = ""
    price_cents: PriceCents
    currency: Currency = "USD"
    stock: Stock


class ProductUpdate(_Input):
    name: Name | None = None
    description: Description | None = None
    price_cents: PriceCents | None = None
    stock: Stock | None = None


class CartItem(BaseModel):
    product_id: int
    quantity: int
    unit_price_cents: int


class Cart(BaseModel):
    id: uuid.UUID
    items: list[CartItem]
    total_cents: int


class CartItemSet(_Input):
    quantity: Annotated[int, Field(ge=0, le=MAX_QUANTITY, description="0 removes the line"), _JSON_INT]


class OrderCreate(_Input):
    cart_id: uuid.UUID


class OrderLine(BaseModel):
    product_id: int
    quantity: int
    unit_price_cents: int


class Order(BaseModel):
    id: uuid.UUID
    cart_id: uuid.UUID
    status: str
    total_cents: int
    currency: str
    created_at: datetime
    lines: list[OrderLine]
