"""Synth time of each profile (cdk-nag included) side by side with the seed's TypeScript synth.

Rounds alternate (seed, dev, staging, prod, seed, ...) so machine noise hits all alike; the median of
each is reported with the resource counts, plus the parts of one Python synth: interpreter + jsii
start-up (importing aws_cdk), building the construct tree, and synth with and without cdk-nag.

    uv run python bench/synth_bench.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED_SYNTH = REPO.parent / "shared" / "seed" / "ts-baseline" / "synth.sh"
PROFILES = ("dev", "staging", "prod")
ENV = os.environ | {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}

PHASES = """
import json, sys, time
t0 = time.perf_counter()
import aws_cdk
from aws_cdk import App
t1 = time.perf_counter()
from app import build_app
context = json.load(open("cdk.json"))["context"] | {"environment": sys.argv[1]}
app, stack = build_app(context, outdir=sys.argv[2])
t2 = time.perf_counter()
app.synth()
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "build": t2 - t1, "synth_with_nag": t3 - t2}))
"""

NO_NAG = """
import json, sys, time
from aws_cdk import App
from infra.context import load_config
from infra.stack import TapStack
t0 = time.perf_counter()
app = App(context=json.load(open("cdk.json"))["context"], outdir=sys.argv[2])
TapStack(app, "TapStack-" + sys.argv[1], config=load_config(sys.argv[1]))
app.synth()
print(json.dumps({"build_and_synth_without_nag": time.perf_counter() - t0}))
"""


def _timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO, env=ENV, check=True, capture_output=True)
    return time.perf_counter() - start


def _timings(script: str, outdir: Path) -> dict[str, float]:
    """Run one of the phase scripts above on prod; it prints its timings as JSON on its last line."""
    result = subprocess.run(
        [sys.executable, "-c", script, "prod", str(outdir)],
        cwd=REPO,
        env=ENV,
        check=True,
        capture_output=True,
        text=True,
    )
    timings: dict[str, float] = json.loads(result.stdout.splitlines()[-1])
    return timings


def _resources(template: Path) -> int:
    return len(json.loads(template.read_text())["Resources"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in ("seed", *PROFILES)}
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            out = Path(tmp) / f"seed{round_}"
            times["seed"].append(_timed(["bash", str(SEED_SYNTH), str(out)]))
            counts["seed"] = _resources(out / "TapStack.template.json")
            for profile in PROFILES:
                out = Path(tmp) / f"{profile}{round_}"
                command = [sys.executable, "app.py", "-c", f"environment={profile}"]
                start = time.perf_counter()
                subprocess.run(command, cwd=REPO, env=ENV | {"CDK_OUTDIR": str(out)}, check=True, capture_output=True)
                times[profile].append(time.perf_counter() - start)
                counts[profile] = _resources(out / f"TapStack-{profile}.template.json")
        phases = _timings(PHASES, Path(tmp) / "phases") | _timings(NO_NAG, Path(tmp) / "nonag")
    seed = statistics.median(times["seed"])
    machine = platform.processor() or platform.machine()
    print(f"machine: {os.cpu_count()} cores, {machine}, Python {platform.python_version()}")
    print(f"rounds: {args.rounds} (alternating), whole process wall time, median")
    print("| synth | median s | rounds s | resources | vs seed |")
    print("|---|---|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        rounds = ", ".join(f"{v:.2f}" for v in values)
        print(f"| {name} | {median:.2f} | {rounds} | {counts[name]} | {median / seed:.2f}x |")
    print(f"prod phases (one run, s): {json.dumps({k: round(v, 2) for k, v in phases.items()})}")


if __name__ == "__main__":
    main()
