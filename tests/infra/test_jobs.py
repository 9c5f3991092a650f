"""infra/jobs.py: each job's schedule, state machine, task, dead-letter queue and failure alerts."""

from __future__ import annotations

import json
from typing import Any

from tests.synthesis import Synthesized


def _of(synthesized: Synthesized, resource_type: str, prefix: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in synthesized.of_type(resource_type).items() if k.startswith(prefix)}


def _one(synthesized: Synthesized, resource_type: str, prefix: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = _of(synthesized, resource_type, prefix).items()
    return logical_id, resource["Properties"]


def test_a_job_runs_on_its_eventbridge_scheduler_schedule_with_retries_and_a_dead_letter_queue(
    abroad: Synthesized,
) -> None:
    """EventBridge Scheduler rule: a target that cannot be invoked is retried (RetryPolicy) and then sent to the
    DeadLetterConfig queue, which the schedule's role may write to.
    https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html"""
    machine_id, _ = _one(abroad, "AWS::StepFunctions::StateMachine", "ScheduledJobscleanup")
    queue_id, _ = _one(abroad, "AWS::SQS::Queue", "ScheduledJobsDeadLetters")
    role_id, _ = _one(abroad, "AWS::IAM::Role", "ScheduledJobsScheduleRole")
    _, schedule = _one(abroad, "AWS::Scheduler::Schedule", "ScheduledJobscleanup")
    assert (schedule["ScheduleExpression"], schedule["ScheduleExpressionTimezone"]) == ("rate(1 hour)", "UTC")
    assert schedule["Target"] == {
        "Arn": {"Ref": machine_id},
        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}},
        "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 3},
        "RoleArn": {"Fn::GetAtt": [role_id, "Arn"]},
    }


