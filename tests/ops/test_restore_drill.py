"""ops/restore_drill.py: a small drill passes, a tampered restore fails it, and nothing it started outlives it."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import psutil
import pytest

from ops.restore_drill import DrillResult, main, running_server

REPO = Path(__file__).resolve().parents[2]
ORDERS = 40
SMALL = ["--orders", str(ORDERS), "--products", "6", "--concurrency", "16"]


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    work_parent: Path

    def figure(self, name: str) -> str:
        match = re.search(rf"^{re.escape(name)}:\s+(.+)$", self.output, re.MULTILINE)
        assert match, f"no figure {name!r} in:\n{self.output}"
        return match.group(1)

    def pids(self) -> list[int]:
        match = re.search(r"^cleanup: stopped server and service processes ([\d ]+);", self.output, re.MULTILINE)
        assert match, self.output
        return [int(p) for p in match.group(1).split()]


# What the tampering hook changed in the restored database, for the tests to name.
TAMPERED: dict[str, str] = {}


async def _break_each_invariant(conn: asyncpg.Connection) -> None:
    """One change per invariant the drill claims, each on different rows, each with its own DIFFERENCE line:
    a sold unit back in stock, units that vanish with an order line, a lost idempotency key, a row of a table
    nothing else reads (cart_items), an index, a sequence position."""
    product = await conn.fetchval("SELECT product_id FROM order_lines ORDER BY product_id LIMIT 1")
    await conn.execute("UPDATE products SET stock = stock + 1 WHERE id = $1", product)
    line = await conn.fetchrow(
        "SELECT order_id, product_id FROM order_lines WHERE product_id <> $1"
        " ORDER BY product_id DESC, order_id LIMIT 1",
        product,
    )
    await conn.execute("DELETE FROM order_lines WHERE order_id = $1 AND product_id = $2", *line)
    key = await conn.fetchval(
        "SELECT idempotency_key FROM orders WHERE id <> $1 AND id NOT IN"
        " (SELECT order_id FROM order_lines WHERE product_id = $2) ORDER BY id LIMIT 1",
        line["order_id"],
        product,
    )
    await conn.execute("UPDATE orders SET idempotency_key = idempotency_key || '-lost' WHERE idempotency_key = $1", key)
    await conn.execute(
        "DELETE FROM cart_items WHERE (cart_id, product_id) = (SELECT cart_id, product_id FROM cart_items"
        " ORDER BY cart_id, product_id LIMIT 1)"
    )
    await conn.execute("DROP INDEX order_lines_product_idx")
    await conn.execute("SELECT setval(pg_get_serial_sequence('products', 'id'), 100000)")
    TAMPERED.update(
        product=str(product), vanished_product=str(line["product_id"]), order=str(line["order_id"]), key=key
    )


@pytest.fixture(scope="module")
def drills() -> Iterator[tuple[Run, Run]]:
    """Two small drills at once: an untouched one as `make restore-drill` runs it, and one whose restored
    database is tampered with in-process (one change per invariant, see _break_each_invariant)."""
    with (
        tempfile.TemporaryDirectory(prefix="drill-ok-") as ok_dir,
        tempfile.TemporaryDirectory(prefix="drill-tampered-") as bad_dir,
    ):
        untouched = subprocess.Popen(
            [sys.executable, "-m", "ops.restore_drill", *SMALL, "--work-dir", ok_dir],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            tampered_rc = main([*SMALL, "--work-dir", bad_dir], after_restore=_break_each_invariant)
        untouched_output, _ = untouched.communicate(timeout=120)
        yield (
            Run(untouched.returncode, untouched_output, Path(ok_dir)),
            Run(tampered_rc, output.getvalue(), Path(bad_dir)),
        )


def _alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for a parent (pg_ctl's daemonised server belongs to init)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_an_untouched_restore_passes_the_drill(drills: tuple[Run, Run]) -> None:
    untouched, _ = drills
    assert untouched.returncode == 0, untouched.output
    assert "restore drill: PASS" in untouched.output
    assert "DIFFERENCE" not in untouched.output


def test_the_drill_prints_orders_placed_and_rejected_and_its_timings(drills: tuple[Run, Run]) -> None:
    untouched, _ = drills
    placed = int(untouched.figure("orders placed"))
    rejected = int(untouched.figure("orders rejected out of stock"))
    assert placed + rejected == ORDERS
    assert placed > 0 and rejected > 0, "some orders must lose the race for the last units"
    assert untouched.figure("keys replayed to their same order") == f"{placed} of {placed}"
    for timing in ("seconds to back up (pg_dump, service running)", "seconds to restore (pg_restore)"):
        assert float(untouched.figure(timing)) > 0
    assert untouched.figure("dump size").endswith(" KiB")


def _difference(run: Run, pattern: str) -> None:
    assert run.returncode == 1, run.output
    assert "restore drill: FAIL" in run.output
    assert re.search(rf"^DIFFERENCE {pattern}", run.output, re.M), f"no DIFFERENCE {pattern!r} in:\n{run.output}"


def test_a_sold_unit_back_in_stock_after_restore_fails_the_drill(drills: tuple[Run, Run]) -> None:
    """Stock + sold == initial stock, per product, through SQL and through the API."""
    _, tampered = drills
    product = TAMPERED["product"]
    _difference(tampered, rf"restored \(SQL\): product {product} has \d+ in stock \+ \d+ sold")
    _difference(tampered, rf"restored \(API\): product {product} is ")
    _difference(tampered, r"restored database: table products: 1 missing")


def test_units_that_vanish_with_an_order_line_fail_the_drill(drills: tuple[Run, Run]) -> None:
    """No sold unit vanishes: the line's units are missing from sold, so the product no longer adds up."""
    _, tampered = drills
    _difference(tampered, rf"restored \(SQL\): product {TAMPERED['vanished_product']} has ")
    _difference(tampered, rf"restored \(API\): order {TAMPERED['order']} is ")
    _difference(tampered, r"restored database: table order_lines: 1 missing")


