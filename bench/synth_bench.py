"""Synth time of each profile (cdk-nag included) side by side with the seed's TypeScript synth.

Each synth is the whole app as `make synth` runs it: every stack (one in us-east-1; the regional stack
and its two us-east-1 companions for prod-eu-central-1). Rounds alternate (seed, dev, staging, prod,
prod-eu-central-1, [before], seed, ...) so machine noise hits all alike; the median of each is reported
with the resource counts, plus the parts of one Python prod synth: interpreter + jsii start-up (importing
aws_cdk), building the construct tree, and synth with and without cdk-nag, with the jsii round trips
(Python to Node requests, and Node's callbacks into Python) of each part.

`--before DIR` adds a prod synth of another checkout (its own .venv, e.g. a clone of main) to every round.

    uv run python bench/synth_bench.py [--rounds 3] [--before /tmp/main-clone]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED_SYNTH = REPO.parent / "shared" / "seed" / "ts-baseline" / "synth.sh"
PROFILES = ("dev", "staging", "prod")
# name: (environment, region); the regional app outside us-east-1 has three stacks.
SYNTHS = {profile: (profile, "us-east-1") for profile in PROFILES} | {"prod-eu-central-1": ("prod", "eu-central-1")}
ENV = os.environ | {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}

# Counts every request the Python side sends to the jsii kernel (Node): one IPC round trip each.
COUNT_ROUND_TRIPS = """
import collections
from jsii._kernel.providers import process as _process
round_trips = collections.Counter()
_send = _process._NodeProcess.send
def _counted(self, request, response_type):
    round_trips[phase] += 1
    return _send(self, request, response_type)
_process._NodeProcess.send = _counted
phase = "import"
"""

PHASES = (
    COUNT_ROUND_TRIPS
    + """
import json, sys, time
t0 = time.perf_counter()
import aws_cdk
from aws_cdk import App
t1 = time.perf_counter()
phase = "build"
from app import build_app
context = json.load(open("cdk.json"))["context"] | {"environment": sys.argv[1]}
app, stack = build_app(context, outdir=sys.argv[2])
t2 = time.perf_counter()
phase = "synth"
app.synth()
t3 = time.perf_counter()
timings = {"import": t1 - t0, "build": t2 - t1, "synth_with_nag": t3 - t2}
print(json.dumps(timings | {f"round_trips_{k}": v for k, v in round_trips.items()}))
"""
)

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


CPU: dict[str, list[float]] = {}


def _timed(name: str, command: list[str], cwd: Path = REPO, env: dict[str, str] = ENV) -> float:
    """Wall time; the CPU time of the process and its children (less noisy on a shared machine) goes to CPU."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.setdefault(name, []).append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall


def _app_synth(name: str, repo: Path, environment: str, region: str, out: Path) -> float:
    """The whole app, as `make synth` runs it, with that checkout's own interpreter."""
    command = [str(repo / ".venv" / "bin" / "python"), "app.py", "-c", f"environment={environment}"]
    return _timed(name, [*command, "-c", f"region={region}"], repo, ENV | {"CDK_OUTDIR": str(out)})


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
    parser.add_argument("--before", type=Path, help="another checkout whose prod synth joins every round")
    args = parser.parse_args()
    synths = dict(SYNTHS)
    if args.before:
        synths["prod (before)"] = ("prod", "us-east-1")
    times: dict[str, list[float]] = {name: [] for name in ("seed", *synths)}
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            out = Path(tmp) / f"seed{round_}"
            times["seed"].append(_timed("seed", ["bash", str(SEED_SYNTH), str(out)]))
            counts["seed"] = _resources(out / "TapStack.template.json")
            for name, (environment, region) in synths.items():
                out = Path(tmp) / f"{name}{round_}".replace(" ", "_")
                repo = args.before.resolve() if name == "prod (before)" else REPO
                times[name].append(_app_synth(name, repo, environment, region, out))
                counts[name] = sum(_resources(template) for template in out.glob("*.template.json"))
        phases = _timings(PHASES, Path(tmp) / "phases") | _timings(NO_NAG, Path(tmp) / "nonag")
    seed = statistics.median(times["seed"])
    machine = platform.processor() or platform.machine()
    print(f"machine: {os.cpu_count()} cores, {machine}, Python {platform.python_version()}")
    load = os.getloadavg()[0]
    print(f"rounds: {args.rounds} (alternating), whole process wall time, median; load average at end {load:.1f}")
    cpu = {name: statistics.median(values) for name, values in CPU.items()}
    print("| synth | median s | rounds s | resources | vs seed | CPU s (median) | CPU vs seed |")
    print("|---|---|---|---|---|---|---|")
    for name, values in times.items():
        median = statistics.median(values)
        rounds = ", ".join(f"{v:.2f}" for v in values)
        ratios = f"{median / seed:.2f}x | {cpu[name]:.2f} | {cpu[name] / cpu['seed']:.2f}x"
        print(f"| {name} | {median:.2f} | {rounds} | {counts[name]} | {ratios} |")
    print(f"prod phases (one run, s; jsii round trips): {json.dumps({k: round(v, 2) for k, v in phases.items()})}")


if __name__ == "__main__":
    main()
