"""Synthesizing a profile exactly as `make synth` does, for the session fixtures in tests/conftest.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template

from app import build_app
from infra.cfn import drop_provider_role_depends_on
from infra.compliance import acknowledge, add_compliance_checks
from infra.config import NetworkSettings
from infra.keys import Keys
from infra.network import Network

PROFILES = ("dev", "staging", "prod")
CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


@dataclass(frozen=True)
class Synthesized:
    """One app's synthesized main stack, the templates of all its stacks, and the cdk-nag report.

    `template` is TapStack-<environment>'s; `template_paths` holds every stack's template file by stack name
    (outside us-east-1 the us-east-1 companions, in prod the backup copy stack of the second region).
    """

    environment: str
    template: Template
    template_path: Path
    report: dict[str, Any]
    # Every stack of the app by name, the main one included.
    template_paths: dict[str, Path]
    # What the synth printed (stdout, then stderr), where a CLI ran it.
    output: str = ""

    @property
    def others(self) -> dict[str, Template]:
        """The app's other stacks by name."""
        return {
            name: Template.from_json(json.loads(path.read_text()))
            for name, path in self.template_paths.items()
            if path != self.template_path
        }

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template.to_json()["Resources"]
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def stack(self, name: str) -> dict[str, Any]:
        """Another stack's template, as JSON."""
        template: dict[str, Any] = json.loads(self.template_paths[name].read_text())
        return template


class GateFailed(AssertionError):
    """The compliance gate refused a synthesis, as it fails `make synth`: every test that uses that
    synthesis (a session fixture caches the failure) fails with the findings."""


def validation_report(outdir: Path) -> dict[str, Any]:
    """The cdk-nag validation report of a cloud assembly (none: no plugin reported anything)."""
    report_path = outdir / "validation-report.json"
    report: dict[str, Any] = json.loads(report_path.read_text()) if report_path.exists() else {"pluginReports": []}
    return report


def synth_with_report(app: App, stack: Stack, outdir: Path) -> tuple[Template, Path, dict[str, Any]]:
    """Synthesize `app` into `outdir` through the compliance gate: the template, its path and the
    cdk-nag validation report. A finding that fails the gate raises GateFailed naming each one."""
    try:
        app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
        findings = nag_findings(validation_report(outdir), "error") or [str(error)]
        raise GateFailed(
            f"the compliance gate (cdk-nag) failed the synth of {stack.stack_name}:\n  " + "\n  ".join(findings)
        ) from None
    report = validation_report(outdir)
    template_path = outdir / f"{stack.stack_name}.template.json"
    return Template.from_json(json.loads(template_path.read_text())), template_path, report


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context (the feature flags), as the CDK CLI passes it."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return context


