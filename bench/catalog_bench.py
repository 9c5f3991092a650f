"""Catalog-scale benchmark (not a test): product search (`q=`) and listing pages at 200,000 products.

One run, one embedded PostgreSQL (durable settings), three databases seeded with `storefront seed` (the
demo catalog, storefront/src/storefront/demo.py) on migration 0001, as a production catalog exists before
the index migration arrives, then migrated:
- before: 200,000 products, migrations up to 0002 (the trigram index, timed), served with the search query
  of issue 16 (the trigram index or the id walk, chosen by the planner's estimate);
- after: the same 200,000 products, every migration (0005: the estimate's 300 samples), the service as it
  is (a short window of the id walk first, then the planner's choice on a corrected estimate);
- small: 1,000 products, every migration: the listing figures the 200,000-product ones are held to.
Every server is one uvicorn worker with the same flags. Requests are sent open loop at a fixed rate (latency
from each request's scheduled start, so queueing counts), at most `--max-in-flight` at once, each
measurement cut off after `--seconds` plus a grace period; rounds alternate the servers. Before measuring,
the before and after servers must give byte-identical answers for a set of terms over several pages.
Loopback only; every loop is bounded. The plans of one term per workload, before and after, are EXPLAIN
ANALYZEd on the before and after databases. Results: bench/RESULTS.md (section "Catalog search at any selectivity").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from storefront import demo
from storefront.db import migrate, queries
from storefront.db.embedded import EmbeddedPostgres, free_port

from storefront_bench import ADMIN_TOKEN, BIN, ROOT, RawClient, Server, cpu_seconds, machine, write_results

LOAD_AT_START = os.getloadavg()[0]
BIG, SMALL = 200_000, 1_000
INDEX_VERSION = 2  # the migration that adds the trigram index
SLOW = "(slow rate) "
# The search of issue 16, the "before": the planner picks the trigram index or the id walk by its estimate.
BEFORE_SQL = (
    "SELECT id, sku, name, description, price_cents, currency, stock FROM products"
    " WHERE id > $1 AND (name || ' ' || sku || ' ' || description) ILIKE $3"
    " AND (name ILIKE $3 OR sku ILIKE $3 OR description ILIKE $3)"
    " ORDER BY id LIMIT $2"
)


# -- the service as it was before (a uvicorn factory, run in the "before" server's process) ----------------
def before_app() -> Any:
    """The service with the search query of issue 16, planned for each term as it was."""
    from storefront.app import app_from_env

    async def search(conn: Any, after_id: int, limit: int, pattern: str) -> Any:
        async with conn.transaction():
            await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
            return [dict(r) for r in await conn.fetch(BEFORE_SQL, after_id, limit, pattern)]

    queries._search_products = search  # type: ignore[assignment]
    return app_from_env()


# -- workloads -------------------------------------------------------------------------------------------
def _name(n: int) -> str:
    return str(demo.product(n)["name"])


def search_workloads(rng: random.Random) -> dict[str, list[str]]:
    """Paths per selectivity, over the demo catalog's text (storefront/src/storefront/demo.py): product n is
    '<Colour> <material> <noun>', SKU '<CAT>-<n:06d>', a category sentence and 'Free returns within 30 days.'
    The number of matches at 200,000 products is in each comment."""

    def q(term: str) -> str:
        return "/api/products?" + urllib.parse.urlencode({"q": term, "limit": 20})

    category_words = [c.noun for c in demo.CATEGORIES] + [c.detail.split()[1] for c in demo.CATEGORIES]
    return {
        # 0 matches: words no product has
        "q no match": [q(f"{w} {rng.randint(1, BIG)}") for w in ("zebra", "quokka", "yodel") for _ in range(60)],
        # 1 match: a SKU
        "q one match": [q(str(demo.product(rng.randint(1, BIG))["sku"])) for _ in range(200)],
        # 347 or 348 matches: a product's full name (one colour, material and category in 576)
        "q a few hundred": [q(_name(rng.randint(1, BIG))) for _ in range(200)],
        # 4,168-4,176 matches: a material and a category's noun (one product in 48), which the planner
        # estimates at a row or two when ANALYZE's sample of 100 texts holds none
        "q one in 48 (two words)": [q(f"{m} {c.noun}") for c in demo.CATEGORIES for m in c.materials],
        # 25,000 matches: a category's noun or a word of its sentence (one product in 8)
        "q one in eight": [q(w) for w in category_words],
        # 200,000 matches: what every description says
        "q nearly every": [q(t) for t in ("free returns", "Returns within 30 days", "within", "days.", "Free")],
        # The index's limits, sent at --slow-rate (one such search reads the whole table either way):
        # two letters give no trigram to look up, so the planner scans (matches nothing);
        SLOW + "q 2-char miss": [q(t) for t in ("zq", "qx", "jj", "xz", "qq")],
        # frequent words in an order no product has: every trigram is in every row, no product matches.
        SLOW + "q frequent-trigram miss": [q(t) for t in ("returns free", "days within", "within free")],
    }


# One term per workload for the plans (EXPLAIN ANALYZE, first page of 20), and the number each matches.
PLAN_TERMS = {
    "q no match": "zebra 4242",
    "q one match": "SHI-123457",
    "q a few hundred": _name(4242),
    "q one in 48 (two words)": "stoneware mug",
    "q one in eight": "shirt",
    "q nearly every": "free returns",
    "q frequent-trigram miss": "returns free",
}


def listing_workloads(port: int, rng: random.Random) -> dict[str, list[str]]:
    """The first page, and pages at random depths reached by following next_cursor through the catalog."""
    cursors: list[str] = []
    cursor: str | None = None
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        for _ in range(BIG // 100 + 2):  # bounded: one page of 100 per request
            params: dict[str, str | int] = {"limit": 100}
            if cursor:
                params["cursor"] = cursor
            cursor = client.get("/api/products", params=params).json()["next_cursor"]
            if cursor is None:
                break
            cursors.append(cursor)
    deep = [f"/api/products?limit=20&cursor={rng.choice(cursors)}" for _ in range(200)]
    return {"list first page": ["/api/products?limit=20"], "list deep pages": deep}


# -- open-loop load --------------------------------------------------------------------------------------
@dataclass
class Load:
    rate: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    unfinished: int = 0
    achieved_rate: float = 0.0
    cpu_ms: float = 0.0  # server and PostgreSQL CPU time per request


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


async def open_loop(port: int, paths: list[str], rate: float, seconds: float, max_in_flight: int) -> Load:
    """GET `paths` round-robin at `rate` per second for `seconds`; an unanswered request counts as cut off."""
    client = RawClient(port)
    slots = asyncio.Semaphore(max_in_flight)
    result = Load(rate)
    loop = asyncio.get_running_loop()
    grace = 20.0

    async def one(path: str, scheduled: float) -> None:
        raw = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        async with slots:
            status = await client.request(raw)
        result.latencies_ms.append((loop.time() - scheduled) * 1000)
        result.statuses[status] = result.statuses.get(status, 0) + 1

    start = loop.time() + 0.05
    tasks = []
    for i in range(int(rate * seconds)):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(paths[i % len(paths)], scheduled)))
    done, pending = await asyncio.wait(tasks, timeout=max(0.0, start + seconds + grace - loop.time()))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            result.statuses[0] = result.statuses.get(0, 0) + 1
    result.unfinished = len(pending)
    result.achieved_rate = len(tasks) / (loop.time() - start)
    # A cut-off request took at least as long as the measurement allowed.
    result.latencies_ms += [(seconds + grace) * 1000] * len(pending)
    for _, writer in client.idle:
        writer.close()
    return result


async def sequential(ports: dict[str, int], paths: list[str], count: int) -> dict[str, list[float]]:
    """`count` requests one at a time to each server, interleaved (path i to every server, then path i+1), so
    that both meet the same moments of the machine's load; latency of each, in ms."""
    clients = {name: RawClient(port) for name, port in ports.items()}
    latencies: dict[str, list[float]] = {name: [] for name in ports}
    loop = asyncio.get_running_loop()
    for i in range(count):
        raw = f"GET {paths[i % len(paths)]} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
        for name, client in clients.items():
            started = loop.time()
            status = await client.request(raw)
            latencies[name].append((loop.time() - started) * 1000)
            assert status == 200, (name, paths[i % len(paths)], status)
    for client in clients.values():
        for _, writer in client.idle:
            writer.close()
    return latencies


