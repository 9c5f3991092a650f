"""Synthesizing a profile exactly as `make synth` does, for the session fixtures in tests/conftest.py."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import App, Aspects, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk.assertions import Template

from app import build_app
from infra.cfn import DropProviderRoleDependsOn
from infra.compliance import acknowledge

PROFILES = ("dev", "staging", "prod")
CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


@dataclass(frozen=True)
class Synthesized:
    """One profile's synthesized template and cdk-nag validation report.

    `template` is TapStack-<environment>'s; `others` holds the app's other stacks by name (prod's backup
    copy stack in the second region), `template_paths` every stack's template file.
    """

    environment: str
    template: Template
    template_path: Path
    report: dict[str, Any]
    others: dict[str, Template] = field(default_factory=dict)

    @property
    def template_paths(self) -> list[Path]:
        return [self.template_path, *(self.template_path.with_name(f"{name}.template.json") for name in self.others)]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template.to_json()["Resources"]
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}


def synth_with_report(app: App, stack: Stack, outdir: Path) -> tuple[Template, Path, dict[str, Any]]:
    """Synthesize `app` into `outdir` through the compliance gate: the template, its path and the
    cdk-nag validation report. Findings do not raise here; the nag tests name them."""
    try:
        app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {"pluginReports": []}
    template_path = outdir / f"{stack.stack_name}.template.json"
    return Template.from_json(json.loads(template_path.read_text())), template_path, report


def bare_stack(app: App, id: str) -> Stack:
    """A stack for testing one construct alone, with the stack-wide fixes TapStack applies."""
    stack = Stack(app, id, env=Environment(region="us-east-1"))
    Aspects.of(stack).add(DropProviderRoleDependsOn())
    return stack


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context (the feature flags), as the CDK CLI passes it."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return context


def synthesize(environment: str, outdir: Path, **extra_context: str) -> Synthesized:
    context = cdk_json_context() | {"environment": environment, **extra_context}
    app, stack = build_app(context, outdir=str(outdir))
    template, template_path, report = synth_with_report(app, stack, outdir)
    others = {
        other.stack_name: Template.from_json(json.loads((outdir / f"{other.stack_name}.template.json").read_text()))
        for other in app.node.children
        if isinstance(other, Stack) and other is not stack
    }
    return Synthesized(
        environment=environment, template=template, template_path=template_path, report=report, others=others
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


def stand_in_load_balancer(
    stack: Stack, vpc: ec2.IVpc
) -> tuple[elbv2.ApplicationLoadBalancer, elbv2.ApplicationListener]:
    """An internal ALB with an HTTP:80 listener, in place of infra/service.py's."""
    alb = elbv2.ApplicationLoadBalancer(
        stack,
        "Alb",
        vpc=vpc,
        internet_facing=False,
        vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        drop_invalid_header_fields=True,
    )
    listener = alb.add_listener(
        "Http",
        port=80,
        open=False,
        default_action=elbv2.ListenerAction.fixed_response(404, content_type="text/plain"),
    )
    # The stand-in's own findings belong to infra/service.py's load balancer, not to the construct under test.
    for rule in (
        "AwsSolutions-ELB2",
        "PCI.DSS.321-ELBLoggingEnabled",
        "PCI.DSS.321-ALBWAFEnabled",
        "PCI.DSS.321-ALBHttpToHttpsRedirection",
        "PCI.DSS.321-ELBv2ACMCertificateRequired",
        "NIST.800.53.R5-ELBLoggingEnabled",
        "NIST.800.53.R5-ALBWAFEnabled",
        "NIST.800.53.R5-ALBHttpToHttpsRedirection",
        "NIST.800.53.R5-ELBv2ACMCertificateRequired",
        "NIST.800.53.R5-ELBDeletionProtectionEnabled",
    ):
        acknowledge(alb, rule, "Test stand-in for infra/service.py's internal load balancer.")
    return alb, listener
