"""Storefront benchmark (not a test): catalog reads against a bare ASGI baseline, and checkout latency.

One run, one embedded PostgreSQL (durable settings), the same number of worker processes for every server:
- reads: GET /api/products and GET /api/products/{id} with wrk (closed loop, fixed connections), rounds
  alternating service / contract floor / baseline (bench/baseline_app.py), medians compared;
- checkout: POST /api/orders at a fixed arrival rate (open loop, latency measured from each request's
  scheduled start, so queueing counts), then the database is checked for oversells;
- RSS of the service's worker after the run.
Loopback only; every loop is bounded. Results go to bench/RESULTS.md (section "Storefront").
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import psutil
from storefront.db import migrate
from storefront.db.embedded import EmbeddedPostgres, free_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ADMIN_TOKEN = "bench-admin-token-0123456789"  # noqa: S105 - a local throwaway
CATALOG_SIZE = 1000
RANDOM_ID_LUA = (
    "math.randomseed(42)\n"
    "request = function()\n"
    f'  return wrk.format("GET", "/api/products/" .. math.random(1, {CATALOG_SIZE}))\n'
    "end\n"
)


@dataclass
class Server:
    name: str
    cmd: list[str]
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    def start(self, workdir: Path) -> None:
        self.log = workdir / f"{self.name}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url("/api/products/1"), timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not start")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def worker_rss_mib(self) -> float:
        assert self.proc is not None
        parent = psutil.Process(self.proc.pid)
        procs = [parent, *parent.children(recursive=True)]
        # The worker is the process serving requests: the largest python process in the tree.
        return max(p.memory_info().rss for p in procs) / 2**20

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us: float = 0.0  # server CPU time (user + system, all its processes) per request


def cpu_seconds(pid: int) -> float:
    parent = psutil.Process(pid)
    total = 0.0
    for proc in [parent, *parent.children(recursive=True)]:
        t = proc.cpu_times()
        total += t.user + t.system
    return total


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(
    url: str, seconds: float, connections: int, script: Path | None = None, server_pid: int | None = None
) -> WrkResult:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", url]
    if script is not None:
        cmd[1:1] = ["-s", str(script)]
    cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    cpu_used = cpu_seconds(server_pid) - cpu_before if server_pid else 0.0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert m, out
        return float(m.group(1)) * _UNITS[m.group(2)]

    errors = 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(g) for g in m.groups())
    return WrkResult(rps, pct("50"), pct("99"), errors, cpu_used / max(total, 1) * 1e6)


# -- open-loop checkout ------------------------------------------------------------------------------
class RawClient:
    """A minimal keep-alive HTTP/1.1 client (asyncio streams): cheap enough not to distort latencies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(self, raw: bytes) -> int:
        reused = bool(self.idle)
        conn = self.idle.pop() if reused else await asyncio.open_connection("127.0.0.1", self.port)
        try:
            status = await self._exchange(conn, raw)
        except (asyncio.IncompleteReadError, ConnectionError):
            conn[1].close()
            if not reused:
                raise
            # The server closed an idle keep-alive connection; the request never reached the app (and
            # carries an Idempotency-Key anyway): send it once more on a new connection.
            conn = await asyncio.open_connection("127.0.0.1", self.port)
            status = await self._exchange(conn, raw)
        self.idle.append(conn)
        return status

    @staticmethod
    async def _exchange(conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], raw: bytes) -> int:
        reader, writer = conn
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        return status

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


@dataclass
class CheckoutResult:
    rate: float
    sent: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int] = field(default_factory=dict)
    achieved_rate: float = 0.0