def test_the_schedule_role_starts_only_the_jobs_and_writes_only_their_dead_letter_queue(abroad: Synthesized) -> None:
    """Least privilege, and EventBridge Scheduler's confused-deputy rule (aws:SourceAccount on the trust).
    https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html"""
    role_id, role = _one(abroad, "AWS::IAM::Role", "ScheduledJobsScheduleRole")
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    # The abroad app knows its account.
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    (policy,) = (
        p["Properties"]
        for p in abroad.of_type("AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    )
    machine_id, _ = _one(abroad, "AWS::StepFunctions::StateMachine", "ScheduledJobscleanup")
    queue_id, _ = _one(abroad, "AWS::SQS::Queue", "ScheduledJobsDeadLetters")
    assert policy["PolicyDocument"]["Statement"] == [
        # The queue's key, to write to the encrypted dead-letter queue.
        {
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": ["KeysDataKey8F3FE3A4", "Arn"]},
        },
        {"Action": "states:StartExecution", "Effect": "Allow", "Resource": {"Ref": machine_id}},
        {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": {"Fn::GetAtt": [queue_id, "Arn"]}},
    ]


def test_a_run_is_the_services_container_with_the_jobs_command_a_timeout_and_retries(abroad: Synthesized) -> None:
    """Step Functions' ECS integration (.sync) waits for the task; TimeoutSeconds fails a run that takes too
    long and Retry runs it again: https://docs.aws.amazon.com/step-functions/latest/dg/connect-ecs.html"""
    _, machine = _one(abroad, "AWS::StepFunctions::StateMachine", "ScheduledJobscleanup")
    definition = json.dumps(machine["DefinitionString"])
    for fragment in (
        "ecs:runTask.sync",
        '\\"Command\\":[\\"python\\",\\"manage.py\\",\\"clearsessions\\"]',
        '\\"TimeoutSeconds\\":1800',
        '\\"MaxAttempts\\":1',
        '\\"LaunchType\\":\\"FARGATE\\"',
        '\\"TaskDefinition\\":\\"TapStackprodScheduledJobsTask',
    ):
        assert fragment in definition, fragment
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    assert machine["TracingConfiguration"] == {"Enabled": True}


def test_a_jobs_task_has_the_services_settings_secrets_and_roles(abroad: Synthesized) -> None:
    """The same container as the service (image, environment, secrets) and the same two roles, so a job reads
    exactly what the service may; its own family, so that its failures are told apart."""
    tasks = abroad.of_type("AWS::ECS::TaskDefinition")
    (service,) = (v["Properties"] for k, v in tasks.items() if k.startswith("ServiceTask"))
    (job,) = (v["Properties"] for k, v in tasks.items() if k.startswith("ScheduledJobsTask"))
    for key in ("ExecutionRoleArn", "TaskRoleArn", "Cpu", "Memory", "RuntimePlatform"):
        assert job[key] == service[key], key
    (service_container,) = service["ContainerDefinitions"]
    (job_container,) = job["ContainerDefinitions"]
    for key in ("Image", "Environment", "Secrets", "ReadonlyRootFilesystem", "User"):
        assert job_container[key] == service_container[key], key
    assert "Command" not in job_container and "PortMappings" not in job_container


def test_a_failed_run_reaches_the_alert_topic(abroad: Synthesized) -> None:
    """ECS emits "ECS Task State Change" when a task stops, with each container's exit code; a jobs' task that
    stopped with a non-zero code, and a run that failed or timed out, go to the alert topic.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html"""
    _, failed = _one(abroad, "AWS::Events::Rule", "ScheduledJobsFailedRun")
    detail = failed["EventPattern"]["detail"]
    assert failed["EventPattern"]["detail-type"] == ["ECS Task State Change"]
    assert detail["lastStatus"] == ["STOPPED"]
    assert detail["containers"] == {"exitCode": [{"anything-but": [0]}]}
    (prefix,) = detail["taskDefinitionArn"]
    family = prefix["prefix"]
    assert family.startswith("arn:aws:ecs:eu-central-1:123456789012:task-definition/TapStackprodScheduledJobsTask")
    assert family.endswith(":")
    assert failed["Targets"][0]["Arn"] == {"Ref": "MonitoringAlertsA1241EEA"}
    _, execution = _one(abroad, "AWS::Events::Rule", "ScheduledJobsFailedExecution")
    assert execution["EventPattern"]["detail"]["status"] == ["FAILED", "TIMED_OUT", "ABORTED"]
    assert execution["Targets"][0]["Arn"] == {"Ref": "MonitoringAlertsA1241EEA"}


def test_the_dead_letter_queue_is_encrypted_and_a_message_in_it_alarms(abroad: Synthesized) -> None:
    """AwsSolutions-SQS2/SQS4: the queue is encrypted with our key and refuses plain HTTP; any message in it
    (a schedule that could not start its job) sets off an alarm to the alert topic."""
    queue_id, queue = _one(abroad, "AWS::SQS::Queue", "ScheduledJobsDeadLetters")
    assert queue["KmsMasterKeyId"] == {"Fn::GetAtt": ["KeysDataKey8F3FE3A4", "Arn"]}
    assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600
    _, alarm = _one(abroad, "AWS::CloudWatch::Alarm", "ScheduledJobsStartFailed")
    assert (alarm["MetricName"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "ApproximateNumberOfMessagesVisible",
        0,
        "GreaterThanThreshold",
    )
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_id, "QueueName"]}}]
    assert alarm["AlarmActions"] == [{"Ref": "MonitoringAlertsA1241EEA"}]


def test_the_bundled_storefront_expires_abandoned_carts_every_hour(dev: Synthesized) -> None:
    _, schedule = _one(dev, "AWS::Scheduler::Schedule", "ScheduledJobsexpirecarts")
    assert schedule["ScheduleExpression"] == "rate(1 hour)"
    _, machine = _one(dev, "AWS::StepFunctions::StateMachine", "ScheduledJobsexpirecarts")
    assert '\\"Command\\":[\\"storefront\\",\\"expire-carts\\"]' in json.dumps(machine["DefinitionString"])
    assert '\\"TimeoutSeconds\\":900' in json.dumps(machine["DefinitionString"])
