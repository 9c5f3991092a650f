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


async def _put_a_sold_unit_back(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "UPDATE products SET stock = stock + 1"
        " WHERE id = (SELECT product_id FROM order_lines ORDER BY product_id LIMIT 1)"
    )


@pytest.fixture(scope="module")
def drills() -> Iterator[tuple[Run, Run]]:
    """Two small drills at once: an untouched one as `make restore-drill` runs it, and a tampered one."""
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
            tampered_rc = main([*SMALL, "--work-dir", bad_dir], after_restore=_put_a_sold_unit_back)
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


def test_a_sold_unit_back_in_stock_after_restore_fails_the_drill(drills: tuple[Run, Run]) -> None:
    _, tampered = drills
    assert tampered.returncode == 1, tampered.output
    assert "restore drill: FAIL" in tampered.output
    assert re.search(r"^DIFFERENCE restored \(SQL\): product \d+ has \d+ in stock \+ \d+ sold", tampered.output, re.M)
    assert re.search(r"^DIFFERENCE restored database: table products: 1 missing", tampered.output, re.M)


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
