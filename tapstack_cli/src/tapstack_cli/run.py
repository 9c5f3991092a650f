"""`tapstack run -- <command>`: a one-off task like the service's, its logs, its exit code (`copilot task run`).

The task runs the service's current task definition (image, environment, secrets, roles, log group) in the
service's subnets and security groups, with the container's command replaced: a migration or a data fix
runs exactly where and as the service does.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from tapstack_cli import logs
from tapstack_cli.profile import CommandError, Profile, require
from tapstack_cli.progress import wait_until

HELP = "a one-off task from the service's task definition; waits, streams its logs, exits with its code"
DESCRIPTION = """\
Start one task from the service's current task definition and network configuration (subnets, security
groups, secrets and roles come with it), with the container's command replaced by what follows `--`:
  tapstack run --env prod -- storefront migrate
Waits for the task to stop while printing its log lines, then exits with the container's exit code.
--detach prints the task's id and returns at once (`tapstack logs --task <id>` reads its lines)."""

STARTED_BY = "tapstack-run"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--detach", action="store_true", help="start the task and return without waiting")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds to wait for the task (default: 3600)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command and its arguments")


def task_request(service: dict[str, Any], container: str, command: list[str]) -> dict[str, Any]:
    """The RunTask request: the service's task definition, network and capacity, the command replaced."""
    request: dict[str, Any] = {
        "cluster": service["clusterArn"],
        "taskDefinition": service["taskDefinition"],
        "count": 1,
        "networkConfiguration": service["networkConfiguration"],
        "overrides": {"containerOverrides": [{"name": container, "command": command}]},
        "startedBy": STARTED_BY,
        "propagateTags": "TASK_DEFINITION",
        "enableExecuteCommand": bool(service.get("enableExecuteCommand")),
    }
    if service.get("capacityProviderStrategy"):
        request["capacityProviderStrategy"] = service["capacityProviderStrategy"]
    else:
        request["launchType"] = service.get("launchType", "FARGATE")
    if service.get("platformVersion"):
        request["platformVersion"] = service["platformVersion"]
    return request


def exit_code(task: dict[str, Any], container: str) -> tuple[int, str]:
    """The container's exit code, or 1 with ECS's reason when it never ran (image pull, secrets, capacity)."""
    state: dict[str, Any] = next((item for item in task.get("containers", []) if item["name"] == container), {})
    if state.get("exitCode") is not None:
        return int(state["exitCode"]), f"exit code {state['exitCode']}"
    reason = state.get("reason") or task.get("stoppedReason") or "no exit code reported"
    return 1, f"stopped without an exit code: {reason}"


def run(profile: Profile, args: argparse.Namespace, out: TextIO) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise CommandError("give the command after --, like: tapstack run --env dev -- storefront migrate", code=2)
    outputs = profile.outputs()
    cluster = require(outputs, "ClusterName", profile.environment)
    container = require(outputs, "ContainerName", profile.environment)
    ecs = profile.client("ecs")
    (service,) = ecs.describe_services(
        cluster=cluster, services=[require(outputs, "ServiceName", profile.environment)]
    )["services"]
    response = ecs.run_task(**task_request(service, container, command))
    if response.get("failures") or not response.get("tasks"):
        raise CommandError(f"ECS did not start the task: {response.get('failures')}")
    task_arn = response["tasks"][0]["taskArn"]
    task_id = task_arn.rpartition("/")[2]
    print(f"Started task {task_id} from {service['taskDefinition'].rpartition('/')[2]}: {' '.join(command)}", file=out)
    if args.detach:
        print(f"Its lines: tapstack logs --env {profile.environment} --task {task_id}", file=out)
        return 0
    return follow(profile, outputs, cluster, task_arn, container, out=out, timeout_seconds=args.timeout)


def follow(
    profile: Profile,
    outputs: dict[str, str],
    cluster: str,
    task_arn: str,
    container: str,
    *,
    out: TextIO,
    timeout_seconds: float,
) -> int:
    """Wait for the task to stop, printing its log lines as they come; the container's exit code."""
    ecs, client = profile.client("ecs"), profile.client("logs")
    group = require(outputs, "ServiceLogGroup", profile.environment)
    stream = logs.stream_prefix(outputs, profile.environment, task_arn)
    seen: set[str] = set()

    def print_new_lines() -> None:
        for event in logs.events(client, group, 0, None, stream, seen):
            print(logs.format_event(event), file=out, flush=True)

    task = wait_until(
        lambda: ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0],
        lambda task: task["lastStatus"] == "STOPPED",
        lambda task: f"task {task['lastStatus']}",
        out=out,
        what=f"task {task_arn.rpartition('/')[2]}",
        timeout_seconds=timeout_seconds,
        on_poll=print_new_lines,
    )
    code, how = exit_code(task, container)
    print(f"Task {task_arn.rpartition('/')[2]} stopped: {how}", file=out)
    return code
