"""Expand, then contract: the previous release's queries still work on the schema after the newest migration.

During a deployment old and new tasks run side by side, and a rollback runs the old code on the new schema,
so a migration may add (tables, nullable or defaulted columns, indexes) but never drop or rename what the
previous release reads or writes. The previous release is the code just before the newest migration entered
the branch (its first-parent history); its `db/queries.py` and migrations are read from git, so the test
keeps working as migrations land. An uncommitted newest migration makes HEAD the previous release.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import pytest
from storefront.db import migrate
from storefront.db import queries as current_queries
from storefront.db.embedded import EmbeddedPostgres

from tests.storefront.conftest import create_database, drop_database, repo_root

DB_DIR = "storefront/src/storefront/db"
MIGRATIONS_DIR = f"{DB_DIR}/migrations"


GIT = shutil.which("git")


def _git_output(*args: str) -> str:
    assert GIT is not None
    return subprocess.run(
        [GIT, *args], cwd=repo_root(), capture_output=True, text=True, encoding="utf-8", check=True
    ).stdout


def _git(*args: str) -> str:
    return _git_output(*args).strip()


def _has_history() -> bool:
    if GIT is None:
        return False
    try:
        return _git("rev-parse", "--is-shallow-repository") == "false"
    except subprocess.CalledProcessError:  # not a git checkout (an unpacked source archive)
        return False


def previous_release() -> str:
    """The commit whose code last ran on the migration set before the newest migration.

    That is the first parent of the commit that added the newest migration to this branch; with one
    migration, or a newest migration not committed yet, it is HEAD.
    """
    newest = migrate.load()[-1]
    path = f"{MIGRATIONS_DIR}/{newest.name}"
    if len(migrate.load()) == 1 or not _git("ls-tree", "--name-only", "HEAD", "--", path):
        return _git("rev-parse", "HEAD")
    added = _git("log", "--first-parent", "--diff-filter=A", "--format=%H", "HEAD", "--", path).splitlines()
    assert added, f"git history does not show where {path} was added"
    try:
        return _git("rev-parse", "--verify", f"{added[-1]}^1")
    except subprocess.CalledProcessError:  # added in the root commit: no release before it
        return _git("rev-parse", "HEAD")


@pytest.fixture(scope="module")
def release() -> Iterator[tuple[str, ModuleType, Path]]:
    """The previous release: its commit, its query module (imported from a temp dir) and its migrations."""
    if not _has_history():
        pytest.skip("no git history here (shallow clone or no checkout): the previous release cannot be read")
    rev = previous_release()
    root = Path(tempfile.mkdtemp(prefix="previous-release-"))
    try:
        source = root / f"previous_queries_{rev[:12]}.py"
        source.write_text(_git_output("show", f"{rev}:{DB_DIR}/queries.py"), encoding="utf-8")
        spec = importlib.util.spec_from_file_location(source.stem, source)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[source.stem] = module
        spec.loader.exec_module(module)
        migrations = root / "migrations"
        migrations.mkdir()
        for name in _git("ls-tree", "--name-only", rev, f"{MIGRATIONS_DIR}/").splitlines():
            (migrations / Path(name).name).write_text(_git_output("show", f"{rev}:{name}"), encoding="utf-8")
        yield rev, module, migrations
        sys.modules.pop(source.stem, None)
    finally:
        shutil.rmtree(root, ignore_errors=True)


class _Queries:
    """Calls a query module's functions by parameter name, so a scenario written once drives any release
    whose functions keep their names; records which functions ran."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.called: set[str] = set()

    def functions(self) -> set[str]:
        return {
            name
            for name, fn in vars(self.module).items()
            if inspect.iscoroutinefunction(fn) and not name.startswith("_") and fn.__module__ == self.module.__name__
        }

    async def __call__(self, function: str, db: Any, /, **values: Any) -> Any:
        fn = getattr(self.module, function)
        params = list(inspect.signature(fn).parameters.values())
        kwargs = {}
        for param in params[1:]:
            if param.name in values:
                kwargs[param.name] = values[param.name]
            elif param.default is inspect.Parameter.empty:
                pytest.fail(f"{function}() takes {param.name!r}, which this scenario does not pass: add it here")
        self.called.add(function)
        return await fn(db, **kwargs)