def postgres_cpu_seconds(pg: EmbeddedPostgres) -> float:
    """CPU time of the whole PostgreSQL cluster so far, including exited parallel workers (reaped by the
    postmaster, so counted in its children's times)."""
    postmaster = psutil.Process(int((pg.pgdata / "postmaster.pid").read_text().split("\n", 1)[0]))
    own = postmaster.cpu_times()
    total = own.user + own.system + own.children_user + own.children_system
    for child in postmaster.children():
        with contextlib.suppress(psutil.NoSuchProcess):
            t = child.cpu_times()
            total += t.user + t.system
    return total


def measure(server: Server, pg: EmbeddedPostgres, paths: list[str], rate: float, args: argparse.Namespace) -> Load:
    """One open-loop measurement, with the CPU it cost the server and the database per request."""
    assert server.proc is not None
    before = cpu_seconds(server.proc.pid) + postgres_cpu_seconds(pg)
    result = asyncio.run(open_loop(server.port, paths, rate, args.seconds, args.max_in_flight))
    if result.unfinished:
        wait_until_idle(server)
    used = cpu_seconds(server.proc.pid) + postgres_cpu_seconds(pg) - before
    result.cpu_ms = used * 1000 / max(1, len(result.latencies_ms))
    return result


def wait_until_idle(server: Server, limit_s: float = 60) -> None:
    """After a cut-off measurement the server may still be working through its backlog."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        with contextlib.suppress(httpx.TransportError):
            httpx.get(server.url("/api/products/1"), timeout=limit_s)
        if time.perf_counter() - t0 < 0.05:
            return
        time.sleep(0.5)


# -- setup -----------------------------------------------------------------------------------------------
def cli(args: list[str], url: str, env: dict[str, str], migrations: Path | None = None) -> float:
    """Run the `storefront` command line against `url`; returns its wall seconds."""
    cli_env = env | {"DATABASE_URL": url}
    if migrations is not None:
        cli_env["STOREFRONT_MIGRATIONS_DIR"] = str(migrations)
    t0 = time.perf_counter()
    done = subprocess.run([str(BIN / "storefront"), *args], env=cli_env, capture_output=True, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"storefront {args[0]} failed: {done.stdout.decode()[-2000:]}{done.stderr.decode()[-2000:]}")
    return time.perf_counter() - t0


async def vacuum_analyze(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE products")
    finally:
        await conn.close()


async def create_databases(pg: EmbeddedPostgres, names: list[str]) -> None:
    conn = await asyncpg.connect(pg.superuser_url("postgres"))
    try:
        for name in names:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def sizes(url: str) -> dict[str, str]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT pg_size_pretty(pg_table_size('products')) AS table,"
            " pg_size_pretty(coalesce(pg_relation_size(to_regclass('products_search_trgm_idx')), 0)) AS trgm_index"
        )
        assert row is not None
        return dict(row)
    finally:
        await conn.close()


def check_same_answers(before: Server, after: Server) -> int:
    """The before and after servers answer every term the same, byte for byte, page after page (at two page
    sizes, so pages end inside and beyond the window); returns pages compared."""
    terms = [
        "shirt", "free returns", "Ochre linen shirt", "SHI-000121", "SHI-00012", "navy cotton", "cotton shirt",
        "zebra", "000", "e", "zq", "%", "_", "\\", "é", "returns free",
    ]  # fmt: skip
    compared = 0
    with httpx.Client(timeout=60) as client:
        for term in terms:
            for limit in (7, 40):
                cursor: str | None = None
                for _ in range(4):
                    params: dict[str, str | int] = {"q": term, "limit": limit}
                    if cursor:
                        params["cursor"] = cursor
                    a = client.get(before.url("/api/products"), params=params)
                    b = client.get(after.url("/api/products"), params=params)
                    if a.status_code != 200 or a.content != b.content:
                        raise SystemExit(f"before and after differ for q={term!r}: {a.text[:300]} / {b.text[:300]}")
                    compared += 1
                    cursor = a.json()["next_cursor"]
                    if cursor is None:
                        break
    return compared


def _pattern(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _plan_text(rows: list[Any]) -> list[str]:
    return [r[0] for r in rows if not r[0].strip().startswith(("Storage:", "Index Searches:"))]


async def explain_plans(before_url: str, after_url: str) -> dict[str, dict[str, Any]]:
    """EXPLAIN (ANALYZE, BUFFERS) of each PLAN_TERMS term's first page of 20, before (issue 16's query on
    its schema) and after, with its match count; each plan run twice and the second kept (caches warm)."""
    before_conn, after_conn = await asyncpg.connect(before_url), await asyncpg.connect(after_url)
    out: dict[str, dict[str, Any]] = {}
    try:
        for conn in (before_conn, after_conn):
            await conn.execute("SET plan_cache_mode = force_custom_plan")
        for workload, term in PLAN_TERMS.items():
            pattern = _pattern(term)
            matches = await after_conn.fetchval(
                "SELECT count(*) FROM products WHERE name ILIKE $1 OR sku ILIKE $1 OR description ILIKE $1", pattern
            )
            entry: dict[str, Any] = {"term": term, "matches": matches}
            for _ in range(2):
                rows = await before_conn.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + BEFORE_SQL, 0, 21, pattern)
            entry["before"] = _plan_text(rows)
            # After: the window statement, then the step beyond it when the window returned where it ended.
            window_sql = queries.search_window_sql(21)
            for _ in range(2):
                rows = await after_conn.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + window_sql, 0, pattern, 21)
            entry["after"] = _plan_text(rows)
            found = await after_conn.fetch(window_sql, 0, pattern, 21)
            end = [r["id"] for r in found if r["window_end"]]
            if end:
                args = (end[0], pattern, 21 - (len(found) - 1))
                for _ in range(2):
                    rows = await after_conn.fetch(
                        "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + queries.SEARCH_BEYOND_SQL, *args
                    )
                entry["after"] += ["-- then, beyond the window:", *_plan_text(rows)]
            out[workload] = entry
    finally:
        await before_conn.close()
        await after_conn.close()
    return out


# -- the run ---------------------------------------------------------------------------------------------
def main() -> int:  # noqa: C901, PLR0915 - one linear script of rounds
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second, open loop")
    parser.add_argument("--slow-rate", type=float, default=4.0, help="for the searches no index can help")
    parser.add_argument("--max-in-flight", type=int, default=32)
    parser.add_argument("--sequential", type=int, default=300, help="requests one at a time per search workload")
    parser.add_argument("--write", action="store_true", help="write the Catalog search section of bench/RESULTS.md")
    args = parser.parse_args()

    rng = random.Random(16)  # noqa: S311 - reproducible workloads, not secrets
    workdir = Path(tempfile.mkdtemp(prefix="catalog-bench-"))
    pg = EmbeddedPostgres(workdir / "pg", durable=True)
    pg.start()
    servers: list[Server] = []
    try:
        asyncio.run(create_databases(pg, ["before", "after", "small"]))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "STOREFRONT_", "DATABASE_"))}
        env |= {"STOREFRONT_ADMIN_TOKEN": ADMIN_TOKEN}
        seed_migrations, before_migrations = workdir / "migrations-seed", workdir / "migrations-before"
        seed_migrations.mkdir()
        before_migrations.mkdir()
        for m in migrate.load():
            if m.version < INDEX_VERSION:
                (seed_migrations / m.name).write_text(m.sql)
            if m.version <= INDEX_VERSION:
                (before_migrations / m.name).write_text(m.sql)
        # As in production, the index migration meets a catalog that already exists: seed on 0001, then
        # migrate (the index build is timed). Seeding into the indexed table works too, only slower.
        seeding = {
            name: cli(["seed", "--products", str(count)], pg.superuser_url(name), env, seed_migrations)
            for name, count in (("before", BIG), ("after", BIG), ("small", SMALL))
        }
        seeding["before: migrate to 0002"] = cli(["migrate"], pg.superuser_url("before"), env, before_migrations)
        seeding["after: migrate"] = cli(["migrate"], pg.superuser_url("after"), env)
        cli(["migrate"], pg.superuser_url("small"), env)
        for name in ("before", "after", "small"):
            asyncio.run(vacuum_analyze(pg.superuser_url(name)))
        storage = {name: asyncio.run(sizes(pg.superuser_url(name))) for name in ("before", "after")}
        print("seed seconds", {k: round(v, 1) for k, v in seeding.items()}, "sizes", storage, flush=True)
        plans = asyncio.run(explain_plans(pg.superuser_url("before"), pg.superuser_url("after")))

        def server(name: str, app: str, database: str) -> Server:
            port = free_port()
            cmd = [
                str(BIN / "uvicorn"), app, "--factory", "--app-dir", str(ROOT / "bench"),
                "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
            ]  # fmt: skip
            server_env = env | {"DATABASE_URL": pg.superuser_url(database), "STOREFRONT_MIGRATE_ON_START": "0"}
            return Server(name, cmd, port, server_env)

        before = server("before", "catalog_bench:before_app", "before")
        after = server("after", "storefront.app:app_from_env", "after")
        small = server("small", "storefront.app:app_from_env", "small")
        servers = [before, after, small]
        for s in servers:
            s.start(workdir)
        compared = check_same_answers(before, after)
        print(f"before and after answered {compared} search pages identically", flush=True)

        searches = search_workloads(rng)
        plan: dict[str, dict[str, list[str]]] = {
            "before": searches,
            "after": searches | listing_workloads(after.port, rng),
            "small": listing_workloads(small.port, rng),
        }
        for s in servers:  # warm-up: connections, caches, prepared statements
            for workload, paths in plan[s.name].items():
                asyncio.run(open_loop(s.port, paths, rate_of(workload, args), 1, args.max_in_flight))
            wait_until_idle(s)

        loads: dict[str, dict[str, list[Load]]] = {s.name: {w: [] for w in plan[s.name]} for s in servers}
        for r in range(args.rounds):
            for s in servers:  # alternate: before, after, small, before, ...
                for workload, paths in plan[s.name].items():
                    res = measure(s, pg, paths, rate_of(workload, args), args)
                    loads[s.name][workload].append(res)
                    print(f"round {r + 1} {s.name:6} {workload:24} {res.achieved_rate:5.1f} req/s"
                          f"  p50 {percentile(res.latencies_ms, 50):8.2f} ms"
                          f"  p99 {percentile(res.latencies_ms, 99):8.2f} ms"
                          f"  cpu {res.cpu_ms:6.2f} ms/req"
                          f"  statuses {res.statuses} cut off {res.unfinished}", flush=True)  # fmt: skip
        one_at_a_time: dict[str, dict[str, list[float]]] = {}
        for workload, paths in searches.items():
            if workload.startswith(SLOW):
                continue
            ports = {"before": before.port, "after": after.port}
            one_at_a_time[workload] = asyncio.run(sequential(ports, paths, args.sequential))
            print(f"sequential {workload:24} " + "  ".join(
                f"{name} p50 {percentile(v, 50):7.2f} p99 {percentile(v, 99):7.2f} ms"
                for name, v in one_at_a_time[workload].items()
            ), flush=True)  # fmt: skip
    finally:
        for s in servers:
            s.stop()
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    summary = summarise(loads, seeding, storage, compared, plans, one_at_a_time, args)
    print(summary)
    if args.write:
        write_results(summary, marker="search")
    return 0


def rate_of(workload: str, args: argparse.Namespace) -> float:
    return float(args.slow_rate if workload.startswith(SLOW) else args.rate)


@dataclass
class Pooled:
    p50: float
    p99: float
    round_p99s: list[float]
    errors: int
    cut_off: int
    cpu_ms: float

    @property
    def median_round_p99(self) -> float:
        return float(statistics.median(self.round_p99s))

    @property
    def rounds(self) -> str:
        return ", ".join(f"{p:.1f}" for p in self.round_p99s)


def pooled(results: list[Load]) -> Pooled:
    latencies = [x for r in results for x in r.latencies_ms]
    return Pooled(
        percentile(latencies, 50),
        percentile(latencies, 99),
        [percentile(r.latencies_ms, 99) for r in results],
        sum(n for r in results for status, n in r.statuses.items() if status != 200),
        sum(r.unfinished for r in results),
        float(statistics.median(r.cpu_ms for r in results)),
    )


NOTES = """\
- Workloads, over the demo catalog (`storefront seed`, storefront/src/storefront/demo.py): *no match*
  `zebra <n>`, `quokka <n>`, `yodel <n>`; *one match* a SKU (`SHI-123457`); *a few hundred* a product's
  full name (`Ochre linen shirt`: 347-348 products each); *one in 48* a material and a category
  (`stoneware mug`: 4,168-4,176 each); *one in eight* a category word (`shirt`, `dishwasher`: 25,000
  each); *nearly every* words every description has (`free returns`: 200,000).
