"""Synthesizing a profile exactly as `make synth` does, for the session fixtures in tests/conftest.py."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

from app import build_app

PROFILES = ("dev", "staging", "prod")
CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


@dataclass(frozen=True)
class Synthesized:
    """One profile's synthesized template and cdk-nag validation report."""

    environment: str
    template: Template
    template_path: Path
    report: dict[str, Any]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template.to_json()["Resources"]
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}


def synthesize(environment: str, outdir: Path, **extra_context: str) -> Synthesized:
    context = json.loads(CDK_JSON.read_text())["context"] | {"environment": environment, **extra_context}
    app, stack = build_app(context, outdir=str(outdir))
    try:
        app.synth()
    except RuntimeError as error:  # cdk-nag failures: the report below names them; test_compliance fails
        if "ValidationFailed" not in str(error):
            raise
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {"pluginReports": []}
    template_path = outdir / f"{stack.stack_name}.template.json"
    return Synthesized(
        environment=environment,
        template=Template.from_json(json.loads(template_path.read_text())),
        template_path=template_path,
        report=report,
    )


def nag_findings(report: dict[str, Any], severity: str) -> list[str]:
    """The cdk-nag findings of a validation report with this severity, each naming rule and resource."""
    return [
        f"{plugin['pluginName']} {violation['ruleName']} at {construct['constructPath']}: {violation['description']}"
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        if violation["severity"] == severity
        for construct in violation["violatingConstructs"]
    ]


def cfn_lint(*templates: Path) -> str:
    """cfn-lint's findings on the templates (with the repo's .cfnlintrc.yaml), or "" when there are none."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--format", "parseable", *map(str, templates)],
        cwd=CDK_JSON.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return "" if result.returncode == 0 else result.stdout + result.stderr