async def open_loop_checkout(port: int, cart_ids: list[uuid.UUID], rate: float) -> CheckoutResult:
    client = RawClient(port)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    loop = asyncio.get_running_loop()

    async def one(cart_id: uuid.UUID, scheduled: float) -> None:
        body = json.dumps({"cart_id": str(cart_id)}).encode()
        raw = (
            b"POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Idempotency-Key: {uuid.uuid4().hex}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        status = await client.request(raw)
        latencies.append((loop.time() - scheduled) * 1000)
        statuses[status] = statuses.get(status, 0) + 1

    start = loop.time() + 0.1
    tasks = []
    for i, cart_id in enumerate(cart_ids):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(cart_id, scheduled)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    elapsed = loop.time() - start
    client.close()
    latencies.sort()
    return CheckoutResult(
        rate=rate,
        sent=len(cart_ids),
        p50_ms=statistics.median(latencies),
        p99_ms=latencies[int(len(latencies) * 0.99) - 1],
        max_ms=latencies[-1],
        statuses=dict(sorted(statuses.items())),
        achieved_rate=len(cart_ids) / elapsed,
    )


async def prepare_checkout(url: str, carts: int, products: int, stock_each: int) -> tuple[str, list[uuid.UUID]]:
    """Products with limited stock and one-line carts for them, made directly in SQL (not timed)."""
    conn = await asyncpg.connect(url)
    try:
        prefix = uuid.uuid4().hex[:6]
        ids = [
            await conn.fetchval(
                "INSERT INTO products (sku, name, price_cents, stock) VALUES ($1, $2, 500, $3) RETURNING id",
                f"CHK-{prefix}-{n}",
                f"Checkout product {n}",
                stock_each,
            )
            for n in range(products)
        ]
        cart_ids = [uuid.uuid4() for _ in range(carts)]
        await conn.copy_records_to_table("carts", records=[(c,) for c in cart_ids], columns=["id"])
        await conn.copy_records_to_table(
            "cart_items",
            records=[(c, ids[i % products], 1) for i, c in enumerate(cart_ids)],
            columns=["cart_id", "product_id", "quantity"],
        )
        return f"CHK-{prefix}-%", cart_ids
    finally:
        await conn.close()


async def oversells(url: str, prefix_like: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE p.stock < 0) AS negative,"
            " coalesce(sum(p.stock), 0) AS left_in_stock,"
            " (SELECT coalesce(sum(ol.quantity), 0) FROM order_lines ol"
            "   JOIN products q ON q.id = ol.product_id"
            "   WHERE q.sku LIKE $1) AS sold,"
            " (SELECT count(*) FROM orders) AS orders"
            " FROM products p WHERE p.sku LIKE $1",
            prefix_like,
        )
        assert row is not None
        return {k: int(v) for k, v in dict(row).items()}
    finally:
        await conn.close()


# -- the run -----------------------------------------------------------------------------------------
def machine() -> dict[str, str]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


LOAD_AT_START = os.getloadavg()[0]


# -- garbage-collection pauses inside each server --------------------------------------------------
# Installed into every server through PYTHONPATH: times each collection in thread CPU time (another process
# taking the core does not count) and writes the figures when the server exits.
GC_PROBE = """
import atexit, gc, json, os, signal, sys, time

_path = os.environ.get("BENCH_GC_PROBE")
if _path:
    _started = {}
    _pauses = {0: [], 1: [], 2: []}

    def _time(phase, info):
        if phase == "start":
            _started[info["generation"]] = time.thread_time()
        else:
            generation = info["generation"]
            _pauses[generation].append((time.time(), (time.thread_time() - _started[generation]) * 1000))

    def _write():
        with open(f"{_path}.{os.getpid()}", "w") as out:
            json.dump(_pauses, out)

    gc.callbacks.append(_time)
    atexit.register(_write)
    # uvicorn hands SIGTERM back to the previous handler after its graceful shutdown: exit through atexit.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
"""


def install_gc_probe(servers: list[Server], workdir: Path) -> None:
    probe = workdir / "gc-probe"
    probe.mkdir()
    (probe / "sitecustomize.py").write_text(GC_PROBE)
    for s in servers:
        path = s.env.get("PYTHONPATH")
        s.env = s.env | {
            "PYTHONPATH": f"{probe}:{path}" if path else str(probe),
            "BENCH_GC_PROBE": str(workdir / f"gc-{s.name}"),
        }


