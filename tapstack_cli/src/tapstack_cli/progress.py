"""One way to wait with progress, and the tables every command prints.

A waiting command polls (every TAPSTACK_POLL_SECONDS, 5 by default) and prints a line each time what it
waits for changes, with the elapsed time, so an operator sees that it is alive and what it is doing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from typing import TextIO, TypeVar

from tapstack_cli.profile import CommandError

T = TypeVar("T")


def poll_seconds() -> float:
    """How often a waiting command asks AWS again."""
    return float(os.environ.get("TAPSTACK_POLL_SECONDS", "5"))


def wait_until(
    poll: Callable[[], T],
    done: Callable[[T], bool],
    show: Callable[[T], str],
    *,
    out: TextIO,
    what: str,
    timeout_seconds: float = 3600,
    on_poll: Callable[[], None] | None = None,
) -> T:
    """Poll until `done`, printing `show(state)` whenever it changes; CommandError after the timeout."""
    start = time.monotonic()
    last = None
    while True:
        state = poll()
        line = show(state)
        if line != last:
            print(f"  [{time.monotonic() - start:5.0f}s] {line}", file=out, flush=True)
            last = line
        if on_poll is not None:
            on_poll()
        if done(state):
            return state
        if time.monotonic() - start > timeout_seconds:
            raise CommandError(f"gave up waiting for {what} after {timeout_seconds:.0f} s (last: {line})")
        time.sleep(poll_seconds())


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Plain columns, as a terminal shows them and a transcript keeps them."""
    cells = [[str(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join([lines[0], "  ".join("-" * width for width in widths), *lines[1:]])
