"""The checkov gate: one checkov run over every profile's template, failures judged against a skip list.

checkov (pinned in ops/checkov/uv.lock, its own environment in .tools/checkov because its
`packaging<24` pin conflicts with pytest's) scans the synthesized CloudFormation templates. A failure
passes the gate only when ops/checkov-skips.toml names its check and a logical-ID prefix of its
resource, with a reason; a skip that matches nothing is reported as stale.

    python -m ops.checkov_gate cdk.out/TapStack-dev.template.json cdk.out/TapStack-prod.template.json
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SKIPS = Path(__file__).with_name("checkov-skips.toml")
CHECKOV_PROJECT = Path(__file__).with_name("checkov")
CHECKOV_ENV = REPO / ".tools" / "checkov"


@dataclass(frozen=True)
class Skip:
    check: str
    resource: str  # logical-ID prefix
    reason: str

    def covers(self, finding: Finding) -> bool:
        return finding.check == self.check and finding.logical_id.startswith(self.resource)


@dataclass(frozen=True)
class Finding:
    check: str
    name: str
    resource: str  # "AWS::Lambda::Function.LogicalId"
    template: str

    @property
    def logical_id(self) -> str:
        return self.resource.split(".", 1)[-1]

    def __str__(self) -> str:
        return f"{self.check} {self.resource} in {self.template}: {self.name}"


@dataclass
class GateResult:
    passed: int = 0
    failures: list[Finding] = field(default_factory=list)  # not covered by a skip
    skipped: list[tuple[Finding, Skip]] = field(default_factory=list)
    stale: list[Skip] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures and not self.stale

    def summary(self) -> str:
        lines = [
            f"checkov: {self.passed} passed, {len(self.failures)} failed, {len(self.skipped)} skipped "
            f"(ops/checkov-skips.toml) in {self.seconds:.1f} s"
        ]
        lines += [f"FAILED {finding}" for finding in self.failures]
        lines += [f"STALE SKIP {s.check} {s.resource}*: matches nothing, remove it" for s in self.stale]
        return "\n".join(lines)


def load_skips(path: Path = SKIPS) -> list[Skip]:
    with path.open("rb") as f:
        data = tomllib.load(f)
    skips = [Skip(s["check"], s["resource"], " ".join(s["reason"].split())) for s in data.get("skip", [])]
    for skip in skips:
        if not (skip.check and skip.resource and skip.reason):
            raise ValueError(f"{path}: every skip needs a check, a resource prefix and a reason: {skip}")
    return skips


def _uv() -> str:
    found = shutil.which("uv") or str(REPO / ".tools" / "bin" / "uv")
    return found


def ensure_checkov() -> Path:
    """Install (or re-sync) the pinned checkov environment from ops/checkov/uv.lock; its executable."""
    executable = CHECKOV_ENV / "bin" / "checkov"
    env = os.environ | {"UV_PROJECT_ENVIRONMENT": str(CHECKOV_ENV)}
    subprocess.run(  # noqa: S603 (fixed command: the repo's uv and lock file)
        [_uv(), "sync", "--frozen", "--quiet", "--project", str(CHECKOV_PROJECT)],
        env=env,
        check=True,
    )
    return executable


def run_checkov(templates: Sequence[Path], executable: Path | None = None) -> tuple[dict[str, Any], float]:
    """One checkov process over all templates; its JSON report and run time in seconds."""
    executable = executable or ensure_checkov()
    command = [str(executable), "--framework", "cloudformation", "--output", "json", "--compact"]
    # --skip-download: no call to the vendor's API for guidelines (no network is needed or wanted).
    command += ["--skip-download", "--quiet"]
    for template in templates:
        command += ["--file", str(template)]
    started = time.monotonic()
    # The command is the pinned checkov and template paths given by the caller (argv or tests).
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)  # noqa: S603
    seconds = time.monotonic() - started
    if result.returncode not in (0, 1) or not result.stdout.strip().startswith(("{", "[")):
        raise RuntimeError(f"checkov did not run (exit {result.returncode}):\n{result.stderr[-3000:]}")
    report = json.loads(result.stdout)
    if isinstance(report, list):  # one report per framework; we ask for one
        report = next(r for r in report if r.get("check_type") == "cloudformation")
    return report, seconds


def judge(report: dict[str, Any], skips: Sequence[Skip]) -> GateResult:
    """Sort checkov's failures into skipped (by a matching skip) and real; find stale skips."""
    result = GateResult(passed=int(report.get("summary", {}).get("passed", 0)))
    used: set[Skip] = set()
    for failed in report.get("results", {}).get("failed_checks", []):
        finding = Finding(failed["check_id"], failed["check_name"], failed["resource"], Path(failed["file_path"]).name)
        skip = next((s for s in skips if s.covers(finding)), None)
        if skip is None:
            result.failures.append(finding)
        else:
            result.skipped.append((finding, skip))
            used.add(skip)
    result.stale = [s for s in skips if s not in used]
    return result


def gate(templates: Sequence[Path], skips_path: Path = SKIPS) -> GateResult:
    report, seconds = run_checkov(templates)
    result = judge(report, load_skips(skips_path))
    result.seconds = seconds
    return result


def main(argv: list[str] | None = None) -> int:
    templates = [Path(arg) for arg in (argv if argv is not None else sys.argv[1:])]
    if not templates:
        print("usage: python -m ops.checkov_gate TEMPLATE...", file=sys.stderr)
        return 2
    result = gate(templates)
    print(result.summary())
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
