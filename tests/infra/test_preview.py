"""Preview environments: any valid name but a profile's (`-c environment=pr-123`) builds dev's settings
under its own stacks, keeps nothing when deleted, and is tagged with its name and creation time.

One whole-app synthesis for the session (the `synth` fixture's cache, like the profiles'); the preview's
settings themselves are tested on Config in tests/infra/test_config.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.infra.test_partners_through_cloudfront import distribution_config, partner_behaviour
from tests.synthesis import Synthesized, cfn_lint, nag_findings

PREVIEW = "pr-123"
# What CloudFormation leaves behind when it deletes a stack.
KEEPING = {"Retain", "Snapshot", "RetainExceptOnCreate"}


@pytest.fixture(scope="session")
def preview(synth: Callable[[str], Synthesized]) -> Synthesized:
    return synth(PREVIEW)


def test_a_preview_has_its_own_stack(preview: Synthesized) -> None:
    assert set(preview.template_paths) == {"TapStack-pr-123"}
    assert preview.template.to_json()["Outputs"]["Stacks"]["Value"] == "TapStack-pr-123@us-east-1"


def test_a_preview_keeps_nothing_of_its_own_when_its_stack_is_deleted(preview: Synthesized) -> None:
    """CloudFormation DeletionPolicy (Retain, Snapshot, RetainExceptOnCreate) keeps a resource after the
    stack is deleted: no resource of a preview has one, so `tapstack destroy` leaves nothing behind, except
    API Gateway's account-level CloudWatch role setting (AWS::ApiGateway::Account, one per account and
    Region, shared by every API there: deleting it would stop the other stacks' execution logs).
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html"""
    kept = {resource["Type"] for resource in preview.resources.values() if resource.get("DeletionPolicy") in KEEPING}
    assert kept == {"AWS::ApiGateway::Account", "AWS::IAM::Role"}
    (role,) = (r for r in preview.of_type("AWS::IAM::Role").values() if r.get("DeletionPolicy") in KEEPING)
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }


def test_nothing_stops_a_previews_delete(preview: Synthesized) -> None:
    """Deletion protection on the Aurora cluster or the load balancer fails a stack delete; a preview has
    neither, and CDK's auto-delete empties each bucket first (S3 refuses to delete a bucket with objects)."""
    (cluster,) = preview.of_type("AWS::RDS::DBCluster").values()
    assert cluster["Properties"]["DeletionProtection"] is False
    (alb,) = preview.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    assert {"Key": "deletion_protection.enabled", "Value": "false"} in alb["Properties"]["LoadBalancerAttributes"]
    buckets = set(preview.of_type("AWS::S3::Bucket"))
    emptied = {r["Properties"]["BucketName"]["Ref"] for r in preview.of_type("Custom::S3AutoDeleteObjects").values()}
    assert emptied == buckets


def test_a_preview_is_tagged_with_its_name_and_creation_time(preview: Synthesized) -> None:
    (vpc,) = preview.of_type("AWS::EC2::VPC").values()
    tags = {tag["Key"]: tag["Value"] for tag in vpc["Properties"]["Tags"]}
    assert tags["Preview"] == PREVIEW and tags["Environment"] == PREVIEW
    assert len(tags["CreatedAt"]) >= 10


def test_a_preview_runs_devs_service_and_keeps_waf_in_front_of_both_doors(
    preview: Synthesized, dev: Synthesized
) -> None:
    """Dev's settings: same task size and count; one web ACL (rate limit, baseline group, body limit) in front
    of both doors: the distribution, and the partner API that partners reach through it (api.through_cloudfront)."""
    task, dev_task = (_service_task(synthesized) for synthesized in (preview, dev))
    assert (task["Cpu"], task["Memory"]) == (dev_task["Cpu"], dev_task["Memory"])
    ((acl_id, acl),) = preview.of_type("AWS::WAFv2::WebACL").items()
    assert acl["Properties"]["Scope"] == "CLOUDFRONT"
    names = [rule["Name"] for rule in acl["Properties"]["Rules"]]
    # The rate limit, the baseline group, the service's own body limit (infra/waf.py); no other group.
    assert names == ["RateLimitPerIp", "AWSManagedRulesCommonRuleSet", "BodyOverServiceLimit"]
    assert distribution_config(preview)["WebACLId"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert partner_behaviour(preview) is not None


def _service_task(synthesized: Synthesized) -> dict[str, Any]:
    """The properties of the task definition the ECS service runs (jobs have their own)."""
    (service,) = synthesized.of_type("AWS::ECS::Service").values()
    task: dict[str, Any] = synthesized.resources[service["Properties"]["TaskDefinition"]["Ref"]]["Properties"]
    return task


def test_a_preview_passes_the_gates(preview: Synthesized) -> None:
    """cdk-nag (every pack of the gate) and cfn-lint, as the profiles."""
    assert nag_findings(preview.report, "error") == []
    assert nag_findings(preview.report, "warning") == []
    assert cfn_lint(*preview.template_paths.values()) == ""
