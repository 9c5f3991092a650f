"""The gates every profile's template must pass: cdk-nag packs and cfn-lint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3

from infra.compliance import add_compliance_checks
from tests.synthesis import PROFILES, Synthesized, cfn_lint, nag_findings

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