async def _shop(q: _Queries, conn: asyncpg.Connection, *, earlier_cart: uuid.UUID, earlier_product: int) -> None:
    """The shop's whole flow through `q`, including rows written before the newest migration."""
    assert (await q("get_product", conn, product_id=earlier_product))["sku"].startswith("EC-")
    product = await q(
        "insert_product",
        conn,
        sku=f"EC-{uuid.uuid4().hex[:8]}",
        name="Expand mug",
        description="contract later",
        price_cents=700,
        currency="USD",
        stock=5,
    )
    assert (await q("get_product", conn, product_id=product["id"]))["price_cents"] == 700
    listed = await q("list_products", conn, after_id=0, limit=100, q=None)
    assert {earlier_product, product["id"]} <= {row["id"] for row in listed}
    found = await q("list_products", conn, after_id=0, limit=100, q="Expand")
    assert [row["id"] for row in found] == [product["id"]]
    changed = await q(
        "update_product", conn, product_id=product["id"], name=None, description=None, price_cents=650, stock=None
    )
    assert changed["price_cents"] == 650

    cart = uuid.uuid4()
    await q("insert_cart", conn, cart_id=cart)
    assert await q("get_cart_status", conn, cart_id=cart, for_update=False) == "open"
    await q("upsert_cart_item", conn, cart_id=cart, product_id=product["id"], quantity=2)
    await q("upsert_cart_item", conn, cart_id=cart, product_id=earlier_product, quantity=1)
    await q("delete_cart_item", conn, cart_id=cart, product_id=earlier_product)
    lines = await q("cart_lines", conn, cart_id=cart)
    assert [(r["product_id"], r["quantity"], r["unit_price_cents"]) for r in lines] == [(product["id"], 2, 650)]
    if hasattr(q.module, "touch_cart"):  # releases with abandoned-cart expiry (issue 24) on
        await q("touch_cart", conn, cart_id=cart)
        assert await q("expire_carts", conn, ttl_hours=1, batch=10) == 0  # nothing here is an hour old

    for cart_id in (cart, earlier_cart):
        key = f"expand-contract-{uuid.uuid4().hex}"
        async with conn.transaction():
            locked = await q("lock_cart_and_find_key", conn, cart_id=cart_id, idempotency_key=key)
            assert (locked["status"], locked["order_id"]) == ("open", None)
            wanted = await q("lock_cart_products", conn, cart_id=cart_id)
            taken = await q(
                "take_stock",
                conn,
                product_ids=[w["product_id"] for w in wanted],
                quantities=[w["quantity"] for w in wanted],
            )
            assert len(taken) == len(wanted) > 0
            order_id = uuid.uuid4()
            created_at = await q(
                "record_order",
                conn,
                order_id=order_id,
                cart_id=cart_id,
                idempotency_key=key,
                total_cents=sum(t["quantity"] * t["unit_price_cents"] for t in taken),
                currency="USD",
                lines=taken,
            )
            assert created_at is not None
        assert (await q("find_order_by_key", conn, idempotency_key=key))["id"] == order_id
        order = await q("get_order", conn, order_id=order_id)
        assert [line["product_id"] for line in order["lines"]] == sorted(w["product_id"] for w in wanted)
        # This release reads what the previous one wrote on the new schema (both run during a deployment).
        assert await current_queries.get_order(conn, order_id) == order


def _run(pg: EmbeddedPostgres, scenario: Any) -> None:
    name = create_database(pg, template="template1")
    try:

        async def run() -> None:
            conn = await asyncpg.connect(pg.superuser_url(name))
            try:
                await scenario(conn)
            finally:
                await conn.close()

        asyncio.run(run())
    finally:
        drop_database(pg, name)


def test_previous_release_queries_work_after_the_newest_migration(
    release: tuple[str, ModuleType, Path], pg: EmbeddedPostgres
) -> None:
    """Upgrade as a deployment does (the previous release's migrations, its data, then every current
    migration), then run the previous release's every query on the result, as a rollback would."""
    rev, module, previous_migrations = release
    q = _Queries(module)

    async def scenario(conn: asyncpg.Connection) -> None:
        await migrate.apply(conn, previous_migrations)
        product = await q(
            "insert_product",
            conn,
            sku=f"EC-{uuid.uuid4().hex[:8]}",
            name="Written before the upgrade",
            description="",
            price_cents=300,
            currency="USD",
            stock=3,
        )
        cart = uuid.uuid4()
        await q("insert_cart", conn, cart_id=cart)
        await q("upsert_cart_item", conn, cart_id=cart, product_id=product["id"], quantity=1)
        await migrate.apply(conn)
        await _shop(q, conn, earlier_cart=cart, earlier_product=product["id"])

    _run(pg, scenario)
    assert q.called == q.functions(), f"queries of {rev[:12]} this scenario never ran: add them to _shop"
