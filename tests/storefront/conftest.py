"""Fixtures: one embedded PostgreSQL per session; each test gets a fresh database from a migrated template."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette
from storefront.app import create_app
from storefront.db import migrate
from storefront.db.embedded import EmbeddedPostgres
from storefront.settings import Settings

ADMIN_TOKEN = "test-admin-token-0123456789"
TEMPLATE_DB = "storefront_template"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def work_dir() -> Iterator[Path]:
    """Our own temp root: pytest's shared basetemp is pruned by other concurrent pytest runs."""
    path = Path(tempfile.mkdtemp(prefix="storefront-tests-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def scratch(work_dir: Path) -> Path:
    """A fresh directory for one test."""
    return Path(tempfile.mkdtemp(dir=work_dir))


@pytest.fixture(scope="session")
def pg(work_dir: Path) -> Iterator[EmbeddedPostgres]:
    """The session's PostgreSQL server, with a migrated template database."""
    server = EmbeddedPostgres(work_dir / "pg", durable=False)
    server.start()

    _as_superuser(server, "postgres", lambda conn: conn.execute(f'CREATE DATABASE "{TEMPLATE_DB}"'))
    _as_superuser(server, TEMPLATE_DB, migrate.apply)
    try:
        yield server
    finally:
        server.stop("immediate")


def _as_superuser(pg: EmbeddedPostgres, database: str, action: Callable[[asyncpg.Connection], Awaitable[Any]]) -> None:
    """Run `action` on a superuser connection to `database`, from sync code (fixtures)."""

    async def run() -> None:
        conn = await asyncpg.connect(pg.superuser_url(database))
        try:
            await action(conn)
        finally:
            await conn.close()

    asyncio.run(run())


def create_database(pg: EmbeddedPostgres, template: str = TEMPLATE_DB) -> str:
    name = f"t_{uuid.uuid4().hex[:16]}"
    sql = f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY'
    _as_superuser(pg, "postgres", lambda conn: conn.execute(sql))
    return name


def drop_database(pg: EmbeddedPostgres, name: str) -> None:
    if pg.running():
        _as_superuser(pg, "postgres", lambda conn: conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database(pg: EmbeddedPostgres) -> Iterator[str]:
    """A fresh, migrated database for one test; yields its superuser URL."""
    name = create_database(pg)
    try:
        yield pg.superuser_url(name)
    finally:
        drop_database(pg, name)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    env: dict[str, Any] = {
        "DATABASE_URL": database_url,
        "STOREFRONT_ADMIN_TOKEN": ADMIN_TOKEN,
        "STOREFRONT_STATIC_DIR": "/nonexistent-static-dir",
        "STOREFRONT_POOL_MIN_SIZE": 1,
        "STOREFRONT_POOL_MAX_SIZE": 20,
    }
    env.update(overrides)
    return Settings(**env)


@pytest.fixture
def settings(database: str) -> Settings:
    return make_settings(database)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    """The app with its lifespan running (pool open, migrations checked)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://storefront.test") as c:
        yield c


@pytest.fixture
async def db(database: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the test's database, for setting up and checking state."""
    conn = await asyncpg.connect(database)
    try:
        yield conn
    finally:
        await conn.close()


ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def add_product(
    client: httpx.AsyncClient,
    *,
    sku: str | None = None,
    price_cents: int = 1000,
    stock: int = 10,
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "sku": sku or f"SKU-{uuid.uuid4().hex[:10]}",
        "name": "Widget",
        "price_cents": price_cents,
        "stock": stock,
    }
    body.update(extra)
    response = await client.post("/api/products", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def new_cart(client: httpx.AsyncClient, *lines: tuple[int, int]) -> str:
    response = await client.post("/api/carts")
    assert response.status_code == 201, response.text
    cart_id = str(response.json()["id"])
    for product_id, quantity in lines:
        put = await client.put(f"/api/carts/{cart_id}/items/{product_id}", json={"quantity": quantity})
        assert put.status_code == 200, put.text
    return cart_id


async def place(client: httpx.AsyncClient, cart_id: str, key: str | None = None) -> httpx.Response:
    return await client.post(
        "/api/orders", json={"cart_id": cart_id}, headers={"Idempotency-Key": key or uuid.uuid4().hex}
    )


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


_SESSION_START = time.time()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Where the browser test left this session's screenshots (tests/storefront/test_browser.py). Read from
    the directory, not the test module: under xdist the tests run in worker processes."""
    directory = Path(os.environ.get("STOREFRONT_SCREENSHOT_DIR") or repo_root() / "test-artifacts" / "screenshots")
    shots = [p for p in directory.glob("*.png") if p.stat().st_mtime >= _SESSION_START] if directory.is_dir() else []
    if shots:
        terminalreporter.write_line(f"storefront page screenshots ({len(shots)}): {directory}")
