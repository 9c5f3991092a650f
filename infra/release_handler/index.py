"""The release step's custom resource handlers (CDK's provider framework, infra/release.py): start the
release command as a one-off task of the new task definition, then report it done only on exit code 0.

on_event starts the task; is_complete is asked every few seconds until the task stops or the step's own
timeout passes (then it stops the task). A failure raises: CloudFormation fails the update before the ECS
service is touched, and the alert topic is told why.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import boto3  # type: ignore[import-untyped]

ecs: Any = boto3.client("ecs")
sns: Any = boto3.client("sns")


class ReleaseFailed(Exception):
    """The release command did not finish with exit code 0 in time."""


def _alert(props: dict[str, Any], subject: str, message: str) -> None:
    sns.publish(TopicArn=props["TopicArn"], Subject=subject[:100], Message=message)


def _fail(props: dict[str, Any], reason: str) -> ReleaseFailed:
    stack = os.environ.get("STACK_NAME", "TapStack")
    message = (
        f"The release step of {stack} failed, so the deployment stopped before any new task received "
        f"traffic and CloudFormation rolls the stack back.\n\nCommand: {' '.join(props['Command'])}\n"
        f"Task definition: {props['TaskDefinition']}\nReason: {reason}\n"
        f"Logs: log group {props['LogGroup']}, stream prefix {props['StreamPrefix']}/{props['Container']}/."
    )
    _alert(props, f"{stack}: release step failed", message)
    return ReleaseFailed(reason)


def on_event(event: dict[str, Any], _context: object) -> dict[str, Any]:
    props = event["ResourceProperties"]
    physical_id = event.get("PhysicalResourceId", "release")
    if event["RequestType"] == "Delete":
        return {"PhysicalResourceId": physical_id}
    response = ecs.run_task(
        cluster=props["Cluster"],
        taskDefinition=props["TaskDefinition"],
        # On demand even where the service runs on Fargate Spot (service.capacity): a migration stopped half-way
        # by a Spot interruption would fail the deployment, and it runs for minutes once per release.
        launchType="FARGATE",
        count=1,
        startedBy="tapstack-release",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": props["Subnets"],
                "securityGroups": props["SecurityGroups"],
                "assignPublicIp": "DISABLED",
            }
        },
        overrides={"containerOverrides": [{"name": props["Container"], "command": props["Command"]}]},
    )
    if response.get("failures") or not response.get("tasks"):
        raise _fail(props, f"the task did not start: {json.dumps(response.get('failures'), default=str)}")
    task_arn = response["tasks"][0]["taskArn"]
    print(json.dumps({"release": "started", "task": task_arn}))
    return {"PhysicalResourceId": physical_id, "Data": {"TaskArn": task_arn, "StartedAt": str(time.time())}}


def is_complete(event: dict[str, Any], _context: object) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        return {"IsComplete": True}
    props = event["ResourceProperties"]
    task_arn = event["Data"]["TaskArn"]
    (task,) = ecs.describe_tasks(cluster=props["Cluster"], tasks=[task_arn])["tasks"]
    if task["lastStatus"] != "STOPPED":
        if time.time() - float(event["Data"]["StartedAt"]) > int(props["TimeoutSeconds"]):
            ecs.stop_task(cluster=props["Cluster"], task=task_arn, reason="release step timed out")
            raise _fail(props, f"timed out after {props['TimeoutSeconds']} s; task {task_arn} stopped")
        return {"IsComplete": False}
    container: dict[str, Any] = next((c for c in task.get("containers", []) if c["name"] == props["Container"]), {})
    exit_code = container.get("exitCode")
    print(json.dumps({"release": "stopped", "task": task_arn, "exitCode": exit_code}))
    if exit_code != 0:
        reason = container.get("reason") or task.get("stoppedReason") or "unknown"
        raise _fail(props, f"task {task_arn} exited with {exit_code} ({reason})")
    return {"IsComplete": True}
