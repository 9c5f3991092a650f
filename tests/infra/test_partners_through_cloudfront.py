"""api.through_cloudfront (dev and previews): partners call the REST API through the storefront's distribution,
so CloudFront's web ACL guards both doors, and the API refuses a call that did not come through it.

- CloudFront adds an origin custom header to every request to that origin, overwriting a viewer's header of
  the same name. https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/add-origin-custom-headers.html
- An API Gateway resource policy may test aws:Referer for every authorization type; the key is absent when
  the caller sends no Referer, and a negated operator (StringNotEquals) is then true.
  https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-resource-policies-aws-condition-keys.html
  https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
"""

from __future__ import annotations

from typing import Any

from infra.api import STAGE_NAME
from tests.synthesis import Synthesized

# CloudFront's managed policies, by the ids AWS gives them in every account.
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
EVERY_METHOD = {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
PARTNER_PATTERN = f"/{STAGE_NAME}/*"


def distribution_config(synthesized: Synthesized) -> dict[str, Any]:
    (distribution,) = synthesized.of_type("AWS::CloudFront::Distribution").values()
    config: dict[str, Any] = distribution["Properties"]["DistributionConfig"]
    return config


def partner_behaviour(synthesized: Synthesized) -> dict[str, Any] | None:
    """The distribution's behaviour for partners' calls, if it has one."""
    behaviours = distribution_config(synthesized).get("CacheBehaviors", [])
    return next((b for b in behaviours if b["PathPattern"] == PARTNER_PATTERN), None)


def _partner_origin(synthesized: Synthesized) -> dict[str, Any]:
    behaviour = partner_behaviour(synthesized)
    assert behaviour is not None
    (origin,) = (o for o in distribution_config(synthesized)["Origins"] if o["Id"] == behaviour["TargetOriginId"])
    return origin


def _rest_api(synthesized: Synthesized) -> tuple[str, dict[str, Any]]:
    ((logical_id, api),) = synthesized.of_type("AWS::ApiGateway::RestApi").items()
    return logical_id, api["Properties"]


def _statements(synthesized: Synthesized, effect: str) -> list[dict[str, Any]]:
    return [s for s in _rest_api(synthesized)[1]["Policy"]["Statement"] if s["Effect"] == effect]


def test_partners_calls_go_to_the_rest_api_s_own_paths_stage_included(dev: Synthesized) -> None:
    """<CloudFrontURL>/v1/api/products reaches execute-api as /v1/api/products: the origin is the API's
    regional endpoint over HTTPS and adds no path of its own."""
    origin = _partner_origin(dev)
    api_id, _ = _rest_api(dev)
    assert origin["DomainName"] == {
        "Fn::Join": ["", [{"Ref": api_id}, ".execute-api.us-east-1.", {"Ref": "AWS::URLSuffix"}]]
    }
    assert "OriginPath" not in origin
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"


def test_the_rest_api_refuses_every_call_without_the_referer_only_cloudfront_sends(dev: Synthesized) -> None:
    """A call straight to execute-api passes no web ACL: the resource policy denies it unless its Referer
    is the value CloudFront's origin sets, and that value is the stack's id (made by CloudFormation, never
    in the code or a viewer's hands)."""
    (header,) = _partner_origin(dev)["OriginCustomHeaders"]
    (deny,) = _statements(dev, "Deny")
    assert deny["Principal"] == {"AWS": "*"}
    assert (deny["Action"], deny["Resource"]) == ("execute-api:Invoke", "execute-api:/*")
    assert deny["Condition"] == {"StringNotEquals": {"aws:Referer": header["HeaderValue"]}}
    assert header["HeaderName"] == "Referer"
    assert header["HeaderValue"] == {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}


def test_calls_through_cloudfront_are_let_in_to_be_judged_by_their_api_key(dev: Synthesized) -> None:
    """The policy's only allow is execute-api:Invoke for anyone: the API key and usage plan still decide."""
    (allow,) = _statements(dev, "Allow")
    assert allow == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Resource": "execute-api:/*",
    }


def test_partners_calls_reach_the_api_whole_uncached_and_over_https_only(dev: Synthesized) -> None:
    """Every viewer header (x-api-key) and query string reaches the API, nothing is cached, every method is
    allowed, and plain HTTP is refused rather than redirected (a redirect turns a POST into a GET)."""
    behaviour = partner_behaviour(dev)
    assert behaviour is not None
    assert behaviour["CachePolicyId"] == CACHING_DISABLED
    assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    assert set(behaviour["AllowedMethods"]) == EVERY_METHOD
    assert behaviour["ViewerProtocolPolicy"] == "https-only"


def test_one_web_acl_guards_both_doors_and_keeps_partners_keys_out_of_its_logs(dev: Synthesized) -> None:
    """The distribution's web ACL is the only one, and its logs redact the partners' x-api-key too."""
    ((acl_id, acl),) = dev.of_type("AWS::WAFv2::WebACL").items()
    assert acl["Properties"]["Scope"] == "CLOUDFRONT"
    assert distribution_config(dev)["WebACLId"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert dev.of_type("AWS::WAFv2::WebACLAssociation") == {}
    (logging,) = dev.of_type("AWS::WAFv2::LoggingConfiguration").values()
    redacted = {field["SingleHeader"]["Name"] for field in logging["Properties"]["RedactedFields"]}
    assert redacted == {"x-api-key", "authorization", "cookie"}


def test_the_partner_url_output_is_the_distribution_s(dev: Synthesized) -> None:
    """APIGatewayURL is where partners must call: the distribution's domain and the stage."""
    (distribution_id,) = dev.of_type("AWS::CloudFront::Distribution")
    assert dev.template.to_json()["Outputs"]["APIGatewayURL"]["Value"] == {
        "Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution_id, "DomainName"]}, f"/{STAGE_NAME}/"]]
    }


def test_staging_partners_call_the_api_s_own_endpoint_behind_its_own_web_acl(staging: Synthesized) -> None:
    """With api.through_cloudfront off (staging, prod) the distribution has no partner behaviour, the API no
    resource policy, and its stage its own REGIONAL web ACL."""
    assert partner_behaviour(staging) is None
    assert "Policy" not in _rest_api(staging)[1]
    (association,) = staging.of_type("AWS::WAFv2::WebACLAssociation").values()
    (stage_id,) = staging.of_type("AWS::ApiGateway::Stage")
    assert association["Properties"]["ResourceArn"]["Fn::Join"][1][-1] == {"Ref": stage_id}
    assert "execute-api" in str(staging.template.to_json()["Outputs"]["APIGatewayURL"]["Value"])