def gc_pauses(servers: list[Server], workdir: Path, since: float) -> dict[str, dict[int, list[float]]]:
    """Each server's collections after `since` (the end of start-up), from its worker's dump."""
    found: dict[str, dict[int, list[float]]] = {}
    for s in servers:
        dumps = [json.loads(p.read_text()) for p in workdir.glob(f"gc-{s.name}.*")]
        if dumps:
            biggest = max(dumps, key=lambda d: sum(len(v) for v in d.values()))
            found[s.name] = {int(g): [ms for t, ms in v if t > since] for g, v in biggest.items()}
    return found


def main() -> int:  # noqa: C901, PLR0915 - one linear script of rounds
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--checkout-rate", type=float, default=200.0)
    parser.add_argument("--checkout-seconds", type=float, default=10.0)
    parser.add_argument("--checkout-rounds", type=int, default=2)
    parser.add_argument("--variants", action="store_true", help="also run the service under granian")
    parser.add_argument("--write", action="store_true", help="write the Storefront section of bench/RESULTS.md")
    parser.add_argument(
        "--before",
        metavar="REV",
        action="append",
        default=[],
        help="also run the service as of this git revision (repeatable), alternating with the others",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is needed for the read benchmark: apt-get install wrk", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="storefront-bench-"))
    pg = EmbeddedPostgres(workdir / "pg", durable=True)
    pg.start()
    servers: list[Server] = []
    serving_since = float("inf")
    try:
        url = pg.superuser_url("bench")

        async def setup() -> None:
            conn = await asyncpg.connect(pg.superuser_url("postgres"))
            await conn.execute("CREATE DATABASE bench")
            await conn.close()
            conn = await asyncpg.connect(url)
            await migrate.apply(conn)
            await conn.execute(
                "INSERT INTO products (sku, name, description, price_cents, stock)"
                " SELECT format('SKU-%s', n), format('Product %s', n), 'A product used by the benchmark.',"
                " 100 + n, 1000000 FROM generate_series(1, $1) n",
                CATALOG_SIZE,
            )
            await conn.execute("ANALYZE")
            await conn.close()

        asyncio.run(setup())
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "STOREFRONT_"))}
        env |= {
            "DATABASE_URL": url,
            "STOREFRONT_ADMIN_TOKEN": ADMIN_TOKEN,
            "STOREFRONT_MIGRATE_ON_START": "0",
        }
        w = str(args.workers)
        service = Server(
            "service",
            [
                str(BIN / "storefront"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(free_port()),
                "--workers",
                w,
            ],
            0,
            env,
        )
        service.port = int(service.cmd[service.cmd.index("--port") + 1])
        baseline = baseline_server("baseline", "baseline_app:app", w, env)
        floor = baseline_server("contract-floor", "baseline_app:contract_app", w, env)
        servers = [service, floor, baseline]
        for i, rev in enumerate(args.before):
            servers.insert(i, before_service(rev, service, workdir))
        if args.variants:
            nolog = Server(
                "service-no-access-log", list(service.cmd), free_port(), env | {"STOREFRONT_ACCESS_LOG": "0"}
            )
            nolog.cmd[nolog.cmd.index("--port") + 1] = str(nolog.port)
            servers.append(nolog)
            gport = free_port()
            servers.append(
                Server(
                    "service-granian",
                    [
                        str(BIN / "granian"), "--interface", "asgi", "--host", "127.0.0.1",
                        "--port", str(gport),
                        "--workers", w, "--loop", "uvloop", "--factory", "--no-access-log",
                        "storefront.app:app_from_env",
                    ],
                    gport,
                    env,
                )
            )  # fmt: skip
        install_gc_probe(servers, workdir)
        for s in servers:
            s.start(workdir)
        serving_since = time.time()
        script = workdir / "random_id.lua"
        script.write_text(RANDOM_ID_LUA)
        endpoints = {"list": ("/api/products?limit=20", None), "get": ("/api/products/1", script)}
        for s in servers:  # warm-up: connections, prepared statements, JIT-free but cache-warm
            for path, scr in endpoints.values():
                run_wrk(s.url(path), 1, args.connections, scr)

        reads: dict[str, dict[str, list[WrkResult]]] = {s.name: {e: [] for e in endpoints} for s in servers}
        for r in range(args.rounds):
            for s in servers:  # alternate: service, baseline, service, baseline, ...
                for endpoint, (path, scr) in endpoints.items():
                    assert s.proc is not None
                    res = run_wrk(s.url(path), args.seconds, args.connections, scr, s.proc.pid)
                    reads[s.name][endpoint].append(res)
                    print(f"round {r + 1} {s.name:16} {endpoint:4} {res.rps:8.0f} req/s"
                          f"  p50 {res.p50_ms:6.2f} ms  p99 {res.p99_ms:6.2f} ms"
                          f"  cpu {res.cpu_us:5.0f} us/req  errors {res.errors}",
                          flush=True)  # fmt: skip

        checkouts: list[CheckoutResult] = []
        checks: list[dict[str, int]] = []
        for _ in range(args.checkout_rounds):
            n = int(args.checkout_rate * args.checkout_seconds)
            # Demand exceeds stock by ~5%: the tail of each round exercises out_of_stock under load.
            like, carts = asyncio.run(prepare_checkout(url, n, 20, int(n / 20 * 0.95)))
            before = asyncio.run(oversells(url, like))
            result = asyncio.run(open_loop_checkout(service.port, carts, args.checkout_rate))
            after = asyncio.run(oversells(url, like))
            checkouts.append(result)
            checks.append(after | {"orders_placed": after["orders"] - before["orders"]})
            print(f"checkout {result.achieved_rate:.0f} req/s p50 {result.p50_ms:.2f} ms"
                  f" p99 {result.p99_ms:.2f} ms max {result.max_ms:.2f} ms statuses {result.statuses}"
                  f" db {checks[-1]}", flush=True)  # fmt: skip
        rss = {s.name: round(s.worker_rss_mib(), 1) for s in servers}
        print("worker RSS MiB", rss)
    finally:
        for s in servers:
            s.stop()
        pauses = gc_pauses(servers, workdir, serving_since)
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    summary = summarise(reads, checkouts, checks, rss, args, pauses)
    print(summary)
    if args.write:
        write_results(summary)
    return 0


def baseline_server(name: str, target: str, workers: str, env: dict[str, str]) -> Server:
    """One of bench/baseline_app.py's callables under the service's server settings."""
    port = free_port()
    return Server(
        name,
        [
            str(BIN / "uvicorn"), target, "--app-dir", str(ROOT / "bench"),
            "--host", "127.0.0.1",
            "--port", str(port), "--workers", workers, "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning",
        ],
        port,
        env,
    )  # fmt: skip


def before_service(rev: str, service: Server, workdir: Path) -> Server:
    """The service's code as of `rev` (its src tree from git, first on PYTHONPATH), same command and settings."""
    src = workdir / f"before-{rev}"
    src.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "storefront/src"], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    port = free_port()
    env = service.env | {"PYTHONPATH": str(src / "storefront" / "src")}
    cmd = list(service.cmd)
    cmd[cmd.index("--port") + 1] = str(port)
    return Server(f"service@{rev[:12]}", cmd, port, env)


