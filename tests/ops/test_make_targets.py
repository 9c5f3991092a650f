"""mk/ops.mk and the CDK CLI pin: deploy runs the gates first, with the repo's pinned CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _dry_run(*target: str) -> list[str]:
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", "--no-print-directory", *target],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


def test_the_cdk_cli_is_pinned_exactly_and_locked() -> None:
    wanted = json.loads((REPO / "package.json").read_text())["devDependencies"]["aws-cdk"]
    locked = json.loads((REPO / "package-lock.json").read_text())["packages"]["node_modules/aws-cdk"]
    assert wanted[0].isdigit(), f"aws-cdk {wanted!r}: pin an exact version, no range"
    assert locked["version"] == wanted


def test_deploy_runs_every_gate_before_cdk_deploy_with_the_repos_cli() -> None:
    lines = _dry_run("deploy", "ENVIRONMENT=prod", "EMAIL=ops@example.com")
    gates = next(i for i, line in enumerate(lines) if line.endswith("pytest"))
    deploy = next(i for i, line in enumerate(lines) if " deploy " in line)
    assert gates < deploy
    assert lines[deploy].startswith("node_modules/.bin/cdk deploy --all")
    assert "-c environment=prod -c emailAddress=ops@example.com" in lines[deploy]
    assert any(line.startswith("npm ci") for line in lines)


def test_diff_uses_the_same_cli_and_context() -> None:
    lines = _dry_run("diff", "ENVIRONMENT=staging")
    assert any(line.startswith("node_modules/.bin/cdk diff") and "environment=staging" in line for line in lines)


def test_deploy_passes_region_and_context_keys_to_the_cli() -> None:
    lines = _dry_run("deploy", "ENVIRONMENT=prod", "REGION=eu-central-1", "CONTEXT=-c service.max_tasks=20")
    (deploy,) = [line for line in lines if " deploy " in line]
    assert "-c region=eu-central-1" in deploy
    assert "-c service.max_tasks=20" in deploy


def test_deploy_and_diff_run_the_listener_rule_guard_on_the_synthesized_app_first() -> None:
    """ECS owns a blue/green service's production listener rule weights (aws/aws-cdk#36649): the guard compares
    the synthesized rule with the deployed stack's before the CLI changes or diffs anything.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html"""
    for target, verb in (("deploy", " deploy "), ("diff", " diff ")):
        lines = _dry_run(target, "ENVIRONMENT=prod", "REGION=eu-central-1")
        synth = next(i for i, line in enumerate(lines) if line.startswith("node_modules/.bin/cdk synth -q"))
        guard = next(i for i, line in enumerate(lines) if line.endswith("-m ops.listener_rule_guard cdk.out"))
        cdk = next(i for i, line in enumerate(lines) if line.startswith("node_modules/.bin/cdk") and verb in line)
        assert synth < guard < cdk
        assert "-c environment=prod -c region=eu-central-1" in lines[synth]
