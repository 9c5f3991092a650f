"""infra/edge_guard.py and app.py outside us-east-1: what CloudFront takes only from us-east-1 lives in a
companion stack there, and the regional stack reads it by CDK's cross-region references."""

from __future__ import annotations

import json
import re

from aws_cdk import App
from aws_cdk.assertions import Template

from infra.config import REGIONS
from infra.context import load_config
from infra.edge_guard import EdgeGuardStack
from tests.synthesis import Synthesized, cfn_lint, nag_findings

EDGE = "TapStack-prod-edge"
EDGE_ALARMS = "TapStack-prod-edge-alarms"


def _regions(abroad: Synthesized) -> dict[str, str]:
    manifest = json.loads((abroad.template_path.parent / "manifest.json").read_text())
    return {
        name: artifact["environment"].rsplit("/", 1)[-1]
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }


def test_outside_us_east_1_the_web_acl_and_edge_alarms_get_stacks_in_us_east_1(abroad: Synthesized) -> None:
    """AWS WAF: a CLOUDFRONT-scope web ACL can only be created in us-east-1; CloudWatch alarms only watch
    metrics of their own region, and CloudFront publishes in us-east-1."""
    assert _regions(abroad) == {
        "TapStack-prod": "eu-central-1",
        EDGE: "us-east-1",
        EDGE_ALARMS: "us-east-1",
        "TapStack-prod-backup-eu-west-1": "eu-west-1",
    }
    edge = abroad.stack(EDGE)["Resources"]
    assert [r["Properties"]["Scope"] for r in edge.values() if r["Type"] == "AWS::WAFv2::WebACL"] == ["CLOUDFRONT"]
    assert not abroad.of_type("AWS::WAFv2::WebACL") or all(
        r["Properties"]["Scope"] == "REGIONAL" for r in abroad.of_type("AWS::WAFv2::WebACL").values()
    )


def test_in_us_east_1_no_companion_stack_is_needed(prod: Synthesized) -> None:
    """One stack holds the web ACL and the alarms where it already is in us-east-1 (prod's other stack is
    its backup copy vault in the second region)."""
    assert sorted(prod.template_paths) == ["TapStack-prod", "TapStack-prod-backup-us-west-2"]


def test_distribution_s_web_acl_crosses_regions_by_cdk_reference(abroad: Synthesized) -> None:
    """CloudFront's WebACLId must be the ARN of a us-east-1 web ACL: read from the companion's output by
    CloudFormation (Fn::GetStackOutput, what CDK writes for cross-region references), never pasted."""
    (distribution,) = abroad.of_type("AWS::CloudFront::Distribution").values()
    web_acl = distribution["Properties"]["DistributionConfig"]["WebACLId"]
    assert web_acl["Fn::GetStackOutput"]["StackName"] == EDGE
    assert web_acl["Fn::GetStackOutput"]["Region"] == "us-east-1"


def test_no_us_east_1_arn_or_prefix_list_in_the_regional_template(abroad: Synthesized) -> None:
    """A us-east-1 ARN or prefix list in a Frankfurt stack would point at resources that are not there."""
    text = abroad.template_path.read_text()
    # The rotation function's application is published once, in us-east-1's Serverless Application
    # Repository, for every region (CDK's own mapping); any other us-east-1 ARN would be a mistake.
    services = set(re.findall(r"arn:aws:([a-z0-9-]+):us-east-1:", text))
    assert services <= {"serverlessrepo"}
    assert REGIONS["us-east-1"].origin_facing_prefix_list_id not in text


def test_load_balancer_admits_cloudfront_by_the_region_s_origin_facing_prefix_list(abroad: Synthesized) -> None:
    """The managed prefix list com.amazonaws.global.cloudfront.origin-facing has a different id per region."""
    rules = [
        rule
        for group in abroad.of_type("AWS::EC2::SecurityGroup").values()
        for rule in group["Properties"].get("SecurityGroupIngress", [])
    ] + [r["Properties"] for r in abroad.of_type("AWS::EC2::SecurityGroupIngress").values()]
    prefix_lists = {rule.get("SourcePrefixListId") for rule in rules} - {None}
    assert prefix_lists == {REGIONS["eu-central-1"].origin_facing_prefix_list_id}


def test_subnets_are_in_the_region_s_three_zones(abroad: Synthesized) -> None:
    zones = {subnet["Properties"]["AvailabilityZone"] for subnet in abroad.of_type("AWS::EC2::Subnet").values()}
    assert zones == set(REGIONS["eu-central-1"].availability_zones)


def test_cloudfront_alarms_live_in_us_east_1_on_a_topic_there(abroad: Synthesized) -> None:
    alarms = {
        r["Properties"]["AlarmDescription"].split("]")[0][1:]
        for r in abroad.stack(EDGE_ALARMS)["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert alarms == {"CloudFront5xxRate", "EdgeWafBlockedSpike"}
    regional = {
        r["Properties"]["AlarmDescription"].split("]")[0][1:] for r in abroad.of_type("AWS::CloudWatch::Alarm").values()
    }
    assert not alarms & regional


def test_every_stack_passes_cdk_nag_and_cfn_lint(abroad: Synthesized) -> None:
    """AwsSolutions and PCI DSS 3.2.1 on all three stacks, and the CloudFormation schemas."""
    assert nag_findings(abroad.report, "error") == []
    assert nag_findings(abroad.report, "warning") == []
    assert cfn_lint(*abroad.template_paths.values()) == ""


def test_the_companion_s_web_acl_lets_partners_through_where_they_come_through_cloudfront() -> None:
    """Outside us-east-1 the distribution's web ACL is the companion's: with api.through_cloudfront it is the
    partners' door too, so it counts what their clients send (no User-Agent) and redacts their x-api-key."""
    config = load_config("dev", region="eu-central-1")
    assert config.api.through_cloudfront
    template = Template.from_stack(EdgeGuardStack(App(), "Edge", stack_name="TapStack-dev-edge", config=config))
    (acl,) = template.find_resources("AWS::WAFv2::WebACL").values()
    (common,) = (r for r in acl["Properties"]["Rules"] if r["Name"] == "AWSManagedRulesCommonRuleSet")
    overrides = common["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    assert {o["Name"] for o in overrides} == {"SizeRestrictions_BODY", "NoUserAgent_HEADER"}
    (logging,) = template.find_resources("AWS::WAFv2::LoggingConfiguration").values()
    redacted = {field["SingleHeader"]["Name"] for field in logging["Properties"]["RedactedFields"]}
    assert redacted == {"x-api-key", "authorization", "cookie"}
