"""Each command's own logic, on the shapes AWS returns (no emulator): formatting, requests, choices."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from tapstack_cli import destroy, execute, logs, rollback, run, status
from tapstack_cli.names import StackRef
from tapstack_cli.profile import CommandError, DeployedStack

TASK_ARN = "arn:aws:ecs:us-east-1:123456789012:task/TapStack-dev-Cluster/0123456789abcdef"
SERVICE = {
    "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/TapStack-dev-Cluster",
    "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/TapStackdevTask:7",
    "networkConfiguration": {
        "awsvpcConfiguration": {
            "subnets": ["subnet-a", "subnet-b"],
            "securityGroups": ["sg-1"],
            "assignPublicIp": "DISABLED",
        }
    },
    "enableExecuteCommand": True,
    "platformVersion": "LATEST",
}


def test_log_lines_lift_the_request_id_of_the_storefronts_json_lines() -> None:
    line = logs.format_event(
        {
            "timestamp": 1_765_000_000_000,
            "logStreamName": "storefront/storefront/0123456789abcdef",
            "message": '{"msg":"request","request_id":"7f3c9a1e2b4d","status":200}\n',
        }
    )
    assert line.startswith("2025-12-06 05:46:40  0123456789ab  [7f3c9a1e2b4d]  {")
    assert "[-]" in logs.format_event({"timestamp": 0, "message": "plain text"})
    assert "[-]" in logs.format_event({"timestamp": 0, "message": "{not json"})


@pytest.mark.parametrize(("since", "seconds"), [("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400)])
def test_since_reads_seconds_minutes_hours_and_days(since: str, seconds: int) -> None:
    assert logs.since_millis(since, 100_000.0) == (100_000 - seconds) * 1000


def test_since_names_what_it_accepts() -> None:
    with pytest.raises(CommandError, match="allowed is a number with s, m, h or d"):
        logs.since_millis("yesterday", 0)


def test_a_tasks_lines_are_its_awslogs_stream() -> None:
    outputs = {"LogStreamPrefix": "storefront", "ContainerName": "storefront"}
    assert logs.stream_prefix(outputs, "dev", TASK_ARN) == "storefront/storefront/0123456789abcdef"
    assert logs.stream_prefix(outputs, "dev", None) is None


def test_a_one_off_task_is_the_services_task_definition_network_and_platform_with_the_command_replaced() -> None:
    request = run.task_request(SERVICE, "storefront", ["storefront", "migrate"])
    assert request == {
        "cluster": SERVICE["clusterArn"],
        "taskDefinition": SERVICE["taskDefinition"],
        "count": 1,
        "networkConfiguration": SERVICE["networkConfiguration"],
        "overrides": {"containerOverrides": [{"name": "storefront", "command": ["storefront", "migrate"]}]},
        "startedBy": "tapstack-run",
        "propagateTags": "TASK_DEFINITION",
        "enableExecuteCommand": True,
        "launchType": "FARGATE",
        "platformVersion": "LATEST",
    }


def test_a_one_off_task_runs_on_the_services_capacity_providers() -> None:
    """Fargate Spot (a preview's setting) for the service means Fargate Spot for its one-off tasks; ECS
    refuses a launch type and a capacity provider strategy together."""
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    request = run.task_request({**SERVICE, "capacityProviderStrategy": strategy}, "storefront", ["true"])
    assert request["capacityProviderStrategy"] == strategy and "launchType" not in request


def test_the_exit_code_is_the_containers_or_1_with_ecss_reason() -> None:
    assert run.exit_code({"containers": [{"name": "storefront", "exitCode": 3}]}, "storefront") == (3, "exit code 3")
    code, how = run.exit_code(
        {"containers": [{"name": "storefront"}], "stoppedReason": "CannotPullContainerError: pull access denied"},
        "storefront",
    )
    assert code == 1 and "CannotPullContainerError" in how


def test_exec_builds_the_session_managers_target_as_the_aws_cli_does() -> None:
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html: ExecuteCommand is
    interactive; the plugin's target is ecs:<cluster>_<task id>_<container runtime id>."""
    task = {"taskArn": TASK_ARN, "containers": [{"name": "storefront", "runtimeId": "0123456789abcdef-1234"}]}
    response = {
        "clusterArn": SERVICE["clusterArn"],
        "taskArn": TASK_ARN,
        "session": {"sessionId": "ecs-execute-command-1", "streamUrl": "wss://ssmmessages...", "tokenValue": "t"},
    }
    argv = execute.plugin_argv(response, task, "storefront", "us-east-1", "https://ecs.us-east-1.amazonaws.com")
    assert argv[0] == "session-manager-plugin" and argv[2:5] == ["us-east-1", "StartSession", ""]
    assert argv[5] == '{"Target": "ecs:TapStack-dev-Cluster_0123456789abcdef_0123456789abcdef-1234"}'
    assert execute.execute_request("c", task, "storefront", "/bin/sh")["interactive"] is True


def test_deployments_show_state_revision_rollout_and_counts() -> None:
    service = {
        "deployments": [
            {
                "status": "PRIMARY",
                "taskDefinition": SERVICE["taskDefinition"],
                "rolloutState": "IN_PROGRESS",
                "runningCount": 1,
                "desiredCount": 2,
                "pendingCount": 1,
                "updatedAt": datetime(2026, 12, 6, 5, 0, tzinfo=UTC),
            }
        ]
    }
    assert status.deployment_rows(service) == [
        ("PRIMARY", "TapStackdevTask:7", "IN_PROGRESS", "1/2/1", "2026-12-06 05:00:00 UTC")
    ]


class _Ecs:
    """The two ECS answers the family fallback reads (a recorded shape, not boto3)."""

    def list_task_definitions(self, **_: object) -> dict[str, list[str]]:
        base = "arn:aws:ecs:us-east-1:123456789012:task-definition/"
        return {"taskDefinitionArns": [f"{base}TapStackdevTask:{n}" for n in (8, 7, 5, 4)] + [f"{base}Other:6"]}


def test_without_deployment_history_the_rollback_takes_the_familys_previous_active_revision() -> None:
    found = rollback._from_family(_Ecs(), SERVICE["taskDefinition"])
    assert found is not None and found.endswith("TapStackdevTask:5")


def _stack() -> DeployedStack:
    return DeployedStack(StackRef("TapStack-prod", "us-east-1"), "UPDATE_COMPLETE", datetime.now(UTC), {})


def test_destroy_lists_retained_resources_with_the_command_that_removes_each() -> None:
    template = {
        "Resources": {
            "Key": {"Type": "AWS::KMS::Key", "DeletionPolicy": "Retain"},
            "Cluster": {
                "Type": "AWS::RDS::DBCluster",
                "DeletionPolicy": "Snapshot",
                "Properties": {"DeletionProtection": True},
            },
            "WafLogs": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "RetainExceptOnCreate"},
            "Topic": {"Type": "AWS::SNS::Topic"},
            "Vault": {"Type": "AWS::Backup::BackupVault"},
        }
    }
    ids = {
        "Key": "k-1",
        "Cluster": "tapstack-prod-storefront",
        "WafLogs": "aws-waf-logs-x",
        "Topic": "arn:t",
        "Vault": "v",
    }
    plan = destroy.plan_stack(_stack(), template, ids)
    assert [(kept.type, kept.policy) for kept in plan.kept] == [
        ("AWS::KMS::Key", "Retain"),
        ("AWS::RDS::DBCluster", "Snapshot"),
        ("AWS::Logs::LogGroup", "RetainExceptOnCreate"),
    ]
    assert "aws logs delete-log-group --region us-east-1 --log-group-name aws-waf-logs-x" in destroy.kept_text(
        plan.kept
    )
    assert "--no-deletion-protection" in plan.blockers[0]
    # A vault deleted with its stack is emptied first; a retained one is listed instead.
    assert plan.vaults_to_empty == [(StackRef("TapStack-prod", "us-east-1"), "v")]


