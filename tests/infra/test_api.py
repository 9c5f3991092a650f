"""infra/api.py: the partner REST API, synthesized once in a bare stack with a stand-in internal ALB."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from aws_cdk import RemovalPolicy
from aws_cdk.assertions import Match, Template

from infra.api import STAGE_NAME, PartnerApi
from infra.context import load_config
from tests.synthesis import (
    cfn_lint,
    front_door_testbed,
    nag_findings,
)

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Built:
    template: Template = field(repr=False)
    template_path: Path
    report: dict[str, Any] = field(repr=False)

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return cast(dict[str, dict[str, Any]], self.template.find_resources(resource_type))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    outdir = tmp_path_factory.mktemp("cdk-api")
    config = load_config("prod")
    bed = front_door_testbed(outdir, "ApiTest", config.network)
    stack = bed.stack
    PartnerApi(
        stack,
        "PartnerApi",
        settings=config.api,
        key=bed.key,
        vpc=bed.vpc,
        load_balancer=bed.load_balancer,
        listener=bed.listener,
        listener_port=80,
        removal_policy=RemovalPolicy.DESTROY,
    )
    template, template_path, report = bed.synthesize()
    return Built(template=template, template_path=template_path, report=report)


def _methods(built: Built) -> dict[str, dict[str, Any]]:
    return built.of_type("AWS::ApiGateway::Method")


def _only(resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, list(resources)
    return next(iter(resources.items()))


def _logical_id(built: Built, resource_type: str) -> str:
    return _only(built.of_type(resource_type))[0]


def test_every_method_requires_an_api_key(built: Built) -> None:
    """API Gateway API keys + usage plans: no method is callable without a partner's key."""
    methods = _methods(built)
    assert len(methods) == 2  # /api and /api/{proxy+}, ANY; nothing on / or elsewhere
    for method in methods.values():
        assert method["Properties"]["ApiKeyRequired"] is True
        assert method["Properties"]["HttpMethod"] == "ANY"


def test_usage_plan_throttles_and_caps_each_key_per_month_on_the_stage(built: Built) -> None:
    """API Gateway usage plans: 1000 req/s, burst 2000, 1,000,000 requests a month, on the stage."""
    stage = _logical_id(built, "AWS::ApiGateway::Stage")
    api = _logical_id(built, "AWS::ApiGateway::RestApi")
    built.template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "Throttle": {"RateLimit": 1000, "BurstLimit": 2000},
            "Quota": {"Limit": 1_000_000, "Period": "MONTH"},
            "ApiStages": [Match.object_like({"ApiId": {"Ref": api}, "Stage": {"Ref": stage}})],
        },
    )
    plan = _logical_id(built, "AWS::ApiGateway::UsagePlan")
    key = _logical_id(built, "AWS::ApiGateway::ApiKey")
    built.template.has_resource_properties(
        "AWS::ApiGateway::UsagePlanKey",
        {"UsagePlanId": {"Ref": plan}, "KeyId": {"Ref": key}, "KeyType": "API_KEY"},
    )


def test_stage_throttles_every_method(built: Built) -> None:
    """API Gateway stage throttling: the account-wide limit is shared, so the stage caps itself."""
    built.template.has_resource_properties(
        "AWS::ApiGateway::Stage",
        {
            "MethodSettings": Match.array_with(
                [
                    Match.object_like(
                        {
                            "HttpMethod": "*",
                            "ResourcePath": "/*",
                            "ThrottlingRateLimit": 1000,
                            "ThrottlingBurstLimit": 2000,
                        }
                    )
                ]
            )
        },
    )


