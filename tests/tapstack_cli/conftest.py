"""A deployed TapStack profile inside the AWS API emulator, made through the calls CloudFormation and ECS
make: the stack (its outputs, a log group, a retained key and bucket), the cluster and service with three
task definition revisions, the target group, log lines and alarms. The commands then find it by name."""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest

from tests.emulator import AwsEmulator

ENVIRONMENT = "dev"
STACK = "TapStack-dev"
CLUSTER = "TapStack-dev-ServiceClusterC5E8E4B3-Xk2q9"
SERVICE = "TapStack-dev-ServiceD69D759B-bQ1x"
FAMILY = "TapStackdevServiceTask4A5B1C2D"
CONTAINER = "storefront"
STREAM_PREFIX = "storefront"
# A storefront access line as the service writes it (storefront/api/middleware.py).
ACCESS_LINE = (
    '{"time":"2026-12-06T05:00:00Z","level":"INFO","msg":"request","request_id":"%s",'
    '"method":"GET","path":"/api/products","status":%d,"duration_ms":3.1}'
)


@dataclass(frozen=True)
class Deployed:
    """What the emulated account holds, by the names the stack's outputs give."""

    emulator: AwsEmulator
    cluster: str
    service: str
    log_group: str
    task_definitions: tuple[str, ...]
    target_group_arn: str
    outputs: dict[str, str]

    def client(self, service: str, region: str = "us-east-1") -> Any:
        return self.emulator.client(service, region)


def stack_template(outputs: dict[str, object]) -> dict[str, Any]:
    """TapStack-dev as the emulator's CloudFormation accepts it: the service's log group, a retained key and
    bucket (what `destroy` must list), and the outputs the commands read."""
    return {
        "Resources": {
            "ServiceLogs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 14}},
            "KeysKey": {
                "Type": "AWS::KMS::Key",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {"KeyPolicy": {"Version": "2012-10-17", "Statement": []}},
            },
            "AccessLogs": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
        },
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }


def hold_tasks_running(emulator: AwsEmulator) -> None:
    """A task stays RUNNING until it is stopped, as on ECS (moto advances a task's state on every
    DescribeTasks by default). http://docs.getmoto.org/en/latest/docs/configuration/state_transition/"""
    body = json.dumps({"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1_000_000}})
    request = urllib.request.Request(  # noqa: S310 - the emulator's own loopback address
        f"{emulator.endpoint_url}/moto-api/state-manager/set-transition", data=body.encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


def deploy(emulator: AwsEmulator) -> Deployed:
    hold_tasks_running(emulator)
    ec2 = emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    # CDK's VPCs have DNS hostnames on (and moto's RunTask needs it to name the task's interface).
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.10.{i}.0/24")["Subnet"]["SubnetId"] for i in (3, 4)]
    group = ec2.create_security_group(VpcId=vpc, GroupName="service", Description="storefront tasks")["GroupId"]

    ecs = emulator.client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    revisions = tuple(
        ecs.register_task_definition(
            family=FAMILY,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            # The emulator sums container memory to place a task (CDK states it at the task level only).
            containerDefinitions=[{"name": CONTAINER, "image": f"storefront:1.{n}", "essential": True, "memory": 512}],
        )["taskDefinition"]["taskDefinitionArn"]
        for n in range(3)
    )
    ecs.create_service(
        cluster=CLUSTER,
        serviceName=SERVICE,
        taskDefinition=revisions[-1],
        desiredCount=1,
        launchType="FARGATE",
        enableExecuteCommand=True,
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group], "assignPublicIp": "DISABLED"}
        },
    )
    elbv2 = emulator.client("elbv2")
    target_group = elbv2.create_target_group(
        Name="TapSta-Servi-ABC", Protocol="HTTP", Port=8000, VpcId=vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]

    cloudformation = emulator.client("cloudformation")
    outputs: dict[str, object] = {
        "CloudFrontURL": "https://d111111abcdef8.cloudfront.net/",
        "APIGatewayURL": "https://d111111abcdef8.cloudfront.net/v1/",  # dev: partners through CloudFront
        "ClusterName": CLUSTER,
        "ServiceName": SERVICE,
        "ServiceLogGroup": {"Ref": "ServiceLogs"},
        "LogStreamPrefix": STREAM_PREFIX,
        "ContainerName": CONTAINER,
        "TaskDefinitionFamily": FAMILY,
        "TargetGroupArns": target_group,
        "ExecLogGroup": "TapStack-dev-ServiceExecLogs-Q2w3",
        "Stacks": f"{STACK}@us-east-1",
    }
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(stack_template(outputs)))
    (stack,) = cloudformation.describe_stacks(StackName=STACK)["Stacks"]
    resolved = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}

    logs = emulator.client("logs")
    log_group = resolved["ServiceLogGroup"]
    stream = f"{STREAM_PREFIX}/{CONTAINER}/0123456789abcdef0123456789abcdef"
    logs.create_log_stream(logGroupName=log_group, logStreamName=stream)
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=log_group,
        logStreamName=stream,
        logEvents=[
            {"timestamp": now - 120_000, "message": ACCESS_LINE % ("7f3c9a1e2b4d", 200)},
            {"timestamp": now - 60_000, "message": ACCESS_LINE % ("c0ffee123456", 500)},
            {"timestamp": now - 30_000, "message": "migrations: 0 pending"},
        ],
    )

    cloudwatch = emulator.client("cloudwatch")
    for name, state in (
        ("TapStack-dev-MonitoringNoHealthyTasks1A2B-XYZ", "ALARM"),
        ("TapStack-dev-MonitoringTaskCpuHigh3C4D-XYZ", "OK"),
        # Another profile's alarm: not this one's business.
        ("TapStack-staging-MonitoringNoHealthyTasks1A2B-XYZ", "ALARM"),
    ):
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/ApplicationELB",
            MetricName="HealthyHostCount",
            Statistic="Minimum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="LessThanThreshold",
        )
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason=f"test: {state}")
    return Deployed(emulator, CLUSTER, SERVICE, log_group, revisions, target_group, resolved)


@pytest.fixture
def deployed(aws: AwsEmulator, monkeypatch: pytest.MonkeyPatch) -> Deployed:
    """TapStack-dev deployed in an empty emulated account; waiting commands poll every 10 ms."""
    monkeypatch.setenv("TAPSTACK_POLL_SECONDS", "0.01")
    # The emulator answers an API it lacks with HTTP 500: fail at once instead of retrying with back-off.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    return deploy(aws)