def test_a_lost_idempotency_key_fails_the_drill(drills: tuple[Run, Run]) -> None:
    """Every key answers with its own order again after the restore."""
    _, tampered = drills
    _difference(tampered, rf"replay: key {re.escape(TAMPERED['key'])} answered ")


def test_a_row_of_a_table_no_other_check_reads_fails_the_drill(drills: tuple[Run, Run]) -> None:
    """Every table is compared row for row: cart_items appears in no order, total or stock figure."""
    _, tampered = drills
    _difference(tampered, r"restored database: table cart_items: 1 missing")


def test_a_lost_index_or_sequence_position_fails_the_drill(drills: tuple[Run, Run]) -> None:
    """The schema (columns, constraints, indexes) and the sequences are compared too."""
    _, tampered = drills
    _difference(tampered, r"restored database: schema: 1 missing, e\.g\. \['index CREATE INDEX order_lines_product_idx")
    _difference(tampered, r"restored database: sequence positions ")


@pytest.mark.parametrize("which", ["untouched", "tampered"])
def test_the_drill_leaves_no_server_process_or_file_behind(drills: tuple[Run, Run], which: str) -> None:
    run = dict(zip(("untouched", "tampered"), drills, strict=True))[which]
    pids = run.pids()
    assert len(pids) == 4, "two PostgreSQL servers and two service processes"
    assert [p for p in pids if _alive(p)] == []
    assert list(run.work_parent.iterdir()) == []


def test_a_server_is_stopped_when_the_step_using_it_fails() -> None:
    result = DrillResult()
    with tempfile.TemporaryDirectory(prefix="drill-server-") as work:
        with pytest.raises(RuntimeError, match="step failed"), running_server(Path(work) / "pg", result) as server:
            assert server.running()
            raise RuntimeError("step failed")
        assert not server.running()
    assert result.pids and not _alive(result.pids[0])
