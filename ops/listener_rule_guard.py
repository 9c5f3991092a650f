"""Refuse a deploy that would update the production listener rule of a blue/green service while ECS has the
live traffic somewhere else than the template says.

With ECS blue/green deployments ECS owns the production listener rule's target-group weights: after a
deployment the live tasks may be in either group. The template keeps stating the first create's weights
(100 on the first group, 0 on the alternate), and CloudFormation writes them back whenever it updates the
rule for any other change (a path, a tag, a priority): all traffic can then go to a group with no tasks
(https://github.com/aws/aws-cdk/issues/36649,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html).

For each stack of a cloud assembly whose template has such a rule, this compares the rule with the one in
the deployed stack's template (CloudFormation GetTemplate). Unchanged, or a stack not created yet: fine. A
changed rule is let through only when the live weights (ELB DescribeRules) are the ones the template
states, since then the update writes back what is already there; otherwise it exits 1 and says what to
do, unless ALLOW_LISTENER_RULE_UPDATE=1. `make deploy`, `make diff` and the pipeline's stages run it.

    python -m ops.listener_rule_guard cdk.out
    python -m ops.listener_rule_guard cdk.out --role-arn \
        'arn:aws:iam::<account>:role/cdk-hnb659fds-lookup-role-<account>-{region}'
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OVERRIDE = "ALLOW_LISTENER_RULE_UPDATE"


@dataclass(frozen=True)
class StackTemplate:
    """One stack of a cloud assembly: its CloudFormation name, region and synthesized template."""

    name: str
    region: str | None
    template: dict[str, Any]


def assembly_stacks(assembly: Path) -> Iterator[StackTemplate]:
    """Every stack in the cloud assembly, nested assemblies (a pipeline's stages) included."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    for artifact_id, artifact in manifest["artifacts"].items():
        if artifact["type"] == "aws:cloudformation:stack":
            region = artifact["environment"].rpartition("/")[2]
            yield StackTemplate(
                name=artifact["properties"].get("stackName", artifact_id),
                region=None if region.startswith("unknown-") else region,
                template=json.loads((assembly / artifact["properties"]["templateFile"]).read_text()),
            )
        elif artifact["type"] == "cdk:cloud-assembly":
            yield from assembly_stacks(assembly / artifact["properties"]["directoryName"])


def production_listener_rules(template: Mapping[str, Any]) -> list[str]:
    """Logical IDs of the listener rules that a BLUE_GREEN ECS service names as its production rule."""
    rules = []
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        if resource["Type"] != "AWS::ECS::Service":
            continue
        if properties.get("DeploymentConfiguration", {}).get("Strategy") != "BLUE_GREEN":
            continue
        for load_balancer in properties.get("LoadBalancers", []):
            rule = load_balancer.get("AdvancedConfiguration", {}).get("ProductionListenerRule", {})
            if isinstance(rule, dict) and "Ref" in rule:
                rules.append(rule["Ref"])
    return rules


def _rule_state(template: Mapping[str, Any], logical_id: str) -> dict[str, Any] | None:
    """What CloudFormation would send for the rule: its properties (metadata changes nothing)."""
    resource = template.get("Resources", {}).get(logical_id)
    return None if resource is None else {"Type": resource["Type"], "Properties": resource.get("Properties", {})}


def _template_weights(rule: Mapping[str, Any]) -> dict[str, int] | None:
    """Target group logical ID -> weight of the rule's forward action, or None if not plain Refs."""
    weights = {}
    for action in rule["Properties"].get("Actions", []):
        for group in action.get("ForwardConfig", {}).get("TargetGroups", []):
            arn = group.get("TargetGroupArn")
            if not isinstance(arn, dict) or "Ref" not in arn:
                return None
            weights[arn["Ref"]] = int(group.get("Weight", 1))
    return weights


def _live_weights(clients: Clients, stack: str, rule_id: str, groups: Sequence[str]) -> dict[str, int] | None:
    """Target group logical ID -> weight as the load balancer has it now, or None if it cannot be read."""
    resources = clients.cloudformation.describe_stack_resources(StackName=stack)["StackResources"]
    physical = {resource["LogicalResourceId"]: resource.get("PhysicalResourceId") for resource in resources}
    if rule_id not in physical or any(group not in physical for group in groups):
        return None
    logical_by_arn = {physical[group]: group for group in groups}
    (rule,) = clients.elbv2.describe_rules(RuleArns=[physical[rule_id]])["Rules"]
    weights = {}
    for action in rule["Actions"]:
        for group in action.get("ForwardConfig", {}).get("TargetGroups", []):
            if group["TargetGroupArn"] not in logical_by_arn:
                return None
            weights[logical_by_arn[group["TargetGroupArn"]]] = group.get("Weight", 1)
    return weights


@dataclass(frozen=True)
class Clients:
    cloudformation: Any
    elbv2: Any

    @classmethod
    def for_region(cls, region: str | None, role_arn: str | None = None) -> Clients:
        """Clients with the caller's credentials, or with those of `role_arn` (`{region}` filled in): a
        stage in another account is read through that account's CDK lookup role (ReadOnlyAccess)."""
        import boto3  # type: ignore[import-untyped]

        session = boto3.Session(region_name=region)
        if role_arn is not None:
            credentials = session.client("sts").assume_role(
                RoleArn=role_arn.format(region=region), RoleSessionName="listener-rule-guard"
            )["Credentials"]
            session = boto3.Session(
                region_name=region,
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )
        return cls(session.client("cloudformation"), session.client("elbv2"))


def _deployed_template(clients: Clients, stack: str) -> dict[str, Any] | None:
    """The template the stack was last deployed with, or None when the stack does not exist (yet)."""
    from botocore.exceptions import ClientError  # type: ignore[import-untyped]

    try:
        body = clients.cloudformation.get_template(StackName=stack, TemplateStage="Original")["TemplateBody"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    template: dict[str, Any] = json.loads(body) if isinstance(body, str) else dict(body)
    return template


def check_stack(stack: StackTemplate, clients: Clients) -> list[str]:
    """Why deploying this stack's template could move the live traffic, one sentence per rule; [] if safe."""
    rules = production_listener_rules(stack.template)
    if not rules:
        return []
    deployed = _deployed_template(clients, stack.name)
    if deployed is None:
        return []
    problems = []
    for rule_id in rules:
        wanted, current = _rule_state(stack.template, rule_id), _rule_state(deployed, rule_id)
        if wanted == current:
            continue
        assert wanted is not None
        weights = _template_weights(wanted)
        if current is not None and weights is not None:
            live = _live_weights(clients, stack.name, rule_id, list(weights))
            if live == weights:
                continue  # the update writes back the weights that are live now
        else:
            live = None
        problems.append(
            f"{stack.name}: this deploy updates {rule_id}, the production listener rule of a blue/green ECS "
            f"service, and CloudFormation would set its target-group weights to the template's {weights} while "
            f"the load balancer has {live if live is not None else 'weights it could not match'}: after an ECS "
            "blue/green deployment the live tasks may be in the other group, and all traffic would go to a "
            "group without them (aws/aws-cdk#36649). Deploy the change right after an ECS deployment that left "
            "the weights as the template states them, or check which target group holds the running tasks "
            f"and set {OVERRIDE}=1 to deploy anyway."
        )
    return problems


def check_assembly(assembly: Path, role_arn: str | None = None) -> list[str]:
    problems = []
    for stack in assembly_stacks(assembly):
        if production_listener_rules(stack.template):
            problems += check_stack(stack, Clients.for_region(stack.region, role_arn))
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("assembly", type=Path, help="the cloud assembly directory (cdk.out)")
    parser.add_argument(
        "--role-arn",
        help="read the stacks through this role ({region}: the stack's region), e.g. another account's "
        "arn:aws:iam::<account>:role/cdk-hnb659fds-lookup-role-<account>-{region}",
    )
    args = parser.parse_args(argv)
    problems = check_assembly(args.assembly, args.role_arn)
    for problem in problems:
        print(f"listener rule guard: {problem}", file=sys.stderr)
    if problems and os.environ.get(OVERRIDE) == "1":
        print(f"listener rule guard: {OVERRIDE}=1, deploying anyway", file=sys.stderr)
        return 0
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
