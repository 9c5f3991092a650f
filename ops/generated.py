"""The command line of a generated document (docs/configuration.md, docs/api.md): write it, or with
--check say it is stale."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def generate(argv: list[str], *, output: Path, render: Callable[[], str], description: str) -> int:
    """Write `render()` to `output`; with --check, leave it and exit 1 when it differs."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if {output.name} is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if output.read_text() != text:
            print(f"{output} is stale: run `make docs` and commit it", file=sys.stderr)
            return 1
        return 0
    output.write_text(text)
    return 0
