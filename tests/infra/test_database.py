"""infra/database.py: Aurora PostgreSQL Serverless v2, credentials, rotation, backups and protection."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.synthesis import Synthesized

REPO = Path(__file__).resolve().parents[2]
CLUSTER_ID = "DatabaseCluster5B53A178"
# The generated secret's logical ID embeds the stack name, so it differs per profile.
SECRET_IDS = {
    "dev": "TapStackdevDatabaseClusterSecret39A1EB613fdaad7efa858a3daf9490cf0a702aeb",
    "staging": "TapStackstagingDatabaseClusterSecret14DEF4AF3fdaad7efa858a3daf9490cf0a702aeb",
    "prod": "TapStackprodDatabaseClusterSecret63F1F0893fdaad7efa858a3daf9490cf0a702aeb",
}


def _cluster(synthesized: Synthesized) -> dict[str, Any]:
    (cluster,) = synthesized.of_type("AWS::RDS::DBCluster").values()
    properties: dict[str, Any] = cluster["Properties"]
    return properties


def test_engine_is_an_aurora_postgresql_version_that_can_still_be_created(profile: Synthesized) -> None:
    """RDS CreateDBCluster rejects retired minors (the seed's 15.3, cfn-lint W3690); 17.x is current."""
    cluster = _cluster(profile)
    assert cluster["Engine"] == "aurora-postgresql"
    assert cluster["EngineVersion"].split(".")[0] in {"16", "17"}


def test_storage_is_encrypted_with_the_customer_managed_key(profile: Synthesized) -> None:
    """PCI DSS 3.4 / AwsSolutions-RDS2: storage encrypted, with our CMK rather than the AWS managed key."""
    cluster = _cluster(profile)
    assert cluster["StorageEncrypted"] is True
    assert cluster["KmsKeyId"] == {"Fn::GetAtt": ["KeysDataKey8F3FE3A4", "Arn"]}


def test_instances_are_serverless_v2_and_private(profile: Synthesized) -> None:
    """Aurora Serverless v2 instances use class db.serverless; none is publicly accessible."""
    for instance in profile.of_type("AWS::RDS::DBInstance").values():
        assert instance["Properties"]["DBInstanceClass"] == "db.serverless"
        assert instance["Properties"]["PubliclyAccessible"] is False


def test_database_lives_in_the_isolated_subnets(profile: Synthesized) -> None:
    """The database tier has no route out."""
    (subnet_group,) = profile.of_type("AWS::RDS::DBSubnetGroup").values()
    subnets = [ref["Ref"] for ref in subnet_group["Properties"]["SubnetIds"]]
    assert subnets and all("IsolatedSubnet" in subnet for subnet in subnets)


def test_dev_pauses_at_zero_capacity(dev: Synthesized) -> None:
    """Aurora auto-pause needs MinCapacity 0 and SecondsUntilAutoPause."""
    assert _cluster(dev)["ServerlessV2ScalingConfiguration"] == {
        "MinCapacity": 0,
        "MaxCapacity": 2,
        "SecondsUntilAutoPause": 1800,
    }


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_staging_and_prod_keep_half_an_acu_warm(synth, environment: str) -> None:  # type: ignore[no-untyped-def]
    """A 0.5 ACU minimum avoids the resume delay of a paused database in front of customers."""
    scaling = _cluster(synth(environment))["ServerlessV2ScalingConfiguration"]
    assert scaling["MinCapacity"] == 0.5
    assert "SecondsUntilAutoPause" not in scaling


def test_prod_scales_to_at_least_eight_acu(prod: Synthesized) -> None:
    """Seed D18: 1 ACU max is undersized for production."""
    assert _cluster(prod)["ServerlessV2ScalingConfiguration"]["MaxCapacity"] >= 8


def test_prod_has_exactly_one_reader_in_another_zone_scaling_with_the_writer(prod: Synthesized) -> None:
    """Multi-AZ: a reader in a second AZ, promotion tier 1 so it scales with the writer and can take over."""
    instances = prod.of_type("AWS::RDS::DBInstance").values()
    writers = [i["Properties"] for i in instances if i["Properties"]["PromotionTier"] == 0]
    readers = [i["Properties"] for i in instances if i["Properties"]["PromotionTier"] == 1]
    assert len(writers) == 1
    assert len(readers) == 1
    assert readers[0]["AvailabilityZone"] != writers[0]["AvailabilityZone"]


@pytest.mark.parametrize("environment", ["dev", "staging"])
def test_dev_and_staging_run_a_writer_only(synth, environment: str) -> None:  # type: ignore[no-untyped-def]
    synth(environment).template.resource_count_is("AWS::RDS::DBInstance", 1)


@pytest.mark.parametrize(
    ("environment", "retention", "protected", "deletion_policy"),
    [("dev", 1, False, "Delete"), ("staging", 7, True, "Snapshot"), ("prod", 35, True, "Snapshot")],
)
def test_backups_and_protection_follow_the_profile(  # type: ignore[no-untyped-def]
    synth, environment: str, retention: int, protected: bool, deletion_policy: str
) -> None:
    """Seed D16: backups 1/7/35 days (prod: the 35 days of point-in-time restore AWS Backup keeps), deletion
    protection and a final snapshot where the data matters."""
    synthesized = synth(environment)
    cluster = _cluster(synthesized)
    assert cluster["BackupRetentionPeriod"] == retention
    assert cluster["DeletionProtection"] is protected
    assert cluster["CopyTagsToSnapshot"] is True
    assert cluster["PreferredBackupWindow"] and cluster["PreferredMaintenanceWindow"]
    assert synthesized.resources[CLUSTER_ID]["DeletionPolicy"] == deletion_policy


@pytest.mark.parametrize(("environment", "policy"), [("dev", "Delete"), ("staging", "Retain"), ("prod", "Retain")])
def test_credentials_secret_is_retained_where_the_database_is(synth, environment: str, policy: str) -> None:  # type: ignore[no-untyped-def]
    """Seed D16: deleting the stack must not delete the only copy of the master password of a snapshot."""
    synthesized = synth(environment)
    assert synthesized.resources[SECRET_IDS[environment]]["DeletionPolicy"] == policy


def test_secret_is_generated_and_encrypted_with_our_key(profile: Synthesized) -> None:
    profile.template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "KmsKeyId": {"Fn::GetAtt": ["KeysDataKey8F3FE3A4", "Arn"]},
            "GenerateSecretString": Match.object_like({"GenerateStringKey": "password"}),
        },
    )


