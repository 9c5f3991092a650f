"""The service survives its database: password rotation and a restart under load, without a redeploy."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette
from storefront.app import create_app
from storefront.db.embedded import EmbeddedPostgres
from storefront.db.pool import Credentials, PoolConfig, RotatingConnector, create_pool

from tests.storefront.conftest import add_product, make_settings

pytestmark = pytest.mark.anyio


async def test_service_reconnects_with_a_rotated_password_by_re_reading_the_secret(
    pg: EmbeddedPostgres, database: str, db: asyncpg.Connection
) -> None:
    """The secret source is injected as a function; PostgreSQL itself rejects the old password."""
    role = f"app_{uuid.uuid4().hex[:8]}"
    await db.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'first-password'")
    await db.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
    secret = {"username": role, "password": "first-password"}
    reads = 0

    async def read_secret() -> Credentials:
        nonlocal reads
        reads += 1
        return Credentials(**secret)

    connector = RotatingConnector(
        host="127.0.0.1",
        port=pg.port,
        database=database.split("@/", 1)[1].split("?", 1)[0],
        read_credentials=read_secret,
        ssl=False,
    )

    async def pool_factory() -> asyncpg.Pool:
        return await create_pool(PoolConfig(min_size=1, max_size=2), connector=connector)

    app = create_app(make_settings(database, STOREFRONT_MIGRATE_ON_START=False), pool_factory=pool_factory)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        assert (await client.get("/api/products")).status_code == 200
        assert reads == 1

        # Rotation: the database password and the secret change; live sessions are cut.
        await db.execute(f"ALTER ROLE {role} PASSWORD 'second-password'")
        secret["password"] = "second-password"
        await db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)

        statuses = []
        for _ in range(20):  # bounded: a dead pooled connection may cost one 503
            status = (await client.get("/api/products")).status_code
            statuses.append(status)
            if status == 200:
                break
            await asyncio.sleep(0.05)
    assert statuses[-1] == 200, statuses
    assert set(statuses) <= {200, 503}
    assert reads == 2
    assert connector.refreshes == 1


@pytest.fixture
async def app_for_restart(database: str) -> AsyncIterator[Starlette]:
    app = create_app(make_settings(database, STOREFRONT_POOL_MIN_SIZE=2, STOREFRONT_POOL_MAX_SIZE=5))
    async with app.router.lifespan_context(app):
        yield app


async def test_database_restart_under_load_gives_503s_then_recovers_losing_no_order(  # noqa: PLR0915
    pg: EmbeddedPostgres, app_for_restart: Starlette, database: str, db: asyncpg.Connection
) -> None:
    transport = httpx.ASGITransport(app=app_for_restart)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        product = await add_product(client, stock=100_000)
        results: list[tuple[float, str, int]] = []
        placed: set[str] = set()
        stop = asyncio.Event()

        async def shopper() -> None:
            for _ in range(10_000):  # bounded; ends when `stop` is set
                if stop.is_set():
                    return
                cart = await client.post("/api/carts")
                results.append((time.monotonic(), "cart", cart.status_code))
                if cart.status_code != 201:
                    await asyncio.sleep(0.01)
                    continue
                cart_id = cart.json()["id"]
                put = await client.put(f"/api/carts/{cart_id}/items/{product['id']}", json={"quantity": 1})
                results.append((time.monotonic(), "put", put.status_code))
                if put.status_code != 200:
                    continue
                order = await client.post(
                    "/api/orders", json={"cart_id": cart_id}, headers={"Idempotency-Key": uuid.uuid4().hex}
                )
                results.append((time.monotonic(), "order", order.status_code))
                if order.status_code == 201:
                    placed.add(order.json()["id"])
                ready = await client.get("/health/ready")
                results.append((time.monotonic(), "ready", ready.status_code))

        shoppers = [asyncio.create_task(shopper()) for _ in range(4)]
        await asyncio.sleep(0.5)
        await db.close()
        await asyncio.to_thread(pg.stop, "fast")
        down_at = time.monotonic()
        await asyncio.sleep(1.0)
        await asyncio.to_thread(pg.start)
        up_at = time.monotonic()
        await asyncio.sleep(1.5)
        stop.set()
        await asyncio.gather(*shoppers)

    statuses = Counter(status for _, _, status in results)
    assert 500 not in statuses, statuses
    during = {s for t, _, s in results if down_at + 0.1 < t < up_at - 0.1}
    assert during == {503}, during
    after = [s for t, _, s in results if t > up_at + 0.5]
    assert after and set(after) <= {200, 201}, after
    conn = await asyncpg.connect(database)
    try:
        stored = {str(r["id"]) for r in await conn.fetch("SELECT id FROM orders")}
        stock = await conn.fetchval("SELECT stock FROM products WHERE id = $1", product["id"])
        sold = await conn.fetchval("SELECT coalesce(sum(quantity), 0) FROM order_lines")
    finally:
        await conn.close()
    assert placed <= stored
    assert len(placed) > 0
    assert stock + sold == 100_000