- *before* is the search of issue 16: one statement, the trigram index or the id walk as the planner
  estimates; it multiplies the joined-text and the per-column selectivities as if independent, so a
  frequent multi-word term is estimated at a row or two, and then the index returns every match to be
  sorted. *after* walks the next 10 products per row asked for in id order first (210 for a page of 20;
  a term in a tenth of the catalog stops there), in a statement whose plan PostgreSQL caches (it does not
  depend on the term), then, only if that window found less than a page, lets the planner choose for the
  rest on an estimate that is no longer squared and rests on 300 sample texts (migration 0005)
  (storefront/src/storefront/db/queries.py). The plans' planning times are EXPLAIN's own: it plans every
  time, where the service reuses the window statement's cached plan.
- The two *(slow rate)* rows are what no index can help, sent at the slow rate because neither server
  sustains the main rate for them: a term under three characters has no trigram, and a term whose trigrams
  all occur in every product (`returns free`) makes the index return every row for the recheck. Both read
  the whole table, before and after; the answers stay those of the plain predicate.
- CPU ms/request: user + system time of the server's processes and of the whole PostgreSQL cluster over a
  measurement, divided by its requests, median of rounds: the work a search costs, which other sessions'
  load does not inflate the way it inflates latency.
- p99 per round is the p99 of that round's requests; the pooled p99 over all rounds is the worst few
  requests of the whole run, which on a shared machine is where other sessions' bursts land.