def test_destroy_of_a_preview_keeps_nothing() -> None:
    plan = destroy.plan_stack(
        _stack(), {"Resources": {"Key": {"Type": "AWS::KMS::Key", "DeletionPolicy": "Delete"}}}, {"Key": "k"}
    )
    assert destroy.kept_text(plan.kept) == "Nothing is kept: every resource is deleted with its stack."


def test_a_load_balancers_deletion_protection_blocks_the_destroy() -> None:
    template = {
        "Resources": {
            "Alb": {
                "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Properties": {"LoadBalancerAttributes": [{"Key": "deletion_protection.enabled", "Value": "true"}]},
            }
        }
    }
    plan = destroy.plan_stack(_stack(), template, {"Alb": "arn:alb"})
    assert "Key=deletion_protection.enabled,Value=false" in plan.blockers[0]


def test_destroy_asks_for_the_environments_name() -> None:
    from tapstack_cli.main import parser
    from tapstack_cli.profile import Profile

    args = parser().parse_args(["destroy", "--env", "pr-1"])
    profile = Profile("pr-1", "us-east-1")
    assert destroy.confirmed(profile, args, io.StringIO(), ask=lambda _: "pr-1\n")
    assert not destroy.confirmed(profile, args, io.StringIO(), ask=lambda _: "yes")
