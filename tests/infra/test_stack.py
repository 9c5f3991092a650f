"""infra/stack.py and app.py: what every deployment shares: name, tags, outputs, stateful IDs."""

from __future__ import annotations

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2

from infra.profiles import PROFILES
from tests.synthesis import Synthesized

# Renaming any of these replaces the resource and loses what it holds (data, keys, logs).
STATEFUL_LOGICAL_IDS = {
    "KeysDataKey8F3FE3A4": "AWS::KMS::Key",
    "DatabaseCluster5B53A178": "AWS::RDS::DBCluster",
    "NetworkFlowLogs2BEC3212": "AWS::Logs::LogGroup",
    "DatabasePostgresLogs807072D3": "AWS::Logs::LogGroup",
    "ServiceLogs205D48C6": "AWS::Logs::LogGroup",
    "ServiceAccessLogsC4D1116F": "AWS::S3::Bucket",
    "ApiAccessLogs50B185DB": "AWS::Logs::LogGroup",
    "EdgeSite1C882D16": "AWS::S3::Bucket",
    "EdgeAccessLogsC159D9EF": "AWS::S3::Bucket",
    "EdgeWafLogs9A3D9C2E": "AWS::Logs::LogGroup",
}
# The partner API's own web ACL's logs, where partners call the API's own endpoint (api.through_cloudfront off).
API_WAF_LOGS = {"ApiWafLogs2E888F32": "AWS::Logs::LogGroup"}


def stateful_logical_ids(profile: Synthesized) -> dict[str, str]:
    """The stateful resources the profile has, by logical ID."""
    through_cloudfront = PROFILES[profile.environment].api.through_cloudfront
    return STATEFUL_LOGICAL_IDS | ({} if through_cloudfront else API_WAF_LOGS)


def test_stateful_resources_keep_their_logical_ids(profile: Synthesized) -> None:
    """CloudFormation replaces a resource whose logical ID changes: pinned for every stateful one."""
    for logical_id, resource_type in stateful_logical_ids(profile).items():
        assert profile.resources.get(logical_id, {}).get("Type") == resource_type, logical_id


def test_every_stateful_resource_states_its_removal_policy(profile: Synthesized) -> None:
    """A resource that holds data says what happens to it on stack delete: its row of the removal table
    (tests/infra/test_removal.py) for this profile, stated in the template."""
    from tests.infra.test_removal import COLUMNS, REMOVAL, row_of

    for logical_id in stateful_logical_ids(profile):
        resource = profile.resources[logical_id]
        row = row_of(logical_id, resource)
        assert row is not None, logical_id
        expected = REMOVAL[row][COLUMNS.index(profile.environment)]
        assert (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) == expected, logical_id


@pytest.mark.parametrize(("environment", "policy"), [("dev", "Delete"), ("staging", "Retain"), ("prod", "Retain")])
def test_keys_and_logs_are_retained_outside_dev(synth, environment: str, policy: str) -> None:  # type: ignore[no-untyped-def]
    resources = synth(environment).resources
    assert resources["KeysDataKey8F3FE3A4"]["DeletionPolicy"] == policy
    assert resources["ServiceAccessLogsC4D1116F"]["DeletionPolicy"] == policy


def test_outputs_keep_the_seeds_names(profile: Synthesized) -> None:
    """Users of the seed read these outputs after deploy; the names carry over."""
    outputs = profile.template.to_json()["Outputs"]
    for name in ("ALBDNSName", "CloudFrontURL", "APIGatewayURL", "APIKey", "S3BucketName", "DatabaseEndpoint"):
        assert name in outputs


def test_api_key_output_is_the_keys_id_never_its_value(profile: Synthesized) -> None:
    """An output is readable by anyone who can describe the stack: it holds the key's id only."""
    outputs = profile.template.to_json()["Outputs"]
    (key_id,) = profile.of_type("AWS::ApiGateway::ApiKey")
    assert outputs["APIKey"]["Value"] == {"Ref": key_id}


def test_resources_carry_the_seeds_tags(profile: Synthesized) -> None:
    (vpc,) = profile.of_type("AWS::EC2::VPC").values()
    tags = {tag["Key"]: tag["Value"] for tag in vpc["Properties"]["Tags"]}
    assert tags["Environment"] == profile.environment
    assert {tags["Project"], tags["ManagedBy"], tags["CostCenter"]} == {"ECommerce", "CDK", "Engineering"}


def test_no_physical_names_block_a_second_deployment(profile: Synthesized) -> None:
    """Seed D17: no hard-coded names for keys, aliases, buckets, dashboards or topics."""
    profile.template.resource_count_is("AWS::KMS::Alias", 0)
    for resource_type, name_property in (
        ("AWS::S3::Bucket", "BucketName"),
        ("AWS::CloudWatch::Dashboard", "DashboardName"),
        ("AWS::SNS::Topic", "TopicName"),
        ("AWS::ECS::Cluster", "ClusterName"),
    ):
        for resource in profile.of_type(resource_type).values():
            assert name_property not in resource["Properties"]


def test_stack_name_follows_the_environment(profile: Synthesized) -> None:
    assert profile.template_path.name == f"TapStack-{profile.environment}.template.json"


def test_synth_fails_on_any_deprecated_api(synth) -> None:  # type: ignore[no-untyped-def]
    """Seed D19 (VpcProps.cidr, instanceProps, S3Origin/OAI, containerInsights...): the session runs jsii
    with JSII_DEPRECATED=fail, so every profile above synthesized without touching a deprecated API."""
    probe = App()
    with pytest.raises(RuntimeError, match="VpcProps#cidr is deprecated"):
        ec2.Vpc(Stack(probe, "Probe"), "Vpc", cidr="10.0.0.0/16")
    assert all(synth(environment).resources for environment in ("dev", "staging", "prod"))


@pytest.mark.parametrize(("environment", "emptied"), [("dev", True), ("staging", False), ("prod", False)])
def test_destroyed_buckets_are_emptied_first(synth, environment: str, emptied: bool) -> None:  # type: ignore[no-untyped-def]
    """CloudFormation cannot delete a bucket that holds objects: where the profile destroys buckets (dev),
    each has CDK's auto-delete custom resource; where they are retained, none does."""
    synthesized = synth(environment)
    buckets = set(synthesized.of_type("AWS::S3::Bucket"))
    auto_deleted = {
        r["Properties"]["BucketName"]["Ref"] for r in synthesized.of_type("Custom::S3AutoDeleteObjects").values()
    }
    assert auto_deleted == (buckets if emptied else set())
