"""infra/backup.py: the vault, the plan per profile, the copy to the second region, vault lock, failed-job alerts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.synthesis import Synthesized

CLUSTER_ID = "DatabaseCluster5B53A178"
COPY_STACK = "TapStack-prod-backup-us-west-2"
RESTORE_SNAPSHOT = "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:awsbackup:job-0123456789abcdef"


def _one(resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, resources
    ((logical_id, resource),) = resources.items()
    return logical_id, resource


def _vault(synthesized: Synthesized) -> dict[str, Any]:
    return _one(synthesized.of_type("AWS::Backup::BackupVault"))[1]


def _rules(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    plan = _one(synthesized.of_type("AWS::Backup::BackupPlan"))[1]
    return {rule["RuleName"]: rule for rule in plan["Properties"]["BackupPlan"]["BackupPlanRule"]}


def _copy_stack(prod: Synthesized) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = prod.others[COPY_STACK].to_json()["Resources"]
    return resources


def test_vault_is_encrypted_with_the_stack_key_and_retained(profile: Synthesized) -> None:
    """AWS Backup vault encryption: recovery points are encrypted with our customer managed key, and the
    vault outlives the stack (CloudFormation cannot delete a vault that holds recovery points)."""
    vault = _vault(profile)
    assert vault["Properties"]["EncryptionKeyArn"] == {"Fn::GetAtt": ["KeysDataKey8F3FE3A4", "Arn"]}
    assert vault["DeletionPolicy"] == "Retain"


def test_vault_name_is_new_for_each_creation_of_the_stack(profile: Synthesized) -> None:
    """AWS::Backup::BackupVault BackupVaultName is required and unique per account and region: a name from
    the stack's UUID lets the stack be created again while its retained vault still exists."""
    name = _vault(profile)["Properties"]["BackupVaultName"]["Fn::Join"][1]
    assert name[0] == f"TapStack-{profile.environment}-"
    assert '{"Ref": "AWS::StackId"}' in json.dumps(name[1])


