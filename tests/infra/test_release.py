"""infra/release.py and its handler: the release step runs once per new task definition, before the ECS
service is created or updated, with least privilege, and a failure stops the deployment and alerts."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from infra.context import load_config
from tests.synthesis import Synthesized

HANDLER = Path(__file__).resolve().parents[2] / "infra" / "release_handler" / "index.py"


def _release(synthesized: Synthesized) -> tuple[str, dict[str, Any]]:
    ((logical_id, release),) = synthesized.of_type("Custom::Release").items()
    return logical_id, release


def _service_task_id(synthesized: Synthesized) -> str:
    (logical_id,) = (k for k in synthesized.of_type("AWS::ECS::TaskDefinition") if k.startswith("ServiceTask"))
    return logical_id


def test_the_release_runs_before_the_ecs_service_is_created_or_updated(profile: Synthesized) -> None:
    """The ECS service depends on the release, and the release on the service's task definition's ARN: a new
    revision runs the release first, and CloudFormation updates the service (rolling or blue/green) only
    after it succeeded, so no new task starts or gets traffic before it.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html"""
    release_id, release = _release(profile)
    (service,) = profile.of_type("AWS::ECS::Service").values()
    assert release_id in service["DependsOn"]
    assert release["Properties"]["TaskDefinition"] == {"Ref": _service_task_id(profile)}
    assert release["Properties"]["Command"] == ["storefront", "migrate"]
    assert release["Properties"]["Container"] == "storefront"


def test_a_shops_release_command_runs_in_its_own_image(abroad: Synthesized) -> None:
    _, release = _release(abroad)
    assert release["Properties"]["Command"] == ["python", "manage.py", "migrate"]
    assert release["Properties"]["TimeoutSeconds"] == "900"
    assert release["Properties"]["TopicArn"] == {"Ref": "MonitoringAlertsA1241EEA"}


def test_the_first_release_waits_for_the_database_and_the_routes_out(dev: Synthesized) -> None:
    """On stack creation the release task needs the writer to connect to and a default route to pull the image."""
    _, release = _release(dev)
    assert {"DatabaseClusterWriterD43085C6", "NetworkVpcPrivateSubnet1DefaultRoute08635105"} <= set(
        release["DependsOn"]
    )
    assert any(
        d.startswith("DatabaseClusterSecurityGroupfromTapStackdevServiceSecurityGroup") for d in release["DependsOn"]
    )


def test_a_foreign_image_has_a_release_step_only_when_it_sets_one() -> None:
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shop:1"
    assert load_config("dev").service.release == ("storefront", "migrate")
    bare = load_config("dev", overrides={"service.image": image})
    assert bare.service.release == ()
    assert bare.jobs == {}  # the bundled storefront's jobs go with its image


def _statements(synthesized: Synthesized, prefix: str) -> list[dict[str, Any]]:
    return [
        statement
        for logical_id, policy in synthesized.of_type("AWS::IAM::Policy").items()
        if logical_id.startswith(prefix)
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_release_may_run_only_the_services_task_definition_and_pass_only_its_two_roles(
    abroad: Synthesized,
) -> None:
    """IAM rule for RunTask: the caller needs ecs:RunTask on the task definition and iam:PassRole on its task
    and execution roles; granted on the family in the service's cluster, and the two roles, to ECS only.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html#specify-task-iam-roles"""
    for handler in ("ReleaseStepOnEvent", "ReleaseStepIsComplete"):
        statements = _statements(abroad, f"{handler}ServiceRoleDefaultPolicy")
        (run,) = [s for s in statements if s["Action"] == "ecs:RunTask"]
        # The abroad app knows its account (123456789012), so the ARN is written out.
        family = run["Resource"]
        assert family.startswith("arn:aws:ecs:eu-central-1:123456789012:task-definition/TapStackprodServiceTask")
        assert family.endswith(":*")
        assert run["Condition"] == {"ArnEquals": {"ecs:cluster": {"Fn::GetAtt": ["ServiceCluster572F72F1", "Arn"]}}}
        (passing,) = [s for s in statements if s["Action"] == "iam:PassRole"]
        assert passing["Resource"] == [
            {"Fn::GetAtt": ["ServiceTaskExecutionRole7FF764CA", "Arn"]},
            {"Fn::GetAtt": ["ServiceTaskTaskRoleCA2F2E81", "Arn"]},
        ]
        assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
        assert not [s for s in statements if s["Resource"] == "*"]


def test_the_release_logs_are_encrypted(abroad: Synthesized) -> None:
    """AwsSolutions / NIST: the log group of the release functions and waiter is encrypted with our key."""
    groups = {k: v for k, v in abroad.of_type("AWS::Logs::LogGroup").items() if k.startswith("ReleaseStepLogs")}
    assert [group["Properties"]["KmsKeyId"] for group in groups.values()] == [
        {"Fn::GetAtt": ["KeysDataKey8F3FE3A4", "Arn"]}
    ]


