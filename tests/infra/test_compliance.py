"""The gates every profile's template must pass: cdk-nag packs and cfn-lint."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3

from infra.compliance import acknowledge, add_compliance_checks
from tests.synthesis import (
    PROFILES,
    GateFailed,
    Synthesized,
    acknowledgements,
    cfn_lint,
    nag_findings,
    synth_with_report,
)

REPO = Path(__file__).resolve().parents[2]


def test_compliance_gate_runs_both_packs_and_fails_synth(tmp_path: Path) -> None:
    """The gate is real: an unencrypted, non-TLS bucket fails synth with AwsSolutions and PCI findings."""
    app = App(outdir=str(tmp_path))
    s3.Bucket(Stack(app, "Probe"), "Plain")
    add_compliance_checks(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for r in report["pluginReports"] for v in r["violations"]}
    assert "AwsSolutions-S10" in rules
    assert "PCI.DSS.321-S3BucketSSLRequestsOnly" in rules


def test_nist_gate_fails_synth_on_a_probe_resource(tmp_path: Path) -> None:
    """NIST 800-53 rev. 5 is in the gate: a bucket without versioning or replication fails synth with
    NIST.800.53.R5-S3BucketVersioningEnabled and -S3BucketReplicationEnabled."""
    app = App(outdir=str(tmp_path))
    s3.Bucket(Stack(app, "Probe"), "Plain")
    add_compliance_checks(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    nist = {
        v["ruleName"] for r in report["pluginReports"] if r["pluginName"] == "NIST.800.53.R5" for v in r["violations"]
    }
    assert {"NIST.800.53.R5-S3BucketVersioningEnabled", "NIST.800.53.R5-S3BucketReplicationEnabled"} <= nist


def test_no_unacknowledged_cdk_nag_errors(profile: Synthesized) -> None:
    """AwsSolutions, PCI DSS 3.2.1 and NIST 800-53 rev. 5: zero errors that no reviewed acknowledgement excuses."""
    assert nag_findings(profile.report, "error") == []


def test_no_unacknowledged_cdk_nag_warnings(profile: Synthesized) -> None:
    """Warnings of the packs are treated like errors: fixed or acknowledged with a reason."""
    assert nag_findings(profile.report, "warning") == []


def test_cfn_lint_reports_no_errors_or_warnings(synth) -> None:  # type: ignore[no-untyped-def]
    """cfn-lint (CloudFormation resource specification and best practices): 0 errors, 0 warnings, every stack."""
    assert cfn_lint(*(path for environment in PROFILES for path in synth(environment).template_paths.values())) == ""


def test_a_failing_gate_fails_the_synthesis_the_tests_share(tmp_path: Path) -> None:
    """tests/synthesis.py lets the gate's failure through (as `make synth` does) and names the finding:
    a session fixture that synthesizes through it fails every test that uses it, not only the nag tests."""
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Probe")
    s3.Bucket(stack, "Plain")
    add_compliance_checks(app)
    with pytest.raises(GateFailed, match=r"Probe(.|\n)*AwsSolutions-S10 at Probe/Plain"):
        synth_with_report(app, stack, tmp_path)


# A reason a security reviewer reads: a sentence, not a placeholder.
MIN_REASON_WORDS = 3


def _unreasoned(outdir: Path) -> list[str]:
    return [
        f"{ack.construct} {ack.rule}: {ack.reason!r}"
        for ack in acknowledgements(outdir)
        if len(ack.reason.split()) < MIN_REASON_WORDS
    ]


def test_every_cdk_nag_acknowledgement_gives_a_reason(profile: Synthesized) -> None:
    """CONVENTIONS.md: every acknowledgement (`infra.compliance.acknowledge`, recorded by CDK as the
    construct's `aws:cdk:acknowledged-rules` metadata) says why, in a sentence a reviewer can judge."""
    assert len(acknowledgements(profile.template_path.parent)) > 20
    assert _unreasoned(profile.template_path.parent) == []


def test_every_acknowledgement_of_the_pipeline_and_abroad_apps_gives_a_reason(
    abroad: Synthesized, pipeline: Synthesized
) -> None:
    """The same for the eu-central-1 app (its us-east-1 companions) and the pipeline with its stages' nested
    assemblies. Both fixtures in one test: the worker that builds the abroad app builds the pipeline too
    (tests/ops/test_checkov_gate.py), so this costs no synthesis of its own."""
    for synthesized in (abroad, pipeline):
        assert acknowledgements(synthesized.template_path.parent)
        assert _unreasoned(synthesized.template_path.parent) == []


def test_an_acknowledgement_without_a_reason_is_caught(tmp_path: Path) -> None:
    """The check above reads what `acknowledge` records: an empty reason shows up there."""
    app = App(outdir=str(tmp_path))
    bucket = s3.Bucket(Stack(app, "Probe"), "Plain", enforce_ssl=True)
    acknowledge(bucket, "AwsSolutions-S1", "")
    app.synth()
    assert _unreasoned(tmp_path) == ["/Probe/Plain Annotation::AwsSolutions-S1: ''"]


def test_every_cfn_lint_ignore_gives_a_reason(profile: Synthesized) -> None:
    """cfn-lint: each check .cfnlintrc.yaml ignores is preceded by a comment saying why, and each check a
    template's resource ignores (`Metadata: cfn-lint`) is explained in a comment of infra/ naming it."""
    lines = (REPO / ".cfnlintrc.yaml").read_text().splitlines()
    start = lines.index("ignore_checks:")
    for number, line in enumerate(lines[start + 1 :], start + 1):
        if line.strip().startswith("- "):
            assert lines[number - 1].strip().startswith("#"), f".cfnlintrc.yaml ignores {line.strip()} without a reason"
    comments = "\n".join(
        line for path in (REPO / "infra").rglob("*.py") for line in path.read_text().splitlines() if "#" in line
    )
    for path in profile.template_paths.values():
        for logical_id, resource in json.loads(path.read_text())["Resources"].items():
            ignored = resource.get("Metadata", {}).get("cfn-lint", {}).get("config", {}).get("ignore_checks", [])
            for check in ignored:
                assert re.search(rf"#.*\b{check}\b", comments), f"{logical_id} ignores cfn-lint {check} unexplained"
