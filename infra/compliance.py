"""The compliance gate: cdk-nag rule packs that every synth of the app runs.

cdk-nag 3.x packs are CDK policy-validation plugins: with an unacknowledged error, `app.synth()`
raises and the cloud assembly gets `policy-validation-report.json` naming each finding. Findings are
acknowledged next to the resource they excuse (`Validations.of(construct).acknowledge`), never here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks, PCIDSS321Checks
from constructs import IConstruct


def add_compliance_checks(app: App) -> None:
    """Run the AWS Solutions, PCI DSS 3.2.1 and NIST 800-53 rev. 5 packs on the whole app at synth."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), PCIDSS321Checks(app), NIST80053R5Checks(app))


def acknowledge(construct: IConstruct, rule: str, reason: str) -> None:
    """Accept one cdk-nag finding on `construct` and its children, with the reviewer-facing reason.

    `rule` is the pack's rule id as cdk-nag prints it ("AwsSolutions-IAM4[Policy::...]",
    "PCI.DSS.321-IAMNoInlinePolicy").
    """
    Validations.of(construct).acknowledge(Acknowledgment(id=rule, reason=reason))


def acknowledge_all(construct: IConstruct, reasons: Mapping[str, str], *, nist_twins: Iterable[str] = ()) -> None:
    """Accept each finding of `reasons` on `construct`. NIST 800-53 rev. 5 runs some PCI DSS 3.2.1 rules under
    its own name: each rule of `nist_twins` ("IAMNoInlinePolicy") is accepted there too, with the PCI reason."""
    twins = {f"NIST.800.53.R5-{rule}": reasons[f"PCI.DSS.321-{rule}"] for rule in nist_twins}
    for rule, reason in {**reasons, **twins}.items():
        acknowledge(construct, rule, reason)