@pytest.mark.parametrize(("environment", "days"), [("dev", 7), ("staging", 14), ("prod", 35)])
def test_daily_snapshot_retention_follows_the_profile(synth, environment: str, days: int) -> None:  # type: ignore[no-untyped-def]
    """AWS Backup plan rule: one daily snapshot (cron 06:00 UTC, after Aurora's backup window), kept `days`."""
    daily = _rules(synth(environment))["Daily"]
    assert daily["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert daily["Lifecycle"] == {"DeleteAfterDays": days}
    assert "EnableContinuousBackup" not in daily


def test_dev_has_no_continuous_backup(dev: Synthesized) -> None:
    """Point-in-time restore in dev is Aurora's own 1-day automated backup; AWS Backup only snapshots."""
    assert set(_rules(dev)) == {"Daily"}


@pytest.mark.parametrize(("environment", "days"), [("staging", 7), ("prod", 35)])
def test_continuous_backup_keeps_point_in_time_restore_for_the_profile(synth, environment: str, days: int) -> None:  # type: ignore[no-untyped-def]
    """AWS Backup continuous backup for Aurora (point-in-time restore, 1 to 35 days), kept as long as the
    cluster's own backup retention so neither drifts from the other."""
    synthesized = synth(environment)
    continuous = _rules(synthesized)["Continuous"]
    assert continuous["EnableContinuousBackup"] is True
    assert continuous["Lifecycle"] == {"DeleteAfterDays": days}
    cluster = synthesized.resources[CLUSTER_ID]["Properties"]
    assert cluster["BackupRetentionPeriod"] == days


def test_prod_copies_each_daily_snapshot_to_the_vault_in_the_other_region(prod: Synthesized) -> None:
    """AWS Backup cross-region copy: the copy action's destination is the us-west-2 stack's vault, read
    through a CDK cross-region reference (no hand-written ARN), kept as long as the snapshot."""
    (copy,) = _rules(prod)["Daily"]["CopyActions"]
    destination = copy["DestinationBackupVaultArn"]["Fn::GetStackOutput"]
    assert (destination["StackName"], destination["Region"]) == (COPY_STACK, "us-west-2")
    assert copy["Lifecycle"] == {"DeleteAfterDays": 35}
    vault_id, _ = _one({k: v for k, v in _copy_stack(prod).items() if v["Type"] == "AWS::Backup::BackupVault"})
    assert destination["OutputName"].startswith(f"PublishOutputFnGetAtt{vault_id}BackupVaultArn")


@pytest.mark.parametrize("environment", ["dev", "staging"])
def test_dev_and_staging_copy_nothing_to_another_region(synth, environment: str) -> None:  # type: ignore[no-untyped-def]
    """Only prod pays for a second region: no copy action, no other stack."""
    synthesized = synth(environment)
    assert "CopyActions" not in _rules(synthesized)["Daily"]
    assert synthesized.others == {}


def test_copy_vault_has_its_own_rotated_key_and_both_are_retained(prod: Synthesized) -> None:
    """AWS Backup vault encryption in the copy region: a KMS key there (keys never leave their region),
    rotated yearly; key and vault survive the deletion of either stack."""
    resources = _copy_stack(prod)
    key_id, key = _one({k: v for k, v in resources.items() if v["Type"] == "AWS::KMS::Key"})
    _, vault = _one({k: v for k, v in resources.items() if v["Type"] == "AWS::Backup::BackupVault"})
    assert key["Properties"]["EnableKeyRotation"] is True
    assert vault["Properties"]["EncryptionKeyArn"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["DeletionPolicy"] == vault["DeletionPolicy"] == "Retain"


def test_selection_covers_the_cluster(profile: Synthesized) -> None:
    """NIST.800.53.R5-RDSInBackupPlan: AWS Backup selects Aurora by its cluster ARN (it backs up clusters,
    not instances)."""
    _, selection = _one(profile.of_type("AWS::Backup::BackupSelection"))
    resources = selection["Properties"]["BackupSelection"]["Resources"]
    assert resources == [
        {"Fn::Join": ["", ["arn:aws:rds:us-east-1:", {"Ref": "AWS::AccountId"}, ":cluster:", {"Ref": CLUSTER_ID}]]}
    ]


def test_prod_vaults_are_locked_in_governance_mode(prod: Synthesized) -> None:
    """AWS Backup Vault Lock: a minimum retention of 7 days in both prod vaults, governance mode (no
    ChangeableForDays: compliance mode could never be undone)."""
    copy_vault = _one({k: v for k, v in _copy_stack(prod).items() if v["Type"] == "AWS::Backup::BackupVault"})[1]
    for vault in (_vault(prod), copy_vault):
        assert vault["Properties"]["LockConfiguration"] == {"MinRetentionDays": 7}


@pytest.mark.parametrize("environment", ["dev", "staging"])
def test_dev_and_staging_vaults_are_not_locked(synth, environment: str) -> None:  # type: ignore[no-untyped-def]
    """Without a lock, backups of disposable profiles can be deleted by hand."""
    assert "LockConfiguration" not in _vault(synth(environment))["Properties"]


def test_a_failed_backup_or_copy_job_notifies_the_alert_topic(profile: Synthesized) -> None:
    """EventBridge rule on AWS Backup job state changes (source aws.backup): failed, aborted, expired or
    partial backup and copy jobs of this cluster go to the alert topic."""
    topic_id, _ = _one(profile.of_type("AWS::SNS::Topic"))
    rules = {k: v for k, v in profile.of_type("AWS::Events::Rule").items() if k.startswith("BackupJobFailed")}
    _, rule = _one(rules)
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.backup"]
    assert set(pattern["detail-type"]) == {"Backup Job State Change", "Copy Job State Change"}
    assert set(pattern["detail"]["state"]) == {"FAILED", "ABORTED", "EXPIRED", "PARTIAL"}
    assert {"Ref": CLUSTER_ID} in pattern["detail"]["resourceArn"][0]["Fn::Join"][1]
    assert [target["Arn"] for target in rule["Properties"]["Targets"]] == [{"Ref": topic_id}]


def test_restoring_from_a_snapshot_keeps_the_cluster_s_logical_id_and_name(
    restored: Synthesized, prod: Synthesized
) -> None:
    """AWS::RDS::DBCluster SnapshotIdentifier: with database.snapshot_identifier the same resource (logical
    ID, DBClusterIdentifier) is created from the snapshot, with a new generated password and no database
    name or storage flags of its own (both come from the snapshot)."""
    restored_cluster = restored.resources[CLUSTER_ID]
    original = prod.resources[CLUSTER_ID]["Properties"]
    assert restored_cluster["Type"] == "AWS::RDS::DBCluster"
    properties = restored_cluster["Properties"]
    assert properties["SnapshotIdentifier"] == RESTORE_SNAPSHOT
    assert properties["DBClusterIdentifier"] == original["DBClusterIdentifier"]
    assert "DatabaseName" not in properties
    assert "MasterUserPassword" in properties and "MasterUsername" not in properties
    assert properties["KmsKeyId"] == original["KmsKeyId"]
    assert "SnapshotIdentifier" not in original


def test_restored_stack_still_backs_up_the_cluster(restored: Synthesized) -> None:
    """NIST.800.53.R5-RDSInBackupPlan after a restore: the selection names the restored cluster."""
    _, selection = _one(restored.of_type("AWS::Backup::BackupSelection"))
    assert {"Ref": CLUSTER_ID} in selection["Properties"]["BackupSelection"]["Resources"][0]["Fn::Join"][1]


@pytest.fixture(scope="session")
def restored(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """Prod synthesized with database.snapshot_identifier: the stack brought back onto a restored cluster."""
    from tests.synthesis import synthesize

    return synthesize(
        "prod", tmp_path_factory.mktemp("cdk-restored"), {"database.snapshot_identifier": RESTORE_SNAPSHOT}
    )


def test_backup_failure_rule_is_in_the_runbook(profile: Synthesized) -> None:
    """docs/operations.md has a section for the backup-failure rule, named as its description starts."""
    runbook = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    (rule,) = (v for k, v in profile.of_type("AWS::Events::Rule").items() if k.startswith("BackupJobFailed"))
    name = re.match(r"\[(\w+)\]", rule["Properties"]["Description"])
    assert name is not None
    assert f"### {name.group(1)}\n" in runbook
