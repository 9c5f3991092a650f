"""The recorded cost figures of each real profile (ops/cost-table.json), regenerated on purpose.

`make cost-table` synthesizes each profile and records what `make cost` computes for it: per stack, the
idle, max-scale and per-load totals and every kind's line. tests/ops/test_cost_table.py computes the same
figures from the session's syntheses and compares them with this file exactly, so a price off by ten, a
lost NAT gateway or a doubled task count fails a test; a change meant to move the cost is one command and
a reviewed diff:

    make cost-table && git diff ops/cost-table.json
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from ops.cost import CDK_OUT, PRICES, Prices, StackCost, estimate_app, stacks_of

TABLE = Path(__file__).with_name("cost-table.json")


def _usd(value: float) -> float:
    """To the cent: what the report prints, and stable across float summation order."""
    return round(value + 0.0, 2)


def figures(costs: list[StackCost]) -> dict[str, Any]:
    """The figures of one deployment's stacks: totals, and per stack its region, totals and lines by kind."""
    return {
        "total": {
            "idle": _usd(sum(cost.estimate.idle for cost in costs)),
            "max_scale": _usd(sum(cost.estimate.peak for cost in costs)),
            "per_million_requests": _usd(sum(cost.estimate.per_million for cost in costs)),
        },
        "stacks": {
            cost.name: {
                "region": cost.region,
                "idle": _usd(cost.estimate.idle),
                "max_scale": _usd(cost.estimate.peak),
                "per_million_requests": _usd(cost.estimate.per_million),
                "lines": {
                    line.kind: [line.count, _usd(line.idle), _usd(line.peak), _usd(line.per_million)]
                    for line in sorted(cost.estimate.by_kind(), key=lambda line: line.kind)
                },
            }
            for cost in sorted(costs, key=lambda cost: cost.name)
        },
    }


def figures_of(cdk_out: Path, prices: Prices) -> dict[str, Any]:
    """The figures of every stack in a cloud assembly, each at its region's prices."""
    return figures(estimate_app(stacks_of(cdk_out), prices))


def load(path: Path = TABLE) -> dict[str, Any]:
    table: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    return table


def record(environment: str, cdk_out: Path, prices: Prices, path: Path = TABLE) -> None:
    """Replace one profile's entry in the table with the figures of the assembly in `cdk_out`."""
    table = load(path)
    table[environment] = figures_of(cdk_out, prices)
    text = json.dumps(dict(sorted(table.items())), indent=1)
    # A line's four figures on one line: the reviewed diff shows which kind moved, and by how much.
    text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + ", ".join(x.strip() for x in m[1].split(",")) + "]", text)
    path.write_text(text + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--environment", "-e", required=True, help="the profile the assembly was synthesized for")
    parser.add_argument("--cdk-out", type=Path, default=CDK_OUT)
    parser.add_argument("--table", type=Path, default=TABLE)
    args = parser.parse_args(argv)
    record(args.environment, args.cdk_out, Prices.load(PRICES), args.table)
    print(f"{args.table}: recorded {args.environment}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
