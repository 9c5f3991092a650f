"""What happens to each kind of resource when the stack is deleted or the resource replaced, per profile: one
table, and every resource of every stack of each profile checked against it.

CloudFormation's DeletionPolicy (stack delete, resource removed from the template) and UpdateReplacePolicy
(an update that replaces the resource): Delete, Retain, RetainExceptOnCreate (retained, except when the
create that made it rolls back) and Snapshot (databases).
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-updatereplacepolicy.html
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.synthesis import PROFILES, Synthesized

# (DeletionPolicy, UpdateReplacePolicy)
Removal = tuple[str | None, str | None]
DESTROYED: Removal = ("Delete", "Delete")
RETAINED: Removal = ("Retain", "Retain")
# RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE: for resources with a fixed name, so that a failed first create
# leaves no name behind for the retry to collide with.
RETAINED_EXCEPT_ON_CREATE: Removal = ("RetainExceptOnCreate", "Retain")
SNAPSHOT: Removal = ("Snapshot", "Snapshot")
UNSTATED: Removal = (None, None)  # CloudFormation's default: Delete

# The columns of REMOVAL, in order. A new profile is a new column; a preview (`-c environment=pr-123`,
# tests/infra/test_preview.py's synthesis) stands for every preview environment.
COLUMNS = ("dev", "staging", "prod", "preview")
PREVIEW = "pr-123"

# Each kind of resource that holds data (or guards it), by resource type; "<type> <logical-ID prefix>" for
# one resource that differs from its kind, "<type> (fixed name)" for those of a kind with a physical name.
REMOVAL: dict[str, tuple[Removal, ...]] = {
    # kind: (dev, staging, prod, preview)
    "AWS::KMS::Key": (DESTROYED, RETAINED, RETAINED, DESTROYED),
    # The backup copy region's key (prod): the copies it encrypts outlive the stack.
    "AWS::KMS::Key CopyKey": (RETAINED, RETAINED, RETAINED, RETAINED),
    "AWS::Logs::LogGroup": (DESTROYED, RETAINED, RETAINED, DESTROYED),
    # WAF's aws-waf-logs-* groups and Aurora's /aws/rds/cluster/<id>/postgresql.
    "AWS::Logs::LogGroup (fixed name)": (DESTROYED, RETAINED_EXCEPT_ON_CREATE, RETAINED_EXCEPT_ON_CREATE, DESTROYED),
    "AWS::S3::Bucket": (DESTROYED, RETAINED, RETAINED, DESTROYED),
    "AWS::SecretsManager::Secret": (DESTROYED, RETAINED, RETAINED, DESTROYED),
    # Recovery points outlive the stack (the vault's name is unique per stack creation); a preview keeps none.
    "AWS::Backup::BackupVault": (RETAINED, RETAINED, RETAINED, DESTROYED),
    # The cluster: a final snapshot where deletion protection is on (database.removal_policy).
    "AWS::RDS::DBCluster": (DESTROYED, SNAPSHOT, SNAPSHOT, DESTROYED),
    # Instances hold no data of their own: the cluster volume does.
    "AWS::RDS::DBInstance": (DESTROYED, DESTROYED, DESTROYED, DESTROYED),
    # Guarded by deletion protection (service.load_balancer_deletion_protection), not by a policy.
    "AWS::ElasticLoadBalancingV2::LoadBalancer": (UNSTATED, UNSTATED, UNSTATED, UNSTATED),
    # Account-wide API Gateway logging role and setting: other APIs of the account rely on them.
    "AWS::ApiGateway::Account": (RETAINED, RETAINED, RETAINED, RETAINED),
    "AWS::IAM::Role ApiRestApiCloudWatchRole": (RETAINED, RETAINED, RETAINED, RETAINED),
    # CDK's helpers (bucket emptying, site upload, rotation function, default security group): no data.
    "Custom::S3AutoDeleteObjects": (DESTROYED, DESTROYED, DESTROYED, DESTROYED),
    "Custom::CDKBucketDeployment": (DESTROYED, DESTROYED, DESTROYED, DESTROYED),
    "Custom::VpcRestrictDefaultSG": (DESTROYED, DESTROYED, DESTROYED, DESTROYED),
    "AWS::Serverless::Application": (DESTROYED, DESTROYED, DESTROYED, DESTROYED),
    "Custom::Release": (DESTROYED, DESTROYED, DESTROYED, DESTROYED),
    # Scheduled jobs (issue 24): their definitions and the dead-letter queue of failed starts, no shop data.
    "AWS::StepFunctions::StateMachine ScheduledJobs": (DESTROYED, DESTROYED, DESTROYED, DESTROYED),
    "AWS::SQS::Queue": (DESTROYED, DESTROYED, DESTROYED, DESTROYED),
}

# The property that gives a resource of the kind a physical name.
FIXED_NAME = {"AWS::Logs::LogGroup": "LogGroupName"}


def row_of(logical_id: str, resource: dict[str, Any]) -> str | None:
    """The REMOVAL row a resource is judged by (None: a kind the table does not name)."""
    resource_type = resource["Type"]
    for key in REMOVAL:
        kind, _, prefix = key.partition(" ")
        if kind == resource_type and prefix and not prefix.startswith("(") and logical_id.startswith(prefix):
            return key
    name = FIXED_NAME.get(resource_type)
    if name and name in resource.get("Properties", {}) and f"{resource_type} (fixed name)" in REMOVAL:
        return f"{resource_type} (fixed name)"
    return resource_type if resource_type in REMOVAL else None


def removals(synthesized: Synthesized) -> dict[str, tuple[str, Removal]]:
    """Every resource of every stack of an app: its table row and its (DeletionPolicy, UpdateReplacePolicy)."""
    found = {}
    for stack_name, path in synthesized.template_paths.items():
        for logical_id, resource in json.loads(path.read_text())["Resources"].items():
            row = row_of(logical_id, resource)
            removal = (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy"))
            if row is not None or removal != UNSTATED:
                found[f"{stack_name}/{logical_id}"] = (row or resource["Type"], removal)
    return found


def check_removals(synthesized: Synthesized, column: str) -> None:
    index = COLUMNS.index(column)
    found = removals(synthesized)
    wrong = {
        where: f"{row}: {removal}, the table says {REMOVAL[row][index] if row in REMOVAL else 'nothing'}"
        for where, (row, removal) in found.items()
        if row not in REMOVAL or removal != REMOVAL[row][index]
    }
    assert wrong == {}, "removal behaviour differs from REMOVAL:\n" + "\n".join(f"{k}: {v}" for k, v in wrong.items())


@pytest.mark.parametrize("environment", [*PROFILES, PREVIEW])
def test_every_resource_is_removed_as_the_table_says(synth: Callable[[str], Synthesized], environment: str) -> None:
    """Every resource of every stack of the profile whose kind the table names, and every resource that states
    a removal policy at all, has its row's DeletionPolicy and UpdateReplacePolicy."""
    check_removals(synth(environment), "preview" if environment == PREVIEW else environment)


def test_outside_us_east_1_the_companion_stacks_follow_the_table(abroad: Synthesized) -> None:
    """prod in eu-central-1: the us-east-1 companions (web ACL, its logs and key; CloudFront's alarms) and the
    backup copy stack too."""
    check_removals(abroad, "prod")


def test_every_row_of_the_table_is_used(synth: Callable[[str], Synthesized]) -> None:
    """No stale row: each row judges at least one resource in some profile."""
    used = {row for environment in (*PROFILES, PREVIEW) for row, _ in removals(synth(environment)).values()}
    assert set(REMOVAL) - used == set()


def test_every_stateful_kind_is_in_the_table(synth: Callable[[str], Synthesized]) -> None:
    """The kinds that hold data (keys, logs, buckets, secrets, vaults, the cluster) each have a row."""
    stateful = {
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::S3::Bucket",
        "AWS::SecretsManager::Secret",
        "AWS::Backup::BackupVault",
        "AWS::RDS::DBCluster",
    }
    assert stateful <= {row.partition(" ")[0] for row in REMOVAL}
    for environment in PROFILES:
        kinds = {resource["Type"] for resource in synth(environment).resources.values()}
        assert stateful <= kinds, environment
