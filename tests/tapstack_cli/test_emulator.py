"""Every command end to end over HTTP against the AWS API emulator (moto's server, tests/emulator.py), as
an operator runs it: `main(argv)` in-process, and the installed `tapstack` script in a subprocess.

The emulator does not run containers: it cannot open an ECS Exec session nor finish a deployment, and
its tasks stop only when told. Those are tested at the boundary (named in each test): the exact request
the command sends, and the emulator stopping the task as ECS would."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tapstack_cli import execute, run
from tapstack_cli.main import main
from tapstack_cli.profile import Profile
from tests.tapstack_cli.conftest import CONTAINER, STREAM_PREFIX, Deployed

TAPSTACK = Path(sys.executable).with_name("tapstack")


def tapstack(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out=out)
    return code, out.getvalue()


def test_outputs_prints_every_output_of_the_profile_as_json(deployed: Deployed) -> None:
    code, text = tapstack("outputs", "--env", "dev", "--json")
    assert code == 0
    assert json.loads(text)["TapStack-dev"] == deployed.outputs


def test_the_installed_script_prints_the_outputs_table(deployed: Deployed) -> None:
    """The console script that `uv sync` installs, in its own process, with the user's environment."""
    result = subprocess.run(
        [str(TAPSTACK), "outputs", "--env", "dev"], env=os.environ, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert f"TapStack-dev  ClusterName           {deployed.cluster}" in result.stdout


def test_status_shows_stacks_deployments_targets_alarms_and_urls(deployed: Deployed) -> None:
    code, text = tapstack("status", "--env", "dev")
    assert "TapStack-dev  us-east-1  CREATE_COMPLETE" in text
    assert f"PRIMARY     {deployed.task_definitions[-1].rpartition('/')[2]}" in text
    assert "0/0 healthy (no targets)" in text
    # Only this profile's alarm in ALARM: not its OK one, not staging's.
    assert "Alarms in ALARM: 1" in text and "TapStack-dev-MonitoringNoHealthyTasks1A2B-XYZ" in text
    assert "staging" not in text and "TaskCpuHigh" not in text
    assert "Site: https://d111111abcdef8.cloudfront.net/" in text
    assert code == 1  # an alarm is in ALARM


def test_logs_show_the_request_id_of_each_line_and_filter(deployed: Deployed) -> None:
    code, text = tapstack("logs", "--env", "dev", "--since", "10m")
    assert code == 0
    lines = text.splitlines()
    assert [line.split("  ")[2] for line in lines] == ["[7f3c9a1e2b4d]", "[c0ffee123456]", "[-]"]
    code, text = tapstack("logs", "--env", "dev", "--filter", "c0ffee123456")
    assert "[c0ffee123456]" in text and "7f3c9a1e2b4d" not in text
    code, text = tapstack("logs", "--env", "dev", "--since", "10s")
    assert text.startswith("no log lines in")


def test_logs_follow_prints_lines_that_arrive_later(deployed: Deployed) -> None:
    """--follow polls FilterLogEvents from the newest line seen and prints each new line once."""
    from tapstack_cli import logs

    client = deployed.client("logs")
    stream = f"{STREAM_PREFIX}/{CONTAINER}/0123456789abcdef0123456789abcdef"
    polls = iter(range(3))

    def keep_going() -> bool:
        # Between the first and second poll, a new line arrives.
        if next(polls, None) == 0:
            client.put_log_events(
                logGroupName=deployed.log_group,
                logStreamName=stream,
                logEvents=[{"timestamp": int(time.time() * 1000), "message": "late line"}],
            )
        return next(iter([True]))

    out = io.StringIO()
    start = logs.since_millis("10m", time.time())
    printed = logs.tail(
        client,
        deployed.log_group,
        start=start,
        pattern=None,
        stream=None,
        out=out,
        follow=True,
        keep_going=lambda: keep_going() and bool(list(iter([1])) and _fewer_than(out, 5)),
    )
    assert printed == 4
    assert out.getvalue().count("late line") == 1


def _fewer_than(out: io.StringIO, lines: int) -> bool:
    return len(out.getvalue().splitlines()) < lines - 1


def test_run_starts_a_task_like_the_services_streams_its_logs_and_exits_with_its_code(deployed: Deployed) -> None:
    """Boundary: the emulator does not run the container, so a helper plays ECS: it writes the task's log
    line and stops the task (exit code 0, as moto reports it) while the command waits."""
    ecs, client = deployed.client("ecs"), deployed.client("logs")

    def play_ecs() -> None:
        for _ in range(500):
            arns = ecs.list_tasks(cluster=deployed.cluster, startedBy="tapstack-run")["taskArns"]
            if arns:
                stream = f"{STREAM_PREFIX}/{CONTAINER}/{arns[0].rpartition('/')[2]}"
                client.create_log_stream(logGroupName=deployed.log_group, logStreamName=stream)
                client.put_log_events(
                    logGroupName=deployed.log_group,
                    logStreamName=stream,
                    logEvents=[{"timestamp": int(time.time() * 1000), "message": "applied 2 migrations"}],
                )
                time.sleep(0.05)
                ecs.stop_task(cluster=deployed.cluster, task=arns[0], reason="Essential container exited")
                return
            time.sleep(0.01)

    helper = threading.Thread(target=play_ecs)
    helper.start()
    code, text = tapstack("run", "--env", "dev", "--", "storefront", "migrate")
    helper.join()
    assert code == 0
    assert "Started task" in text and "storefront migrate" in text
    assert "applied 2 migrations" in text
    assert "task STOPPED" in text and "exit code 0" in text
    (task_arn,) = ecs.list_tasks(cluster=deployed.cluster, startedBy="tapstack-run", desiredStatus="STOPPED")[
        "taskArns"
    ]
    (task,) = ecs.describe_tasks(cluster=deployed.cluster, tasks=[task_arn])["tasks"]
    # The service's current revision, its network, the command replaced.
    assert task["taskDefinitionArn"] == deployed.task_definitions[-1]
    assert task["overrides"]["containerOverrides"] == [{"name": CONTAINER, "command": ["storefront", "migrate"]}]


def test_run_uses_the_services_network_configuration(deployed: Deployed) -> None:
    ecs = deployed.client("ecs")
    (service,) = ecs.describe_services(cluster=deployed.cluster, services=[deployed.service])["services"]
    request = run.task_request(service, CONTAINER, ["true"])
    assert request["networkConfiguration"] == service["networkConfiguration"]
    assert request["launchType"] == "FARGATE" and request["taskDefinition"] == deployed.task_definitions[-1]
    code, text = tapstack("run", "--env", "dev", "--detach", "--", "true")
    assert code == 0 and "tapstack logs --env dev --task" in text


def test_rollback_puts_the_service_on_the_previous_revision(deployed: Deployed) -> None:
    """The emulator has no deployment history (ListServiceDeployments): the command falls back to the
    family's previous active revision. Boundary: the emulator never finishes a deployment, so --no-wait."""
    code, text = tapstack("rollback", "--env", "dev", "--no-wait")
    assert code == 0, text
    (service,) = deployed.client("ecs").describe_services(cluster=deployed.cluster, services=[deployed.service])[
        "services"
    ]
    assert service["taskDefinition"] == deployed.task_definitions[-2]
    assert (
        f"{deployed.task_definitions[-1].rpartition('/')[2]} -> {deployed.task_definitions[-2].rpartition('/')[2]}"
        in text
    )


def test_exec_without_the_session_manager_plugin_says_how_to_install_it(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    code, _ = tapstack("exec", "--env", "dev")
    assert code == 2
    message = capsys.readouterr().err
    assert "brew install --cask session-manager-plugin" in message
    assert "session-manager-plugin.deb" in message and "session-manager-plugin.rpm" in message


def test_exec_asks_ecs_for_an_interactive_session_in_the_running_task(deployed: Deployed) -> None:
    """Boundary: the emulator has no ExecuteCommand. The command finds the task the emulator runs and builds
    exactly the request and plugin arguments `aws ecs execute-command` would."""
    ecs = deployed.client("ecs")
    (service,) = ecs.describe_services(cluster=deployed.cluster, services=[deployed.service])["services"]
    started = ecs.run_task(**run.task_request(service, CONTAINER, ["storefront", "serve"]))["tasks"][0]
    task = execute.running_task(ecs, deployed.cluster, deployed.service, started["taskArn"])
    assert execute.execute_request(deployed.cluster, task, CONTAINER, "/bin/sh") == {
        "cluster": deployed.cluster,
        "task": started["taskArn"],
        "container": CONTAINER,
        "command": "/bin/sh",
        "interactive": True,
    }


def test_destroy_lists_what_is_kept_and_deletes_the_stack_after_confirmation(deployed: Deployed) -> None:
    out = io.StringIO()
    from tapstack_cli import destroy
    from tapstack_cli.main import parser

    args = parser().parse_args(["destroy", "--env", "dev"])
    profile = Profile("dev", "us-east-1")
    assert destroy.run(profile, args, out, ask=lambda _: "prod") == 1  # the wrong name deletes nothing
    assert profile.describe(profile.stacks()[0].ref) is not None
    code = destroy.run(profile, args, out, ask=lambda _: "dev")
    text = out.getvalue()
    assert code == 0, text
    assert "AWS::KMS::Key" in text and "aws kms schedule-key-deletion --region us-east-1 --key-id" in text
    assert "AWS::S3::Bucket" in text and "aws s3api delete-bucket" in text
    assert "DELETE_COMPLETE" in text
    assert profile.stacks() == []


def test_destroy_without_a_terminal_needs_yes(deployed: Deployed, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = tapstack("destroy", "--env", "dev")
    assert code == 2 and "--yes" in capsys.readouterr().err


def test_aws_refusals_are_one_line_not_a_traceback(
    aws: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An endpoint that refuses the connection: botocore's error, said in one line with exit 1."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    code, _ = tapstack("outputs", "--env", "dev")
    assert code == 1
    assert capsys.readouterr().err.startswith("tapstack outputs: AWS: ")