def test_integration_is_private_and_keeps_the_api_prefix(built: Built) -> None:
    """Seed D9, D10, D11: a VPC link v2 to the internal ALB (never the internet), /api kept in the URI."""
    link = _logical_id(built, "AWS::ApiGatewayV2::VpcLink")
    alb = _logical_id(built, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    uris = {}
    for method in _methods(built).values():
        integration = method["Properties"]["Integration"]
        assert integration["Type"] == "HTTP_PROXY"
        assert integration["ConnectionType"] == "VPC_LINK"
        assert integration["ConnectionId"] == {"Ref": link}
        assert integration["IntegrationTarget"] == {"Ref": alb}
        uri = integration["Uri"]["Fn::Join"][1]
        assert uri[1] == {"Fn::GetAtt": [alb, "DNSName"]}
        uris[uri[-1]] = integration.get("RequestParameters")
    assert uris == {
        ":80/{prefix}": {"integration.request.path.prefix": "'api'"},
        ":80/{prefix}/{proxy}": {
            "integration.request.path.prefix": "'api'",
            "integration.request.path.proxy": "method.request.path.proxy",
        },
    }
    built.template.has_resource_properties(
        "AWS::ApiGateway::Method",
        {"RequestParameters": {"method.request.path.proxy": True}},
    )


def _backend_path(integration: dict[str, Any], method_path: dict[str, str]) -> str:
    """The path API Gateway sends for a URI whose every segment is a mapped path parameter, or raises
    AssertionError for a segment left to API Gateway's default (stage-prefixed) path."""
    _, path = integration["Uri"]["Fn::Join"][1][-1].split("/", 1)
    mappings = integration.get("RequestParameters", {})
    segments = []
    for segment in path.split("/"):
        assert segment.startswith("{") and segment.endswith("}"), f"literal path segment {segment!r}"
        source = mappings[f"integration.request.path.{segment[1:-1]}"]
        if source.startswith("'"):
            segments.append(source.strip("'"))
        else:
            segments.append(method_path[source.removeprefix("method.request.path.")])
    return "/" + "/".join(segments)


def test_every_integration_overrides_its_path_so_the_stage_never_reaches_the_load_balancer(built: Built) -> None:
    """API Gateway private integrations (VPC link v2): "API Gateway includes the stage portion of the API
    endpoint in the request to your backend resources" unless parameter mapping overrides the path
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/private-integration.html). Each
    integration's whole path is mapped, so /v1/api/products reaches the ALB as /api/products."""
    paths = set()
    for method in _methods(built).values():
        integration = method["Properties"]["Integration"]
        paths.add(_backend_path(integration, {"proxy": "products/42"}))
    assert paths == {"/api", "/api/products/42"}
    assert not any(path.startswith(f"/{STAGE_NAME}") for path in paths)


def test_partner_api_is_never_cached(built: Built) -> None:
    """API Gateway stage caching is off: usage plans must count every call, and carts, orders and stock
    are per caller and current (PCI.DSS.321-APIGWCacheEnabledAndEncrypted is acknowledged for it)."""
    _, stage = _only(built.of_type("AWS::ApiGateway::Stage"))
    assert not stage["Properties"].get("CacheClusterEnabled", False)
    assert not any(setting.get("CachingEnabled") for setting in stage["Properties"]["MethodSettings"])


def test_vpc_link_sits_in_the_private_subnets(built: Built) -> None:
    """API Gateway VPC links v2: the link's interfaces live in our private subnets, nowhere public."""
    _, link = _only(built.of_type("AWS::ApiGatewayV2::VpcLink"))
    subnets = {ref["Ref"] for ref in link["Properties"]["SubnetIds"]}
    assert len(subnets) == 3
    assert all("PrivateSubnet" in subnet for subnet in subnets)


def test_load_balancer_admits_only_the_vpc_links_security_group(built: Built) -> None:
    """The ALB's security group admits the VPC link's group on port 80, no CIDR."""
    alb_sg = next(iter(built.of_type("AWS::ElasticLoadBalancingV2::LoadBalancer").values()))["Properties"][
        "SecurityGroups"
    ][0]["Fn::GetAtt"][0]
    link_sg = next(iter(built.of_type("AWS::ApiGatewayV2::VpcLink").values()))["Properties"]["SecurityGroupIds"][0][
        "Fn::GetAtt"
    ][0]
    inline = built.of_type("AWS::EC2::SecurityGroup")[alb_sg]["Properties"].get("SecurityGroupIngress", [])
    assert inline == []
    ingress = [
        rule["Properties"]
        for rule in built.of_type("AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [alb_sg, "GroupId"]}
    ]
    assert len(ingress) == 1, ingress
    assert ingress[0]["SourceSecurityGroupId"] == {"Fn::GetAtt": [link_sg, "GroupId"]}
    assert (ingress[0]["IpProtocol"], ingress[0]["FromPort"], ingress[0]["ToPort"]) == ("tcp", 80, 80)
    # The link may only talk to the load balancer.
    link_group = built.of_type("AWS::EC2::SecurityGroup")[link_sg]["Properties"]
    assert "SecurityGroupEgress" not in link_group or all(
        rule.get("CidrIp") == "255.255.255.255/32" for rule in link_group["SecurityGroupEgress"]
    )
    egress = [
        rule["Properties"]
        for rule in built.of_type("AWS::EC2::SecurityGroupEgress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [link_sg, "GroupId"]}
    ]
    assert [rule["DestinationSecurityGroupId"] for rule in egress] == [{"Fn::GetAtt": [alb_sg, "GroupId"]}]


def test_execution_logging_is_error_only_and_data_trace_is_off(built: Built) -> None:
    """Seed D12 (API Gateway logging guidance): bodies with customer data never reach execution logs.

    ApiSettings has no setting for either, so every profile gets the same.
    """
    _, stage = _only(built.of_type("AWS::ApiGateway::Stage"))
    settings = stage["Properties"]["MethodSettings"]
    assert settings
    for setting in settings:
        assert setting["DataTraceEnabled"] is False
        assert setting["LoggingLevel"] == "ERROR"
        assert setting["MetricsEnabled"] is True


def test_access_logs_are_json_in_an_encrypted_log_group(built: Built) -> None:
    """AwsSolutions-APIG1 / PCI 10.2: JSON access logs, encrypted with our key, with a retention."""
    _, stage = _only(built.of_type("AWS::ApiGateway::Stage"))
    access = stage["Properties"]["AccessLogSetting"]
    fields = json.loads(access["Format"])
    assert {"requestId", "ip", "method", "path", "status", "latency", "apiKeyId"} <= fields.keys()
    groups = built.of_type("AWS::Logs::LogGroup")
    (group,) = (
        part["Ref"]
        for part in access["DestinationArn"]["Fn::Join"][1]
        if isinstance(part, dict) and part.get("Ref") in groups
    )
    properties = groups[group]["Properties"]
    assert properties["KmsKeyId"] == {"Fn::GetAtt": [_logical_id(built, "AWS::KMS::Key"), "Arn"]}
    assert properties["RetentionInDays"] == 365  # prod's api.access_log_retention_days
    assert stage["Properties"]["TracingEnabled"] is True  # prod's api.tracing


def test_account_cloudwatch_role_is_retained(built: Built) -> None:
    """API Gateway CloudWatch logging: the account-wide role outlives a stack that another may rely on."""
    for resource_type in ("AWS::ApiGateway::Account", "AWS::IAM::Role"):
        resources = built.template.find_resources(
            resource_type,
            {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"},
        )
        assert resources, resource_type


def test_regional_waf_with_managed_rules_and_rate_limit_guards_the_stage(built: Built) -> None:
    """AwsSolutions-APIG3 / PCI 6.6: a REGIONAL web ACL with 3 managed groups + per-IP rate limit."""
    acl_id, acl = _only(built.of_type("AWS::WAFv2::WebACL"))
    properties = acl["Properties"]
    assert properties["Scope"] == "REGIONAL"
    rules = {rule["Name"]: rule for rule in properties["Rules"]}
    for group in (
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesAmazonIpReputationList",
    ):
        statement = rules[group]["Statement"]["ManagedRuleGroupStatement"]
        # The common rule set's rule overrides: tests/infra/test_waf.py.
        assert {k: v for k, v in statement.items() if k != "RuleActionOverrides"} == {
            "VendorName": "AWS",
            "Name": group,
        }
    rate = rules["RateLimitPerIp"]
    assert rate["Statement"]["RateBasedStatement"]["Limit"] == 2000
    assert rate["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    assert rate["Action"] == {"Block": {}}
    assert len({rule["Priority"] for rule in properties["Rules"]}) == 5
    api = _logical_id(built, "AWS::ApiGateway::RestApi")
    stage = _logical_id(built, "AWS::ApiGateway::Stage")
    _, association = _only(built.of_type("AWS::WAFv2::WebACLAssociation"))
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    arn = association["Properties"]["ResourceArn"]["Fn::Join"][1]
    assert {"Ref": api} in arn and {"Ref": stage} in arn
    assert arn[0].startswith("arn:aws:apigateway:us-east-1::/restapis/")


def test_waf_logs_redact_the_api_key(built: Built) -> None:
    """PCI.DSS.321-WAFv2LoggingEnabled: WAF logs blocked requests, never a partner's key."""
    acl_id = _logical_id(built, "AWS::WAFv2::WebACL")
    _, logging = _only(built.of_type("AWS::WAFv2::LoggingConfiguration"))
    assert logging["Properties"]["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert {"SingleHeader": {"Name": "x-api-key"}} in logging["Properties"]["RedactedFields"]


def test_gateway_refusals_use_the_storefront_error_shape(built: Built) -> None:
    """In the storefront's error shape, API Gateway's own 4xx/5xx answer {"error": {code, message}}."""
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        found = built.template.find_resources(
            "AWS::ApiGateway::GatewayResponse", {"Properties": {"ResponseType": response_type}}
        )
        _, response = _only(cast(dict[str, dict[str, Any]], found))
        template = response["Properties"]["ResponseTemplates"]["application/json"]
        example = template.replace("$context.error.responseType", "THROTTLED").replace(
            "$context.error.messageString", '"Too Many Requests"'
        )
        assert json.loads(example) == {"error": {"code": "THROTTLED", "message": "Too Many Requests"}}


def test_api_key_value_is_never_an_output(built: Built) -> None:
    """API keys are secrets: the key's value is neither set in the template nor exported."""
    key_id, key = _only(built.of_type("AWS::ApiGateway::ApiKey"))
    assert "Value" not in key["Properties"]
    outputs = json.dumps(built.template.to_json().get("Outputs", {}))
    assert key_id not in outputs


def test_no_unacknowledged_cdk_nag_errors_or_warnings(built: Built) -> None:
    """AwsSolutions and PCI DSS 3.2.1: every finding fixed or acknowledged next to its resource."""
    assert nag_findings(built.report, "error") == []
    assert nag_findings(built.report, "warning") == []


def test_cfn_lint_reports_no_errors_or_warnings(built: Built) -> None:
    """cfn-lint (CloudFormation resource schemas, incl. Method Integration.IntegrationTarget): 0/0."""
    assert cfn_lint(built.template_path) == ""


@pytest.mark.parametrize(("environment", "retention"), [("dev", 7), ("staging", 30), ("prod", 365)])
def test_tracing_is_on_and_log_retention_follows_the_profile(synth, environment: str, retention: int) -> None:  # type: ignore[no-untyped-def]
    """X-Ray tracing and access-log retention come from ApiSettings, not from code."""
    synthesized = synth(environment)
    synthesized.template.has_resource_properties("AWS::ApiGateway::Stage", {"TracingEnabled": True})
    assert synthesized.resources["ApiAccessLogs50B185DB"]["Properties"]["RetentionInDays"] == retention