def test_parameter_group_forces_tls(profile: Synthesized) -> None:
    """PCI DSS 4.1: rds.force_ssl=1 makes Aurora PostgreSQL refuse unencrypted connections."""
    profile.template.has_resource_properties(
        "AWS::RDS::DBClusterParameterGroup", {"Parameters": Match.object_like({"rds.force_ssl": "1"})}
    )


def test_postgresql_logs_go_to_an_encrypted_log_group_created_first(profile: Synthesized) -> None:
    """RDS creates /aws/rds/cluster/<id>/postgresql unencrypted unless it exists before the first export."""
    cluster = _cluster(profile)
    assert cluster["EnableCloudwatchLogsExports"] == ["postgresql"]
    group_id = profile.resources[CLUSTER_ID]["DependsOn"][0]
    group = profile.resources[group_id]["Properties"]
    assert group["LogGroupName"] == f"/aws/rds/cluster/{cluster['DBClusterIdentifier']}/postgresql"
    assert "KmsKeyId" in group
    assert group["RetentionInDays"] > 0


def test_rotation_runs_every_30_days_after_the_instances_exist(profile: Synthesized) -> None:
    """Secrets Manager rotation: a schedule with a rotation function, which must not start before the
    cluster's instances are available."""
    (schedule,) = profile.of_type("AWS::SecretsManager::RotationSchedule").values()
    assert schedule["Properties"]["RotationRules"] == {"ScheduleExpression": "rate(30 days)"}
    assert "RotationLambdaARN" in schedule["Properties"]
    instances = set(profile.of_type("AWS::RDS::DBInstance"))
    assert instances <= set(schedule["DependsOn"])


def test_rotation_function_runs_in_the_private_subnets_of_the_vpc(profile: Synthesized) -> None:
    """A rotation function outside the VPC cannot reach a private database; in the private
    subnets it reaches the database directly and Secrets Manager through NAT."""
    (application,) = profile.of_type("AWS::Serverless::Application").values()
    parameters = application["Properties"]["Parameters"]
    subnets = [part["Ref"] for part in parameters["vpcSubnetIds"]["Fn::Join"][1] if isinstance(part, dict)]
    assert len(subnets) == 3 and all("PrivateSubnet" in subnet for subnet in subnets)
    assert "vpcSecurityGroupIds" in parameters