def stack_templates(outdir: Path) -> dict[str, Path]:
    """The template of every stack in a cloud assembly, by stack name."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    return {
        name: outdir / artifact["properties"]["templateFile"]
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }


def synthesize(environment: str, outdir: Path, context: dict[str, str] | None = None) -> Synthesized:
    app, stack = build_app(cdk_json_context() | {"environment": environment, **(context or {})}, outdir=str(outdir))
    template, template_path, report = synth_with_report(app, stack, outdir)
    return Synthesized(environment, template, template_path, report, stack_templates(outdir))


def synthesize_with_cli(
    environment: str, outdir: Path, context: dict[str, str], account: str | None = None
) -> Synthesized:
    """Synthesize as a user does: the pinned CDK CLI (`make cdk-cli`), context as `-c key=value`; with
    `account`, as the CLI runs the app when it has credentials (CDK_DEFAULT_ACCOUNT is that account's),
    but without any: a context lookup would fail the synth."""
    repo = CDK_JSON.parent
    subprocess.run(["make", "--no-print-directory", "cdk-cli"], cwd=repo, check=True, capture_output=True)
    arguments = [
        part for key, value in {"environment": environment, **context}.items() for part in ("-c", f"{key}={value}")
    ]
    # As a user's shell has it: nothing of the test session's own silencing of jsii's Node banner.
    shell = {k: v for k, v in os.environ.items() if k != "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"}
    result = subprocess.run(
        [str(repo / "node_modules" / ".bin" / "cdk"), "synth", "--no-notices", "-o", str(outdir), *arguments],
        cwd=repo,
        # No telemetry, and no wait for an instance metadata service that is not there.
        env=shell
        | {"CDK_DISABLE_CLI_TELEMETRY": "true", "AWS_EC2_METADATA_DISABLED": "true"}
        | ({"CDK_DEFAULT_ACCOUNT": account} if account else {}),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"cdk synth failed:\n{result.stdout}\n{result.stderr}")
    template_paths = stack_templates(outdir)
    main = template_paths[f"TapStack-{environment}"]
    report = validation_report(outdir)
    return Synthesized(
        environment,
        Template.from_json(json.loads(main.read_text())),
        main,
        report,
        template_paths,
        output=result.stdout + result.stderr,
    )


def shared_synthesis(directory: Path, build: Callable[[Path], Synthesized]) -> Synthesized:
    """One synthesis per test session, whichever pytest-xdist worker asks first: `build` writes the cloud
    assembly into `directory` (on a path every worker sees) under a file lock, and a later caller, in this
    process or another, reads it back from the files. A synthesis that fails is not kept, so each caller
    fails with it."""
    from filelock import FileLock

    done = directory / "synthesized.json"
    with FileLock(f"{directory}.lock"):
        if not done.exists():
            synthesized = build(directory)
            meta = {
                "environment": synthesized.environment,
                "template": synthesized.template_path.name,
                "output": synthesized.output,
            }
            done.write_text(json.dumps(meta))
            return synthesized
    meta = json.loads(done.read_text())
    template_path = directory / meta["template"]
    return Synthesized(
        meta["environment"],
        Template.from_json(json.loads(template_path.read_text())),
        template_path,
        validation_report(directory),
        stack_templates(directory),
        output=meta["output"],
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


@dataclass(frozen=True)
class Acknowledgement:
    """One cdk-nag (or CDK) finding accepted on a construct, as the cloud assembly records it."""

    construct: str
    rule: str
    reason: str


def acknowledgements(outdir: Path) -> list[Acknowledgement]:
    """Every acknowledgement of a cloud assembly (nested pipeline stages included): `Validations.of(c)
    .acknowledge(...)` records each as `aws:cdk:acknowledged-rules` metadata of the construct."""
    found = []
    for path in sorted(outdir.glob("**/*.metadata.json")):
        for construct, entries in json.loads(path.read_text()).items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    found += [Acknowledgement(construct, rule, reason) for rule, reason in entry["data"].items()]
    return found


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


@dataclass(frozen=True)
class Testbed:
    """A bare stack holding what a front door stands on: our key, the network and a stand-in load balancer."""

    app: App
    stack: Stack
    key: kms.IKey
    vpc: ec2.IVpc
    load_balancer: elbv2.ApplicationLoadBalancer
    listener: elbv2.ApplicationListener
    outdir: Path

    def synthesize(self) -> tuple[Template, Path, dict[str, Any]]:
        """Synthesize through the compliance gate, with the stack-wide fixes TapStack applies."""
        drop_provider_role_depends_on(self.stack)
        add_compliance_checks(self.app)
        return synth_with_report(self.app, self.stack, self.outdir)


def front_door_testbed(outdir: Path, id: str, network: NetworkSettings) -> Testbed:
    """The stack a single front door construct is tested in."""
    app = App(context=cdk_json_context(), outdir=str(outdir))
    stack = Stack(app, id, env=Environment(region="us-east-1"))
    keys = Keys(stack, "Keys", removal_policy=RemovalPolicy.DESTROY)
    vpc = Network(stack, "Network", settings=network, key=keys.key, removal_policy=RemovalPolicy.DESTROY).vpc
    load_balancer, listener = stand_in_load_balancer(stack, vpc)
    return Testbed(app, stack, keys.key, vpc, load_balancer, listener, outdir)


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


# A connection and repository of the documented example: enough for the pipeline to synthesize.
PIPELINE_CONTEXT = {
    "pipeline.connection_arn": (
        "arn:aws:codeconnections:us-east-1:123456789012:connection/0f3a1c2e-1111-2222-3333-444455556666"
    ),
    "pipeline.repository": "acme/shop-platform",
}


def synthesize_pipeline(outdir: Path) -> Synthesized:
    """The app as `cdk synth TapStack-pipeline -c pipeline.connection_arn=... -c pipeline.repository=...`
    builds it: the pipeline stack's template and the whole app's validation report (stages included)."""
    app, _ = build_app(cdk_json_context() | PIPELINE_CONTEXT, outdir=str(outdir))
    pipeline = app.node.find_child("TapStack-pipeline")
    assert isinstance(pipeline, Stack)
    template, template_path, report = synth_with_report(app, pipeline, outdir)
    return Synthesized("pipeline", template, template_path, report, stack_templates(outdir))
