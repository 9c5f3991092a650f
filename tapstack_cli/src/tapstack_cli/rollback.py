"""`tapstack rollback`: the service back on its previous successful deployment's task definition, in seconds.

No synth, no tests, no CloudFormation: one UpdateService call, then the same rolling (or blue/green)
deployment ECS runs for a release, watched by the same deployment alarms and circuit breaker.
"""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from tapstack_cli.profile import CommandError, Profile, require
from tapstack_cli.progress import wait_until

HELP = "put the service back on the previous successful deployment's task definition"
DESCRIPTION = """\
Put the service back on the task definition of its previous successful deployment (ECS's deployment
history, ListServiceDeployments; where that history is not available, the family's previous active
revision), or on --to <family:revision>, and wait for ECS to finish the deployment.

What it does to the next `make deploy`: the rollback is drift, not a template change. CloudFormation
compares a deploy with its own last template, not with the service: a deploy that does not change the
task definition leaves the service on the rolled-back revision; a deploy that does (a new image, a new
setting) replaces it with the new one. So fix forward (deploy the fix) or revert the commit; the next
release undoes the rollback either way. `tapstack status` shows which revision runs."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", default=None, help="a task definition (family:revision) instead of the previous one")
    parser.add_argument("--no-wait", action="store_true", help="return once ECS accepted the change")


def _from_history(ecs: Any, cluster: str, service: str, current: str) -> str | None:
    """The newest successful deployment's task definition other than `current`, from ECS's history."""
    deployments = ecs.list_service_deployments(cluster=cluster, service=service, status=["SUCCESSFUL"])[
        "serviceDeployments"
    ]
    newest_first = sorted(deployments, key=lambda item: item.get("createdAt", 0), reverse=True)
    arns = [item["targetServiceRevisionArn"] for item in newest_first if item.get("targetServiceRevisionArn")]
    for start in range(0, len(arns), 20):
        revisions = ecs.describe_service_revisions(serviceRevisionArns=arns[start : start + 20])["serviceRevisions"]
        by_arn: dict[str, str] = {revision["serviceRevisionArn"]: revision["taskDefinition"] for revision in revisions}
        for arn in arns[start : start + 20]:
            if by_arn.get(arn, current) != current:
                return by_arn[arn]
    return None


def _from_family(ecs: Any, current: str) -> str | None:
    """The family's newest active revision older than `current`."""
    family, _, revision = current.rpartition("/")[2].rpartition(":")
    arns = ecs.list_task_definitions(familyPrefix=family, status="ACTIVE", sort="DESC")["taskDefinitionArns"]
    older = [
        arn
        for arn in arns
        if arn.rpartition("/")[2].rpartition(":")[0] == family and int(arn.rpartition(":")[2]) < int(revision)
    ]
    return max(older, key=lambda arn: int(arn.rpartition(":")[2]), default=None)


def previous_task_definition(ecs: Any, cluster: str, service: str, current: str, out: TextIO) -> str:
    """Where to roll back to: ECS's deployment history first, the task definition family otherwise."""
    from botocore.exceptions import ClientError  # type: ignore[import-untyped]

    try:
        found = _from_history(ecs, cluster, service, current)
    except ClientError as error:
        print(f"  (no deployment history: {error.response['Error'].get('Code', error)}; using the family)", file=out)
        found = None
    found = found or _from_family(ecs, current)
    if found is None:
        raise CommandError(f"no earlier task definition than {current.rpartition('/')[2]} to roll back to")
    return found


def primary(service: dict[str, Any]) -> dict[str, Any]:
    return next(item for item in service["deployments"] if item["status"] == "PRIMARY")


def run(profile: Profile, args: argparse.Namespace, out: TextIO) -> int:
    outputs = profile.outputs()
    cluster = require(outputs, "ClusterName", profile.environment)
    name = require(outputs, "ServiceName", profile.environment)
    ecs = profile.client("ecs")
    (service,) = ecs.describe_services(cluster=cluster, services=[name])["services"]
    current = service["taskDefinition"]
    target = args.to or previous_task_definition(ecs, cluster, name, current, out)
    print(f"Rolling {name} back: {current.rpartition('/')[2]} -> {target.rpartition('/')[2]}", file=out)
    ecs.update_service(cluster=cluster, service=name, taskDefinition=target)
    if args.no_wait:
        return 0
    final = wait_until(
        lambda: primary(ecs.describe_services(cluster=cluster, services=[name])["services"][0]),
        lambda deployment: deployment.get("rolloutState", "COMPLETED") in ("COMPLETED", "FAILED"),
        lambda deployment: (
            f"{deployment['taskDefinition'].rpartition('/')[2]}: {deployment.get('rolloutState', '-')}, "
            f"running {deployment.get('runningCount', 0)}/{deployment.get('desiredCount', 0)}"
        ),
        out=out,
        what="the rollback's deployment",
    )
    if final.get("rolloutState") == "FAILED":
        raise CommandError(f"the rollback's deployment failed: {final.get('rolloutStateReason', '')}")
    print(
        f"{name} runs {target.rpartition('/')[2]}. The next `make deploy` keeps it unless the deploy changes the task "
        "definition (then the new one replaces it).",
        file=out,
    )
    return 0
