"""infra/waf.py: what each front door's web ACL lets through of the common rule set, and the body limit."""

from __future__ import annotations

from typing import Any

from infra.context import load_config
from infra.waf import SERVICE_MAX_BODY_BYTES
from tests.synthesis import Synthesized


def _web_acl(synthesized: Synthesized, scope: str) -> dict[str, Any]:
    (acl,) = (
        resource["Properties"]
        for resource in synthesized.of_type("AWS::WAFv2::WebACL").values()
        if resource["Properties"]["Scope"] == scope
    )
    return acl


def _rules(acl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["Name"]: rule for rule in acl["Rules"]}


def _counted(acl: dict[str, Any]) -> set[str]:
    common = _rules(acl)["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    overrides = common.get("RuleActionOverrides", [])
    assert all(override["ActionToUse"] == {"Count": {}} for override in overrides)
    return {override["Name"] for override in overrides}


# Browsers always send a User-Agent: only the 8 KB body rule is replaced.
BROWSERS = {"SizeRestrictions_BODY"}
# A partner's server-side client may send none; it is known by its API key.
PARTNERS = {"SizeRestrictions_BODY", "NoUserAgent_HEADER"}


def expected_web_acls(environment: str) -> dict[str, tuple[str, set[str], tuple[str, ...]]]:
    """Each web ACL of the profile by scope: the resource type it guards, the rules it counts, its managed
    groups. With partners through CloudFront (api.through_cloudfront) CloudFront's is the only one and lets
    through what either door's clients send."""
    config = load_config(environment)
    if config.api.through_cloudfront:
        return {"CLOUDFRONT": ("CLOUDFRONT", PARTNERS, config.edge.waf_rule_groups)}
    return {
        "CLOUDFRONT": ("CLOUDFRONT", BROWSERS, config.edge.waf_rule_groups),
        "REGIONAL": ("API_GATEWAY", PARTNERS, config.api.waf_rule_groups),
    }


def test_each_front_door_accepts_what_the_service_accepts(profile: Synthesized) -> None:
    """AWSManagedRulesCommonRuleSet blocks bodies over 8 KB (SizeRestrictions_BODY) and requests without a
    User-Agent (NoUserAgent_HEADER). Each door counts what its clients legitimately send, and blocks bodies
    over the service's own limit instead, with the body inspection limit raised so that WAF sees the whole of
    an allowed body (oversize handling MATCH blocks the rest).
    https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html#aws-managed-rule-groups-baseline-crs
    https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-setting-body-inspection-limit.html"""
    expected = expected_web_acls(profile.environment)
    scopes = [resource["Properties"]["Scope"] for resource in profile.of_type("AWS::WAFv2::WebACL").values()]
    assert sorted(scopes) == sorted(expected)
    for scope, (resource_type, counted, groups) in expected.items():
        acl = _web_acl(profile, scope)
        assert _counted(acl) == counted, scope
        assert acl["AssociationConfig"] == {"RequestBody": {resource_type: {"DefaultSizeInspectionLimit": "KB_64"}}}
        body = _rules(acl)["BodyOverServiceLimit"]
        assert body["Action"] == {"Block": {}}
        assert body["Statement"]["SizeConstraintStatement"] == {
            "FieldToMatch": {"Body": {"OversizeHandling": "MATCH"}},
            "ComparisonOperator": "GT",
            "Size": 65536,
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
        }
        # The rate limit, each managed group the door's setting names, the body rule: each its own priority.
        assert [rule["Name"] for rule in sorted(acl["Rules"], key=lambda rule: rule["Priority"])] == [
            "RateLimitPerIp",
            *groups,
            "BodyOverServiceLimit",
        ]


def test_the_waf_body_limit_is_the_storefront_s_own(prod: Synthesized) -> None:
    """The service answers 413 above `max_body_bytes` (STOREFRONT_MAX_BODY_BYTES, unset in the task): the WAF
    refuses exactly what the service would, so a body the service takes is never blocked at the door."""
    from storefront.settings import Settings

    assert SERVICE_MAX_BODY_BYTES == Settings.model_fields["max_body_bytes"].default == 64 * 1024
    for container in (
        container
        for task in prod.of_type("AWS::ECS::TaskDefinition").values()
        for container in task["Properties"]["ContainerDefinitions"]
    ):
        assert "STOREFRONT_MAX_BODY_BYTES" not in {item["Name"] for item in container.get("Environment", [])}
