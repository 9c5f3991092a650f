"""`tapstack destroy`: every stack of a profile, in the right order, after a confirmation (`copilot app delete`).

It first reads what CloudFormation will keep (resources whose DeletionPolicy is Retain, Snapshot or
RetainExceptOnCreate) and what would stop the delete (deletion protection), lists them with the command
that removes each, and asks for the environment's name. A preview keeps nothing: its settings delete
everything, and the recovery points of a vault that is deleted with its stack are deleted first.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from tapstack_cli.names import StackRef
from tapstack_cli.profile import CommandError, DeployedStack, Profile
from tapstack_cli.progress import table, wait_until

HELP = "delete every stack of the profile in order, after listing what is kept and how to remove it"
DESCRIPTION = """\
Delete every stack of the profile, in the order their references allow (the us-east-1 alarms, the
regional stack, then the us-east-1 edge and the backup copy region's stack), waiting for each.

Before anything is deleted it lists what CloudFormation keeps (KMS keys, buckets, log groups, backup
vaults, the database's final snapshot, by the profile's removal settings), with the command that removes
each, and what would stop the delete (deletion protection, with the command that lifts it), then asks
you to type the environment's name. --yes skips the question (CI removing a preview). A preview keeps
nothing. `make destroy ENVIRONMENT=<env> [REGION=<region>]` runs this command."""

KEEPING = ("Retain", "Snapshot", "RetainExceptOnCreate")

# How to remove what a deleted stack kept, by resource type; {id} is the physical id, {region} its region.
REMOVAL: dict[str, str] = {
    "AWS::KMS::Key": "aws kms schedule-key-deletion --region {region} --key-id {id} --pending-window-in-days 7"
    "  (once nothing encrypted with it is needed: the snapshots and vault copies it encrypts become unreadable)",
    "AWS::S3::Bucket": "empty every object version (console: Empty), then "
    "aws s3api delete-bucket --region {region} --bucket {id}",
    "AWS::Logs::LogGroup": "aws logs delete-log-group --region {region} --log-group-name {id}",
    "AWS::Backup::BackupVault": "delete its recovery points (aws backup list-recovery-points-by-backup-vault --region "
    "{region} --backup-vault-name {id}; aws backup delete-recovery-point ...; a locked vault keeps them until their "
    "retention ends), then aws backup delete-backup-vault --region {region} --backup-vault-name {id}",
    "AWS::RDS::DBCluster": "its final snapshot: aws rds describe-db-cluster-snapshots --region {region} "
    "--db-cluster-identifier {id} --snapshot-type manual; then aws rds delete-db-cluster-snapshot --region {region} "
    "--db-cluster-snapshot-identifier <name>",
    "AWS::SecretsManager::Secret": "aws secretsmanager delete-secret --region {region} --secret-id {id} "
    "--recovery-window-in-days 7",
    # API Gateway's CloudWatch role is an account-and-Region setting every API there logs through.
    "AWS::ApiGateway::Account": "nothing: it is the account's API Gateway logging setting in {region}, shared by "
    "every API there",
    "AWS::IAM::Role": "only if no other stack's API in {region} logs through it (API Gateway's account-wide "
    "CloudWatch role): detach its policies (aws iam list-attached-role-policies --role-name {id}), then "
    "aws iam delete-role --role-name {id}",
}


@dataclass(frozen=True)
class Kept:
    """A resource CloudFormation keeps when its stack is deleted."""

    stack: StackRef
    type: str
    physical_id: str
    policy: str

    @property
    def removal(self) -> str:
        how = REMOVAL.get(self.type, "delete it in its service's console or CLI")
        return how.format(region=self.stack.region, id=self.physical_id)


@dataclass(frozen=True)
class Plan:
    """What deleting the profile deletes, keeps, and what stops it."""

    stacks: list[DeployedStack]
    kept: list[Kept]
    blockers: list[str]
    # Vaults deleted with their stack, whose recovery points must go first: (stack, vault name).
    vaults_to_empty: list[tuple[StackRef, str]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--yes", action="store_true", help="do not ask; for CI removing a preview")


def template_of(cloudformation: Any, name: str) -> dict[str, Any]:
    body = cloudformation.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
    return json.loads(body) if isinstance(body, str) else dict(body)


def physical_ids(cloudformation: Any, name: str) -> dict[str, str]:
    pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=name)
    return {
        item["LogicalResourceId"]: item.get("PhysicalResourceId", "")
        for page in pages
        for item in page["StackResourceSummaries"]
    }


def _protected(resource: dict[str, Any]) -> bool:
    properties = resource.get("Properties", {})
    attributes = properties.get("LoadBalancerAttributes", [])
    return (
        properties.get("DeletionProtection") is True
        or properties.get("DeletionProtection") == "true"
        or any(item.get("Key") == "deletion_protection.enabled" and item.get("Value") == "true" for item in attributes)
    )


LIFT: dict[str, str] = {
    "AWS::RDS::DBCluster": "aws rds modify-db-cluster --region {region} --db-cluster-identifier {id} "
    "--no-deletion-protection --apply-immediately",
    "AWS::ElasticLoadBalancingV2::LoadBalancer": "aws elbv2 modify-load-balancer-attributes --region {region} "
    "--load-balancer-arn {id} --attributes Key=deletion_protection.enabled,Value=false",
}


def plan_stack(stack: DeployedStack, template: dict[str, Any], ids: dict[str, str]) -> Plan:
    """What deleting one stack keeps, what stops it, and which vaults it must empty first."""
    kept, blockers, vaults = [], [], []
    for logical_id, resource in template.get("Resources", {}).items():
        physical = ids.get(logical_id, "")
        if not physical:
            continue
        policy = resource.get("DeletionPolicy", "Delete")
        if policy in KEEPING:
            kept.append(Kept(stack.ref, resource["Type"], physical, policy))
        elif resource["Type"] == "AWS::Backup::BackupVault":
            vaults.append((stack.ref, physical))
        if _protected(resource):
            lift = LIFT.get(resource["Type"], "turn its deletion protection off")
            blockers.append(
                f"{stack.ref.name}: {resource['Type']} {physical} has deletion protection; lift it with\n"
                f"      {lift.format(region=stack.ref.region, id=physical)}"
            )
    return Plan([stack], kept, blockers, vaults)


def plan(profile: Profile) -> Plan:
    stacks = profile.stacks()
    whole = Plan([], [], [], [])
    for stack in stacks:
        cloudformation = profile.client("cloudformation", stack.ref.region)
        part = plan_stack(
            stack, template_of(cloudformation, stack.ref.name), physical_ids(cloudformation, stack.ref.name)
        )
        whole.stacks.extend(part.stacks)
        whole.kept.extend(part.kept)
        whole.blockers.extend(part.blockers)
        whole.vaults_to_empty.extend(part.vaults_to_empty)
    return whole


def describe_plan(profile: Profile, whole: Plan) -> str:
    lines = [f"This deletes {len(whole.stacks)} stack(s) of {profile.environment}, in this order:"]
    lines.append(
        table(
            ("stack", "region", "state"), [(stack.ref.name, stack.ref.region, stack.status) for stack in whole.stacks]
        )
    )
    lines.append("")
    lines.append(kept_text(whole.kept))
    if whole.blockers:
        lines += ["", "Deletion protection stops the delete until it is lifted:", *(f"  {b}" for b in whole.blockers)]
    return "\n".join(lines)


def kept_text(kept: list[Kept]) -> str:
    if not kept:
        return "Nothing is kept: every resource is deleted with its stack."
    lines = [f"Kept after the delete ({len(kept)}; they go on costing until you remove them):"]
    for item in kept:
        lines.append(f"  {item.stack.name}  {item.type}  {item.physical_id}  ({item.policy})")
        lines.append(f"      remove: {item.removal}")
    return "\n".join(lines)


def confirmed(profile: Profile, args: argparse.Namespace, out: TextIO, ask: Callable[[str], str]) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty() and ask is input:
        raise CommandError("refusing to delete without a confirmation: run it in a terminal, or pass --yes", code=2)
    answer = ask(f"Type the environment's name ({profile.environment}) to delete it: ")
    return answer.strip() == profile.environment


def empty_vault(profile: Profile, ref: StackRef, vault: str, out: TextIO) -> None:
    """Delete a vault's recovery points, so that CloudFormation can delete the vault with its stack."""
    backup = profile.client("backup", ref.region)
    pages = backup.get_paginator("list_recovery_points_by_backup_vault").paginate(BackupVaultName=vault)
    points = [point["RecoveryPointArn"] for page in pages for point in page.get("RecoveryPoints", [])]
    for arn in points:
        backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=arn)
    print(f"  emptied vault {vault}: {len(points)} recovery point(s) deleted", file=out)


