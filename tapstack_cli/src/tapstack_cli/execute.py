"""`tapstack exec`: a shell, or one command, in a running task through ECS Exec (`copilot svc exec`).

ECS ExecuteCommand opens the session; AWS's Session Manager plugin carries it, exactly as `aws ecs
execute-command` does. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
from typing import Any, TextIO

from tapstack_cli.profile import CommandError, Profile, require

HELP = "a shell (or a command) in a running task, through ECS Exec"
DESCRIPTION = """\
Open an interactive shell in one of the service's running tasks (or run --command there), through ECS
Exec. Needs the Session Manager plugin (session-manager-plugin on PATH); without it, says how to install
it. The session is encrypted with the stack's KMS key, its output is kept in the ECS Exec log group
(output ExecLogGroup), and CloudTrail records who opened it (event ExecuteCommand), docs/operations.md."""

PLUGIN = "session-manager-plugin"
DOWNLOADS = "https://s3.amazonaws.com/session-manager-downloads/plugin/latest"
INSTALL_PLUGIN = f"""\
ECS Exec needs AWS's Session Manager plugin, and `{PLUGIN}` is not on PATH. Install it:
  macOS:          brew install --cask session-manager-plugin
  Debian, Ubuntu: curl -fsSLo /tmp/smp.deb \\
                    {DOWNLOADS}/ubuntu_64bit/session-manager-plugin.deb
                  sudo dpkg -i /tmp/smp.deb
                  (ARM64: .../plugin/latest/ubuntu_arm64/session-manager-plugin.deb)
  Amazon Linux, RHEL, Fedora:
                  sudo dnf install -y {DOWNLOADS}/linux_64bit/session-manager-plugin.rpm
                  (ARM64: .../plugin/latest/linux_arm64/session-manager-plugin.rpm)
  Windows:        {DOWNLOADS}/windows/SessionManagerPluginSetup.exe
Then check it with `{PLUGIN} --version` and run this command again.
https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", default=None, help="the task's id (default: the first running task)")
    parser.add_argument("--command", default="/bin/sh", help="what to run in the container (default: /bin/sh)")


def running_task(ecs: Any, cluster: str, service: str, task: str | None) -> dict[str, Any]:
    """The task to open the session in: the one asked for, or the service's first running task."""
    arns = [task] if task else ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="RUNNING")["taskArns"]
    if not arns:
        raise CommandError(f"no running task in service {service}: `tapstack status` shows why")
    described = ecs.describe_tasks(cluster=cluster, tasks=arns[:1])["tasks"]
    if not described or described[0].get("lastStatus") != "RUNNING":
        raise CommandError(f"task {arns[0]} is not running")
    found: dict[str, Any] = described[0]
    if found.get("enableExecuteCommand") is False:
        raise CommandError(
            f"task {found['taskArn'].rpartition('/')[2]} was started without ECS Exec (before the deploy that "
            f"enabled it): start new tasks with `aws ecs update-service --cluster {cluster} --service {service} "
            "--force-new-deployment`"
        )
    return found


def execute_request(cluster: str, task: dict[str, Any], container: str, command: str) -> dict[str, Any]:
    """The ExecuteCommand request: interactive is the only mode ECS Exec offers."""
    return {
        "cluster": cluster,
        "task": task["taskArn"],
        "container": container,
        "command": command,
        "interactive": True,
    }


def plugin_argv(
    response: dict[str, Any], task: dict[str, Any], container: str, region: str, endpoint: str
) -> list[str]:
    """The Session Manager plugin's arguments, as `aws ecs execute-command` passes them."""
    runtime_id = next(item["runtimeId"] for item in task["containers"] if item["name"] == container)
    target = f"ecs:{response['clusterArn'].rpartition('/')[2]}_{response['taskArn'].rpartition('/')[2]}_{runtime_id}"
    return [
        PLUGIN,
        json.dumps(response["session"]),
        region,
        "StartSession",
        "",
        json.dumps({"Target": target}),
        endpoint,
    ]


def run(profile: Profile, args: argparse.Namespace, out: TextIO) -> int:
    if shutil.which(PLUGIN) is None:
        raise CommandError(INSTALL_PLUGIN, code=2)
    outputs = profile.outputs()
    cluster = require(outputs, "ClusterName", profile.environment)
    container = require(outputs, "ContainerName", profile.environment)
    ecs = profile.client("ecs")
    task = running_task(ecs, cluster, require(outputs, "ServiceName", profile.environment), args.task)
    print(f"Opening `{args.command}` in task {task['taskArn'].rpartition('/')[2]} ({container})...", file=out)
    response = ecs.execute_command(**execute_request(cluster, task, container, args.command))
    # Ctrl-C belongs to the remote shell while the plugin runs, as with the AWS CLI.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        argv = plugin_argv(response, task, container, profile.region, ecs.meta.endpoint_url)
        return subprocess.call(argv)  # noqa: S603 - the plugin found on PATH, arguments built above
    finally:
        signal.signal(signal.SIGINT, previous)