# --- The handler's rules, against stand-in ECS and SNS clients ---------------------------------------------
EVENT_PROPS = {
    "Cluster": "arn:aws:ecs:eu-central-1:123456789012:cluster/c",
    "TaskDefinition": "arn:aws:ecs:eu-central-1:123456789012:task-definition/shop:7",
    "Container": "storefront",
    "Command": ["python", "manage.py", "migrate"],
    "Subnets": ["subnet-1"],
    "SecurityGroups": ["sg-1"],
    "TimeoutSeconds": "900",
    "TopicArn": "arn:aws:sns:eu-central-1:123456789012:alerts",
    "LogGroup": "logs",
    "StreamPrefix": "storefront",
}


class FakeEcs:
    def __init__(self, task: dict[str, Any]) -> None:
        self.task = task
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def run_task(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("run_task", kwargs))
        return {"tasks": [{"taskArn": "arn:task/1"}], "failures": []}

    def describe_tasks(self, **kwargs: Any) -> dict[str, Any]:
        return {"tasks": [self.task]}

    def stop_task(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("stop_task", kwargs))
        return {}


class FakeSns:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> None:
        self.published.append(kwargs)


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    spec = importlib.util.spec_from_file_location("release_handler", HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "sns", FakeSns())
    return module


def _update(data: dict[str, str] | None = None) -> dict[str, Any]:
    return {"RequestType": "Update", "ResourceProperties": EVENT_PROPS, "PhysicalResourceId": "release", "Data": data}


def test_the_handler_runs_the_command_in_the_new_task_definition(handler: ModuleType) -> None:
    handler.ecs = FakeEcs({})
    result = handler.on_event(_update(), None)
    ((name, call),) = handler.ecs.calls
    assert (name, call["taskDefinition"], call["launchType"]) == ("run_task", EVENT_PROPS["TaskDefinition"], "FARGATE")
    assert call["overrides"] == {"containerOverrides": [{"name": "storefront", "command": EVENT_PROPS["Command"]}]}
    assert call["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
    assert result["Data"]["TaskArn"] == "arn:task/1"


def test_the_release_succeeds_only_on_exit_code_zero(handler: ModuleType) -> None:
    data = {"TaskArn": "arn:task/1", "StartedAt": "0"}
    handler.ecs = FakeEcs({"lastStatus": "STOPPED", "containers": [{"name": "storefront", "exitCode": 0}]})
    assert handler.is_complete(_update(data), None) == {"IsComplete": True}
    handler.ecs = FakeEcs({"lastStatus": "STOPPED", "containers": [{"name": "storefront", "exitCode": 3}]})
    with pytest.raises(handler.ReleaseFailed, match="exited with 3"):
        handler.is_complete(_update(data), None)
    (alert,) = handler.sns.published
    assert alert["TopicArn"] == EVENT_PROPS["TopicArn"] and "python manage.py migrate" in alert["Message"]


def test_a_release_past_its_timeout_is_stopped_and_fails(handler: ModuleType) -> None:
    handler.ecs = FakeEcs({"lastStatus": "RUNNING", "containers": []})
    with pytest.raises(handler.ReleaseFailed, match="timed out"):
        handler.is_complete(_update({"TaskArn": "arn:task/1", "StartedAt": "0"}), None)
    assert [name for name, _ in handler.ecs.calls] == ["stop_task"]
    handler.ecs = FakeEcs({"lastStatus": "RUNNING", "containers": []})
    started = str(time.time())
    assert handler.is_complete(_update({"TaskArn": "arn:task/1", "StartedAt": started}), None) == {"IsComplete": False}


def test_a_task_that_never_started_fails_the_release(handler: ModuleType) -> None:
    class Refusing(FakeEcs):
        def run_task(self, **kwargs: Any) -> dict[str, Any]:
            return {"tasks": [], "failures": [{"reason": "RESOURCE:ENI"}]}

    handler.ecs = Refusing({})
    with pytest.raises(handler.ReleaseFailed, match="did not start"):
        handler.on_event(_update(), None)


def test_deleting_the_release_runs_nothing(handler: ModuleType) -> None:
    handler.ecs = FakeEcs({})
    event = {"RequestType": "Delete", "ResourceProperties": EVENT_PROPS, "PhysicalResourceId": "release"}
    assert handler.on_event(event, None) == {"PhysicalResourceId": "release"}
    assert handler.is_complete(event, None) == {"IsComplete": True}
    assert handler.ecs.calls == []
