"""`tapstack status`: is it up? Stacks, deployments, tasks, targets, alarms and URLs (`copilot svc status`)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any, TextIO

from tapstack_cli.profile import CommandError, DeployedStack, Profile, require
from tapstack_cli.progress import table

HELP = "stacks, deployments, tasks, target health, alarms in ALARM and the URLs"
DESCRIPTION = """\
One screen for "is it up, and what is it running?":
  stacks       every stack of the profile: its state and when it last changed
  deployments  the service's deployments: state, task definition, rollout, running/desired/pending
  targets      healthy hosts of each target group behind the load balancer
  alarms       the profile's alarms now in ALARM (those of the us-east-1 companion too)
  urls         the site (CloudFront) and the partner API (API Gateway)
Exits 1 when an alarm is in ALARM or a stack is in a failed state, 0 otherwise (for scripts)."""

FAILED = ("FAILED", "ROLLBACK_COMPLETE")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # --env and --region are all it needs


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def deployment_rows(service: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row per deployment of a DescribeServices service, newest first."""
    return [
        (
            deployment["status"],
            deployment["taskDefinition"].rpartition("/")[2],
            deployment.get("rolloutState", "-"),
            "/".join(str(deployment.get(count, 0)) for count in ("runningCount", "desiredCount", "pendingCount")),
            _when(deployment["updatedAt"]) if "updatedAt" in deployment else "-",
        )
        for deployment in service.get("deployments", [])
    ]


def alarms_in_alarm(profile: Profile, stacks: list[DeployedStack]) -> list[tuple[str, str, str]]:
    """(alarm, region, reason) of every alarm of the profile's stacks in ALARM. CloudFormation names an
    alarm `<stack name>-<logical id>-<suffix>`, so a stack's alarms are those with its name as prefix."""
    found = []
    for stack in stacks:
        cloudwatch = profile.client("cloudwatch", stack.ref.region)
        pages = cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNamePrefix=f"{stack.ref.name}-", StateValue="ALARM", AlarmTypes=["MetricAlarm", "CompositeAlarm"]
        )
        for page in pages:
            for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                if alarm.get("StateValue") == "ALARM":
                    found.append((alarm["AlarmName"], stack.ref.region, alarm.get("StateReason", "")))
    return found


def target_rows(profile: Profile, target_group_arns: list[str]) -> list[tuple[str, str]]:
    elbv2 = profile.client("elbv2")
    rows = []
    for arn in target_group_arns:
        targets = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        healthy = sum(1 for target in targets if target["TargetHealth"]["State"] == "healthy")
        states = ", ".join(sorted({target["TargetHealth"]["State"] for target in targets})) or "no targets"
        rows.append((arn.split(":")[-1].split("/")[1], f"{healthy}/{len(targets)} healthy ({states})"))
    return rows


def run(profile: Profile, args: argparse.Namespace, out: TextIO) -> int:
    stacks = profile.stacks()
    if not stacks:
        raise CommandError(f"no stack of {profile.stack_name} is deployed in {profile.region}")
    print("Stacks", file=out)
    print(
        table(
            ("stack", "region", "state", "last change"),
            [(stack.ref.name, stack.ref.region, stack.status, _when(stack.updated)) for stack in stacks],
        ),
        file=out,
    )
    outputs = next((stack.outputs for stack in stacks if stack.ref.name == profile.stack_name), None)
    problems = sum(1 for stack in stacks if stack.status.endswith(FAILED))
    if outputs is not None:
        cluster = require(outputs, "ClusterName", profile.environment)
        services = profile.client("ecs").describe_services(
            cluster=cluster, services=[require(outputs, "ServiceName", profile.environment)]
        )["services"]
        if not services:
            raise CommandError(f"the service {outputs['ServiceName']} is not in cluster {cluster}")
        service = services[0]
        print(
            f"\nService {service['serviceName']}: {service['status']}, running {service['runningCount']}, "
            f"desired {service['desiredCount']}, pending {service['pendingCount']}",
            file=out,
        )
        print(
            table(
                ("deployment", "task definition", "rollout", "running/desired/pending", "updated"),
                deployment_rows(service),
            ),
            file=out,
        )
        arns = require(outputs, "TargetGroupArns", profile.environment).split(",")
        print("\nTargets", file=out)
        print(table(("target group", "health"), target_rows(profile, arns)), file=out)
    alarms = alarms_in_alarm(profile, stacks)
    print(f"\nAlarms in ALARM: {len(alarms) or 'none'}", file=out)
    if alarms:
        print(table(("alarm", "region", "reason"), alarms), file=out)
    if outputs is not None:
        print(f"\nSite: {outputs.get('CloudFrontURL', '-')}", file=out)
        print(f"API:  {outputs.get('APIGatewayURL', '-')}", file=out)
    return 1 if alarms or problems else 0