def delete_stack(profile: Profile, stack: DeployedStack, out: TextIO) -> None:
    cloudformation = profile.client("cloudformation", stack.ref.region)
    print(f"Deleting {stack.ref.name} in {stack.ref.region}...", file=out, flush=True)
    cloudformation.delete_stack(StackName=stack.ref.name)
    final = wait_until(
        lambda: profile.describe(stack.ref),
        lambda state: state is None or state.status.endswith("FAILED"),
        lambda state: "DELETE_COMPLETE" if state is None else state.status,
        out=out,
        what=f"the delete of {stack.ref.name}",
        timeout_seconds=7200,
    )
    if final is not None:
        events = cloudformation.describe_stack_events(StackName=stack.ref.name)["StackEvents"]
        failed = [
            f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
            for e in events
            if e["ResourceStatus"] == "DELETE_FAILED"
        ]
        raise CommandError(f"{stack.ref.name} is {final.status}: " + "; ".join(failed[:5] or [final.reason or ""]))


def run(profile: Profile, args: argparse.Namespace, out: TextIO, ask: Callable[[str], str] = input) -> int:
    whole = plan(profile)
    if not whole.stacks:
        print(f"Nothing to delete: no stack of {profile.stack_name} exists in {profile.region}.", file=out)
        return 0
    print(describe_plan(profile, whole), file=out)
    if whole.blockers:
        raise CommandError("lift the deletion protection above first (it is on by the profile's settings)")
    if not confirmed(profile, args, out, ask):
        print("Not deleted.", file=out)
        return 1
    for stack in whole.stacks:
        for ref, vault in whole.vaults_to_empty:
            if ref == stack.ref:
                empty_vault(profile, ref, vault, out)
        delete_stack(profile, stack, out)
    print(f"\nDeleted {len(whole.stacks)} stack(s) of {profile.environment}.", file=out)
    print(kept_text(whole.kept), file=out)
    return 0