"""


def plan_lines(plans: dict[str, dict[str, Any]]) -> list[str]:
    lines = [
        "### The plans (EXPLAIN (ANALYZE, BUFFERS, COSTS OFF), first page of 20, before the load)",
        "",
        "| workload | term | matches | before: planning + execution, what ran | after: the same, both statements |",
        "|---|---|--:|---|---|",
    ]
    for workload, entry in plans.items():
        cells = []
        for name in ("before", "after"):
            text = entry[name]
            times = [
                float(x.split(":")[1].split()[0]) for x in text if x.startswith(("Execution Time", "Planning Time"))
            ]
            total = f"{sum(times):.3f} ms" if times else "?"
            ran = [
                x.strip().removeprefix("->  ").split(" (")[0]
                for x in text
                if "(actual" in x and "never executed" not in x and "CTE Scan" not in x and "Aggregate" not in x
            ]
            cells.append(f"{total}: " + " / ".join(dict.fromkeys(ran)))
        lines.append(f"| {workload} | `{entry['term']}` | {entry['matches']:,} | {cells[0]} | {cells[1]} |")
    lines += ["", "<details><summary>The full plans</summary>", ""]
    for workload, entry in plans.items():
        for name in ("before", "after"):
            lines += [f"{workload}, `{entry['term']}`, {name}:", "```", *entry[name], "```", ""]
    lines += ["</details>", ""]
    return lines


def summarise(
    loads: dict[str, dict[str, list[Load]]],
    seeding: dict[str, float],
    storage: dict[str, dict[str, str]],
    compared: int,
    plans: dict[str, dict[str, Any]],
    one_at_a_time: dict[str, dict[str, list[float]]],
    args: argparse.Namespace,
) -> str:
    m = machine()
    cmd = "make bench-catalog CATALOG_BENCH_ARGS='" + " ".join(sys.argv[1:]) + "'"
    n = int(args.rate * args.seconds)
    lines = [
        "## Catalog search at any selectivity (issue 25)",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: nproc {m['nproc']}, CPU {m['cpu']}, Python {m['python']}, kernel {m['kernel']}",
        f"- command: `{cmd}`",
        f"- load average (1 min) at start / end: {LOAD_AT_START:.2f} / {os.getloadavg()[0]:.2f}"
        " (the machine is shared: other processes compete for the 2 cores)",
        f"- setup: embedded PostgreSQL 18 (durable defaults), `storefront seed --products {BIG:,}` into *before*"
        f" and *after* and `--products {SMALL:,}` into *small*, each on migration 0001; then `storefront migrate`:"
        " *before* up to 0002 (the trigram index), *after* and *small* every migration (0005: 300 samples for"
        " the estimate), VACUUM ANALYZE; one uvicorn worker per server"
        f" (uvloop + httptools); open loop at {args.rate:g} req/s for {args.seconds:g} s ({n} requests) per"
        f" measurement (slow rate {args.slow_rate:g} req/s), at most {args.max_in_flight} in flight, latency from"
        f" each request's scheduled start; {args.rounds} alternating rounds",
        "- `storefront` command seconds: "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in seeding.items())
        + f"; sizes: before {storage['before']}, after {storage['after']}",
        f"- before and after gave byte-identical answers on {compared} search pages checked before measuring",
        "",
        f"### Search (`GET /api/products?q=...&limit=20`) at {BIG:,} products",
        "",
        "| workload | before p50 ms | before p99 ms | after p50 ms | after p99 ms | after p99, median of rounds |"
        " after p99 per round | CPU ms/request before, after | errors / cut off (before, after) |",
        "|---|--:|--:|--:|--:|--:|---|---|---|",
    ]
    for workload in loads["before"]:
        b, a = pooled(loads["before"][workload]), pooled(loads["after"][workload])
        lines.append(
            f"| {workload} | {b.p50:.2f} | {b.p99:.2f} | {a.p50:.2f} | {a.p99:.2f} | {a.median_round_p99:.2f} |"
            f" {a.rounds} | {b.cpu_ms:.2f}, {a.cpu_ms:.2f} | {b.errors}/{b.cut_off}, {a.errors}/{a.cut_off} |"
        )
    lines += [
        "",
        f"### Search one request at a time ({args.sequential} per workload and server, before and after interleaved)",
        "",
        "| workload | before p50 ms | before p99 ms | after p50 ms | after p99 ms |",
        "|---|--:|--:|--:|--:|",
    ]
    for workload, by_server in one_at_a_time.items():
        b, a = by_server["before"], by_server["after"]
        lines.append(
            f"| {workload} | {percentile(b, 50):.2f} | {percentile(b, 99):.2f} |"
            f" {percentile(a, 50):.2f} | {percentile(a, 99):.2f} |"
        )
    lines += [
        "",
        f"### Listing (`GET /api/products?limit=20`), {SMALL:,} against {BIG:,} products (after)",
        "",
        f"| workload | {SMALL:,} p50 ms | {SMALL:,} p99 ms | {SMALL:,} p99, median of rounds | {BIG:,} p50 ms |"
        f" {BIG:,} p99 ms | {BIG:,} p99, median of rounds | {SMALL:,} / {BIG:,} p99 per round |"
        f" CPU ms/request {SMALL:,}, {BIG:,} |",
        "|---|--:|--:|--:|--:|--:|--:|---|---|",
    ]
    for workload in loads["small"]:
        sm, a = pooled(loads["small"][workload]), pooled(loads["after"][workload])
        lines.append(
            f"| {workload} | {sm.p50:.2f} | {sm.p99:.2f} | {sm.median_round_p99:.2f} | {a.p50:.2f} | {a.p99:.2f} |"
            f" {a.median_round_p99:.2f} | {sm.rounds} / {a.rounds} | {sm.cpu_ms:.2f}, {a.cpu_ms:.2f} |"
        )
    lines += ["", NOTES, *plan_lines(plans)]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
