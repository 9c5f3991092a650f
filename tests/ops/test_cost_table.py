"""ops/cost_table.py: what `make cost` computes for each real profile equals the recorded table, exactly.

A price, a count or a pricing rule that changes a figure fails here; a change meant to move the cost is
recorded with `make cost-table` and its diff of ops/cost-table.json reviewed.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from ops.cost import Prices
from ops.cost_table import TABLE, figures_of, load
from tests.synthesis import PROFILES, Synthesized

REGENERATE = "intended? `make cost-table`, then review `git diff ops/cost-table.json`"


@pytest.mark.parametrize("environment", PROFILES)
def test_each_profile_costs_what_the_table_records(synth: Callable[[str], Synthesized], environment: str) -> None:
    """Totals, every stack's subtotals and every kind's count, idle, max-scale and per-load cost, to the cent."""
    recorded = load()[environment]
    computed = figures_of(synth(environment).template_path.parent, Prices.load())
    # Compared as the file holds them (JSON numbers), line by line, so a failure names the kind that moved.
    computed = json.loads(json.dumps(computed))
    for stack in sorted(set(recorded["stacks"]) | set(computed["stacks"])):
        assert computed["stacks"].get(stack, {}).get("lines") == recorded["stacks"].get(stack, {}).get("lines"), (
            f"{environment} {stack}: {REGENERATE}"
        )
    assert computed == recorded, REGENERATE


def test_the_table_records_the_real_profiles_and_nothing_else() -> None:
    assert sorted(load()) == sorted(PROFILES), f"{TABLE}: {REGENERATE}"