def _median(results: list[WrkResult], attr: str) -> float:
    return float(statistics.median(getattr(r, attr) for r in results))


def summarise(
    reads: dict[str, dict[str, list[WrkResult]]],
    checkouts: list[CheckoutResult],
    checks: list[dict[str, int]],
    rss: dict[str, float],
    args: argparse.Namespace,
    pauses: dict[str, dict[int, list[float]]],
) -> str:
    m = machine()
    cmd = "make bench-storefront BENCH_ARGS='" + " ".join(sys.argv[1:]) + "'"
    lines = [
        "## Storefront",
        "",
        f"- date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- machine: nproc {m['nproc']}, CPU {m['cpu']}, Python {m['python']}, kernel {m['kernel']}",
        f"- command: `{cmd}`",
        f"- load average (1 min) at start / end: {LOAD_AT_START:.2f} / {os.getloadavg()[0]:.2f}"
        " (the machine is shared: other processes compete for the 2 cores)",
        f"- setup: {args.workers} worker process per server, uvloop + httptools,"
        f" wrk -t1 -c{args.connections}, {args.seconds:g} s per measurement,"
        f" {args.rounds} alternating rounds, medians; embedded PostgreSQL 18"
        f" (durable defaults) on the same machine; catalog of {CATALOG_SIZE} products",
        "",
        "### Catalog reads (median of rounds)",
        "",
        "| server | endpoint | req/s | p50 ms | p99 ms | vs baseline req/s | vs contract floor req/s"
        " | p99 / baseline p99 | server CPU us/req | baseline CPU / server CPU | rounds req/s | rounds p99 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, per in reads.items():
        for endpoint, results in per.items():
            if not results:
                continue
            rps = _median(results, "rps")
            base = _median(reads["baseline"][endpoint], "rps")
            floor = _median(reads["contract-floor"][endpoint], "rps")
            rounds = ", ".join(f"{r.rps:.0f}" for r in results)
            rounds_p99 = ", ".join(f"{r.p99_ms:.1f}" for r in results)
            cpu = _median(results, "cpu_us")
            base_cpu = _median(reads["baseline"][endpoint], "cpu_us")
            p99 = _median(results, "p99_ms")
            base_p99 = _median(reads["baseline"][endpoint], "p99_ms")
            lines.append(
                f"| {name} | {endpoint} | {rps:.0f} | {_median(results, 'p50_ms'):.2f} |"
                f" {p99:.2f} | {rps / base:.0%} | {rps / floor:.0%} | {p99 / base_p99:.2f}x | {cpu:.0f} |"
                f" {base_cpu / cpu:.0%} |"
                f" {rounds} | {rounds_p99} |"
            )
    lines += [
        "",
        f"### Checkout (POST /api/orders, open loop at {args.checkout_rate:g} req/s for {args.checkout_seconds:g} s)",
        "",
        "| round | achieved req/s | p50 ms | p99 ms | max ms | statuses | oversold (negative stock) |"
        " stock left + sold = initial |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, (c, chk) in enumerate(zip(checkouts, checks, strict=True), 1):
        lines.append(
            f"| {i} | {c.achieved_rate:.0f} | {c.p50_ms:.2f} | {c.p99_ms:.2f} | {c.max_ms:.2f} |"
            f" {c.statuses} | {chk['negative']} | {chk['left_in_stock']} + {chk['sold']} |"
        )
    if pauses:
        lines += [
            "",
            "### Garbage collections inside each server (after start-up; thread CPU time of each collection)",
            "",
            "| server | gen 0: count, total ms, max ms | gen 1: count, total ms, max ms |"
            " gen 2 (full): count, total ms, max ms |",
            "|---|---|---|---|",
        ]
        for name, per_gen in pauses.items():
            cells = [
                f"{len(p)}, {sum(p):.1f}, {max(p, default=0):.2f}" for p in (per_gen.get(g, []) for g in (0, 1, 2))
            ]
            lines.append(f"| {name} | {' | '.join(cells)} |")
    lines += ["", f"Worker RSS after the run (MiB): {rss}", ""]
    return "\n".join(lines)


def write_results(section: str, marker: str = "storefront") -> None:
    """Replace the generated `<!-- marker:begin/end -->` block of bench/RESULTS.md with `section`."""
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n\n"
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    block = f"{begin}\n{section}\n{end}"
    if begin in text:
        text = text[: text.index(begin)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