def test_database_admits_postgresql_only_from_named_security_groups(profile: Synthesized) -> None:
    """The database security group has no CIDR rule; every ingress names a source security group and
    the cluster's port as the number 5432 (NIST.800.53.R5-EC2RestrictedCommonPorts and -EC2RestrictedSSH
    cannot read a GetAtt of the endpoint port)."""
    assert _cluster(profile)["Port"] == 5432
    (group_id,) = [
        k for k in profile.of_type("AWS::EC2::SecurityGroup") if k.startswith("DatabaseClusterSecurityGroup")
    ]
    assert "SecurityGroupIngress" not in profile.resources[group_id]["Properties"]
    ingress = [
        rule["Properties"]
        for rule in profile.of_type("AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    assert ingress
    for rule in ingress:
        assert "SourceSecurityGroupId" in rule and "CidrIp" not in rule
        assert rule["FromPort"] == rule["ToPort"] == 5432


def test_stateful_logical_ids_are_pinned(profile: Synthesized) -> None:
    """CloudFormation replaces a resource whose logical ID changes: for the cluster and its secret
    that means a new, empty database and lost credentials. These IDs must never change."""
    assert set(profile.of_type("AWS::RDS::DBCluster")) == {CLUSTER_ID}
    database_secrets = {k for k in profile.of_type("AWS::SecretsManager::Secret") if "DatabaseClusterSecret" in k}
    assert database_secrets == {SECRET_IDS[profile.environment]}


@pytest.mark.parametrize(("environment", "interval"), [("dev", None), ("staging", None), ("prod", 60)])
def test_enhanced_monitoring_runs_every_minute_in_prod_only(synth, environment: str, interval: int | None) -> None:  # type: ignore[no-untyped-def]
    """NIST.800.53.R5-RDSEnhancedMonitoringEnabled: prod's instances send OS metrics every 60 s through a
    monitoring role (about 0.23 USD per instance a month, ops/prices.toml); dev and staging do not."""
    instances = synth(environment).of_type("AWS::RDS::DBInstance").values()
    assert {instance["Properties"].get("MonitoringInterval") for instance in instances} == {interval}
    assert all(("MonitoringRoleArn" in instance["Properties"]) is bool(interval) for instance in instances)


def _failed_first_create_commands() -> str:
    """The shell block of docs/restore.md's "A failed first create", with its line continuations joined."""
    text = (REPO / "docs" / "restore.md").read_text()
    section = text[text.index("## A failed first create") : text.index("## 1. ")]
    block = section[section.index("```sh") + len("```sh") : section.index("```\n", section.index("```sh") + 5)]
    return block.replace("\\\n", " ")


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_a_failed_first_create_is_recovered_by_the_documented_commands(synth, environment: str) -> None:  # type: ignore[no-untyped-def]
    """RDS refuses to delete a cluster with deletion protection, and ELB a load balancer with it: the rollback
    of a failed first create stops there (ROLLBACK_FAILED), which only a stack delete leaves, and the
    cluster's fixed identifier blocks the retry. docs/restore.md's commands lift exactly these protections,
    on these resources, then delete the stack and the log group the rollback could not reach.
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_DeleteCluster.html#USER_DeletionProtection
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#deletion-protection"""
    synthesized = synth(environment)
    commands = _failed_first_create_commands()
    variables = dict(re.findall(r"\b([A-Z]+)=([^\s]+)", commands.split("aws ", 1)[0]))
    stack = variables["STACK"].replace("$ENV", environment)
    cluster_identifier = variables["CLUSTER"].replace("$ENV", environment)
    assert stack == f"TapStack-{environment}"
    cluster = _cluster(synthesized)
    assert (cluster["DBClusterIdentifier"], cluster["DeletionProtection"]) == (cluster_identifier, True)
    assert "--db-cluster-identifier $CLUSTER --no-deletion-protection" in commands
    ((alb_id, alb),) = synthesized.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer").items()
    attributes = {item["Key"]: item["Value"] for item in alb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["deletion_protection.enabled"] == "true"
    assert f"--logical-resource-id {alb_id} " in commands
    assert "--attributes Key=deletion_protection.enabled,Value=false" in commands
    assert re.search(r"delete-stack .*--stack-name \$STACK\n.*wait stack-delete-complete", commands)
    (log_group,) = (
        resource["Properties"]["LogGroupName"]
        for resource in synthesized.of_type("AWS::Logs::LogGroup").values()
        if resource["Properties"].get("LogGroupName", "").startswith("/aws/rds/cluster/")
    )
    assert f"--log-group-name {log_group.replace(cluster_identifier, '$CLUSTER')}" in commands
