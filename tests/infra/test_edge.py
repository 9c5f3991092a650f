"""infra/edge.py: the browser front door, synthesized once in a bare us-east-1 stack.

The stand-in load balancer is what infra/service.py builds: internal, in the private subnets, one HTTP
listener on 80 whose default answer is 404.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import RemovalPolicy
from aws_cdk.assertions import Match, Template

from infra.config import EdgeSettings
from infra.context import load_config
from infra.edge import CATALOG_MAX_TTL_SECONDS, CONTENT_SECURITY_POLICY, Edge
from tests.synthesis import (
    cfn_lint,
    front_door_testbed,
    nag_findings,
)

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "storefront" / "web"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
CATALOG_PATTERNS = ("/api/products", "/api/products/*")


@dataclass(frozen=True)
class EdgeStack:
    settings: EdgeSettings
    template: Template
    template_path: Path
    report: dict[str, Any]
    resources: dict[str, dict[str, Any]]
    ids: dict[str, str]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def distribution_config(self) -> dict[str, Any]:
        (distribution,) = self.of_type("AWS::CloudFront::Distribution").values()
        config: dict[str, Any] = distribution["Properties"]["DistributionConfig"]
        return config

    def behaviors(self) -> list[dict[str, Any]]:
        config = self.distribution_config()
        return [config["DefaultCacheBehavior"], *config["CacheBehaviors"]]

    def api_behavior(self) -> dict[str, Any]:
        return self.behavior("/api/*")

    def behavior(self, pattern: str) -> dict[str, Any]:
        behaviors = self.distribution_config()["CacheBehaviors"]
        (behavior,) = [b for b in behaviors if b["PathPattern"] == pattern]
        return behavior

    def behavior_for(self, path: str) -> dict[str, Any]:
        """The behavior CloudFront picks for a request path: the first whose pattern matches, else the
        default (`*` matches any characters, `/` included)."""
        for behavior in self.distribution_config()["CacheBehaviors"]:
            if fnmatch.fnmatchcase(path, behavior["PathPattern"]):
                return dict(behavior)
        return dict(self.distribution_config()["DefaultCacheBehavior"])


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> EdgeStack:
    outdir = tmp_path_factory.mktemp("cdk-edge")
    config = load_config("dev")
    # A custom domain exercises the certificate path (TLS minimum); the profiles cover the default one.
    settings = dataclasses.replace(config.edge, domain_name="shop.example.com", certificate_arn=CERTIFICATE)
    bed = front_door_testbed(outdir, "EdgeTest", config.network)
    stack = bed.stack
    Edge(
        stack,
        "Edge",
        settings=settings,
        key=bed.key,
        load_balancer=bed.load_balancer,
        listener_port=80,
        removal_policy=RemovalPolicy.DESTROY,
        site_source=str(WEB),
    )
    template, template_path, report = bed.synthesize()
    resources = template.to_json()["Resources"]

    def only(resource_type: str, prefix: str = "") -> str:
        (logical_id,) = [k for k, v in resources.items() if v["Type"] == resource_type and k.startswith(prefix)]
        return logical_id

    return EdgeStack(
        settings=settings,
        template=template,
        template_path=template_path,
        report=report,
        resources=resources,
        ids={
            "site": only("AWS::S3::Bucket", "EdgeSite"),
            "logs": only("AWS::S3::Bucket", "EdgeAccessLogs"),
            "distribution": only("AWS::CloudFront::Distribution"),
            "web_acl": only("AWS::WAFv2::WebACL"),
            "load_balancer": only("AWS::ElasticLoadBalancingV2::LoadBalancer"),
            "load_balancer_sg": only("AWS::EC2::SecurityGroup", "AlbSecurityGroup"),
            "vpc_origin": only("AWS::CloudFront::VpcOrigin"),
            "headers": only("AWS::CloudFront::ResponseHeadersPolicy"),
            "catalog_cache": only("AWS::CloudFront::CachePolicy"),
            "catalog_origin_request": only("AWS::CloudFront::OriginRequestPolicy"),
        },
    )


def test_site_origin_uses_origin_access_control_not_an_identity(edge: EdgeStack) -> None:
    """CloudFront OAC rule: an origin access identity cannot read SSE-KMS objects, so
    the S3 origin signs its requests with SigV4 through an origin access control.
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html
    """
    edge.template.resource_count_is("AWS::CloudFront::CloudFrontOriginAccessIdentity", 0)
    edge.template.has_resource_properties(
        "AWS::CloudFront::OriginAccessControl",
        {
            "OriginAccessControlConfig": Match.object_like(
                {
                    "OriginAccessControlOriginType": "s3",
                    "SigningBehavior": "always",
                    "SigningProtocol": "sigv4",
                }
            )
        },
    )
    (site_origin,) = [o for o in edge.distribution_config()["Origins"] if "S3OriginConfig" in o]
    assert site_origin["DomainName"] == {"Fn::GetAtt": [edge.ids["site"], "RegionalDomainName"]}
    assert "OriginAccessControlId" in site_origin
    assert site_origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}


def test_key_policy_lets_cloudfront_decrypt_only_for_this_accounts_distributions(edge: EdgeStack) -> None:
    """SSE-KMS with OAC: the key policy must let cloudfront.amazonaws.com call kms:Decrypt, conditioned
    on AWS:SourceArn, or every object answers 403. It names this account's distributions because naming
    this one would be a dependency cycle (key -> distribution -> bucket -> key); no CanonicalUser in the key policy.
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html#create-oac-overview-s3
    """
    edge.template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudfront.amazonaws.com"},
                            "Action": "kms:Decrypt",
                            "Resource": "*",
                            "Condition": {
                                "ArnLike": {
                                    "AWS:SourceArn": {
                                        "Fn::Join": [
                                            "",
                                            [
                                                "arn:",
                                                {"Ref": "AWS::Partition"},
                                                ":cloudfront::",
                                                {"Ref": "AWS::AccountId"},
                                                ":distribution/*",
                                            ],
                                        ]
                                    }
                                }
                            },
                        }
                    ]
                )
            }
        },
    )
    (key,) = edge.of_type("AWS::KMS::Key").values()
    assert "CanonicalUser" not in json.dumps(key)


def test_site_bucket_policy_lets_only_this_distribution_read(edge: EdgeStack) -> None:
    """OAC bucket policy: s3:GetObject for cloudfront.amazonaws.com with AWS:SourceArn equal to this
    distribution's ARN, so no other distribution can read the site."""
    edge.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": edge.ids["site"]},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "s3:GetObject",
                                "Principal": {"Service": "cloudfront.amazonaws.com"},
                                "Condition": {"StringEquals": {"AWS:SourceArn": Match.any_value()}},
                            }
                        )
                    ]
                )
            },
        },
    )
    policy = next(
        v
        for v in edge.of_type("AWS::S3::BucketPolicy").values()
        if v["Properties"]["Bucket"] == {"Ref": edge.ids["site"]}
    )
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (read,) = [s for s in statements if s["Action"] == "s3:GetObject"]
    assert edge.ids["distribution"] in json.dumps(read["Condition"]["StringEquals"]["AWS:SourceArn"])


@pytest.mark.parametrize("bucket", ["site", "logs"])
def test_bucket_policy_denies_requests_without_tls(edge: EdgeStack, bucket: str) -> None:
    """S3 enforce-TLS rule (AwsSolutions-S10, PCI S3BucketSSLRequestsOnly): deny every request
    whose aws:SecureTransport is false."""
    edge.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": edge.ids[bucket]},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Principal": {"AWS": "*"},
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            },
        },
    )


@pytest.mark.parametrize("bucket", ["site", "logs"])
def test_no_bucket_is_public(edge: EdgeStack, bucket: str) -> None:
    """S3 Block Public Access (AwsSolutions-S2): all four settings on, so no policy or ACL can publish
    an object; CloudFront reads the site through OAC."""
    properties = edge.resources[edge.ids[bucket]]["Properties"]
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }


def test_site_bucket_is_kms_encrypted_versioned_and_acl_free(edge: EdgeStack) -> None:
    """SSE-KMS with our key and an S3 Bucket Key; object ownership BucketOwnerEnforced (ACLs off);
    versioning with noncurrent versions expiring after edge.noncurrent_version_days."""
    properties = edge.resources[edge.ids["site"]]["Properties"]
    (rule,) = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["BucketKeyEnabled"] is True
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "KeysDataKey" in json.dumps(rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"])
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["LifecycleConfiguration"]["Rules"][0]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": edge.settings.noncurrent_version_days
    }


def test_api_behaviour_targets_a_vpc_origin_for_the_internal_load_balancer(edge: EdgeStack) -> None:
    """CloudFront VPC origins: `/api/*` reaches the internal load balancer privately over its
    HTTP:80 listener, uncached, with every method and the viewer's query strings and headers.
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-vpc-origins.html
    """
    load_balancer = edge.resources[edge.ids["load_balancer"]]["Properties"]
    assert load_balancer["Scheme"] == "internal"
    edge.template.has_resource_properties(
        "AWS::CloudFront::VpcOrigin",
        {
            "VpcOriginEndpointConfig": Match.object_like(
                {
                    "Arn": {"Ref": edge.ids["load_balancer"]},
                    "HTTPPort": 80,
                    "OriginProtocolPolicy": "http-only",
                }
            )
        },
    )
    behavior = edge.api_behavior()
    (origin,) = [o for o in edge.distribution_config()["Origins"] if o["Id"] == behavior["TargetOriginId"]]
    assert origin["VpcOriginConfig"] == {"VpcOriginId": {"Fn::GetAtt": [edge.ids["vpc_origin"], "Id"]}}
    assert origin["DomainName"] == {"Fn::GetAtt": [edge.ids["load_balancer"], "DNSName"]}
    assert behavior["CachePolicyId"] == CACHING_DISABLED
    assert behavior["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    assert set(behavior["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"}
    assert edge.distribution_config()["DefaultCacheBehavior"]["CachePolicyId"] == CACHING_OPTIMIZED


def test_catalog_cache_key_is_exactly_the_query_strings_the_catalog_reads(edge: EdgeStack) -> None:
    """CloudFront cache key (cache policy): query strings allow-listed to limit, cursor and q, no header
    and no cookie, Accept-Encoding normalised for gzip and brotli. A query string left out would serve
    one search's page for another; a header or cookie in the key would split it for nothing.
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/controlling-the-cache-key.html
    """
    config = edge.resources[edge.ids["catalog_cache"]]["Properties"]["CachePolicyConfig"]
    key = config["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["QueryStringsConfig"]["QueryStringBehavior"] == "whitelist"
    assert sorted(key["QueryStringsConfig"]["QueryStrings"]) == ["cursor", "limit", "q"]
    assert key["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}
    assert key["EnableAcceptEncodingGzip"] is True
    assert key["EnableAcceptEncodingBrotli"] is True
    for pattern in CATALOG_PATTERNS:
        behavior = edge.behavior(pattern)
        assert behavior["CachePolicyId"] == {"Ref": edge.ids["catalog_cache"]}
        assert behavior["Compress"] is True


def test_catalog_ttls_follow_the_services_cache_control(edge: EdgeStack) -> None:
    """CloudFront expiration: min TTL 0 honours the service's no-store, default TTL 0 leaves a response
    without Cache-Control uncached, max TTL 300 s caps the service's max-age at the edge.
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Expiration.html
    """
    config = edge.resources[edge.ids["catalog_cache"]]["Properties"]["CachePolicyConfig"]
    assert (config["MinTTL"], config["DefaultTTL"], config["MaxTTL"]) == (0, 0, CATALOG_MAX_TTL_SECONDS)
    assert CATALOG_MAX_TTL_SECONDS == 300


def test_catalog_caches_only_get_and_head_and_forwards_nothing_outside_the_key(edge: EdgeStack) -> None:
    """CloudFront cached methods: GET and HEAD only (the admin's POST and PATCH on the same paths pass
    through uncached). The origin request policy adds no query string or cookie and only Content-Type,
    so no cached answer can depend on what the cache key does not hold."""
    for pattern in CATALOG_PATTERNS:
        behavior = edge.behavior(pattern)
        assert sorted(behavior["CachedMethods"]) == ["GET", "HEAD"]
        assert behavior["OriginRequestPolicyId"] == {"Ref": edge.ids["catalog_origin_request"]}
        assert behavior["TargetOriginId"] == edge.api_behavior()["TargetOriginId"]
    config = edge.resources[edge.ids["catalog_origin_request"]]["Properties"]["OriginRequestPolicyConfig"]
    assert config["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    assert config["CookiesConfig"] == {"CookieBehavior": "none"}
    assert config["HeadersConfig"] == {"HeaderBehavior": "whitelist", "Headers": ["Content-Type"]}


def test_carts_orders_and_admin_are_never_cached(edge: EdgeStack) -> None:
    """CloudFront managed policies: /api/* outside the catalog uses CachingDisabled, and
    AllViewerExceptHostHeader forwards Idempotency-Key, Content-Type and every query string.
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
    """
    for path in ("/api/carts", "/api/carts/1/items/2", "/api/orders", "/api/orders/9"):
        behavior = edge.behavior_for(path)
        assert behavior["PathPattern"] == "/api/*", path
        assert behavior["CachePolicyId"] == CACHING_DISABLED
        assert behavior["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER


def test_catalog_behaviors_take_precedence_over_the_api_catch_all(edge: EdgeStack) -> None:
    """CloudFront behavior precedence: the first matching path pattern wins, so the catalog's patterns
    come before /api/*, and they are exact (/api/productsX is not the catalog).
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/distribution-web-values-specify.html#DownloadDistValuesPathPattern
    """
    patterns = [b["PathPattern"] for b in edge.distribution_config()["CacheBehaviors"]]
    assert patterns == [*CATALOG_PATTERNS, "/api/*"]
    catalog = {"Ref": edge.ids["catalog_cache"]}
    for path in ("/api/products", "/api/products/42"):
        assert edge.behavior_for(path)["CachePolicyId"] == catalog, path
    for path in ("/api/productsX", "/api/product", "/api/carts"):
        assert edge.behavior_for(path)["CachePolicyId"] == CACHING_DISABLED, path
    assert edge.behavior_for("/index.html")["CachePolicyId"] == CACHING_OPTIMIZED


def test_load_balancer_admits_only_cloudfronts_origin_facing_prefix_list(edge: EdgeStack) -> None:
    """VPC origin security group rule: the load balancer's group admits CloudFront's origin-facing
    managed prefix list on the listener port, and no address range.
    https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-vpc-origins.html
    """
    group = edge.ids["load_balancer_sg"]
    inline = edge.resources[group]["Properties"].get("SecurityGroupIngress", [])
    separate = [
        v["Properties"]
        for v in edge.of_type("AWS::EC2::SecurityGroupIngress").values()
        if v["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}
    ]
    rules = [*inline, *separate]
    assert len(rules) == 1
    (rule,) = rules
    assert rule["SourcePrefixListId"] == edge.settings.origin_facing_prefix_list_id == "pl-3b927c52"
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 80, 80)
    assert "CidrIp" not in rule and "CidrIpv6" not in rule


def test_waf_web_acl_guards_the_distribution(edge: EdgeStack) -> None:
    """AWS WAF (AwsSolutions-CFR2): a CLOUDFRONT-scope web ACL (only creatable in us-east-1) with the
    AWS managed groups of edge.waf_rule_groups (the common rule set at least) and a per-IP rate rule,
    metrics on, associated through the distribution's WebACLId, its requests logged."""
    edge.template.has_resource_properties(
        "AWS::WAFv2::WebACL",
        {
            "Scope": "CLOUDFRONT",
            "DefaultAction": {"Allow": {}},
            "VisibilityConfig": Match.object_like({"CloudWatchMetricsEnabled": True}),
        },
    )
    rules = edge.resources[edge.ids["web_acl"]]["Properties"]["Rules"]
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in rules
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert managed == set(edge.settings.waf_rule_groups) and "AWSManagedRulesCommonRuleSet" in managed
    (rate,) = [r for r in rules if "RateBasedStatement" in r["Statement"]]
    assert rate["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": edge.settings.waf_rate_limit,
        "EvaluationWindowSec": 300,
    }
    assert rate["Action"] == {"Block": {}}
    # The rate rule, the managed groups, and BodyOverServiceLimit (tests/infra/test_waf.py).
    assert len(rules) == 2 + len(edge.settings.waf_rule_groups)
    assert all(r["VisibilityConfig"]["CloudWatchMetricsEnabled"] for r in rules)
    assert edge.distribution_config()["WebACLId"] == {"Fn::GetAtt": [edge.ids["web_acl"], "Arn"]}
    edge.template.has_resource_properties(
        "AWS::WAFv2::LoggingConfiguration", {"ResourceArn": {"Fn::GetAtt": [edge.ids["web_acl"], "Arn"]}}
    )


def test_every_response_carries_the_security_headers(edge: EdgeStack) -> None:
    """OWASP secure headers: HSTS, a CSP that allows only the page's own scripts, nosniff, frame
    options DENY and a referrer policy, on the static and the API behaviours."""
    config = edge.resources[edge.ids["headers"]]["Properties"]["ResponseHeadersPolicyConfig"]
    headers = config["SecurityHeadersConfig"]
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["ContentSecurityPolicy"]["ContentSecurityPolicy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
    for behavior in edge.behaviors():
        assert behavior["ResponseHeadersPolicyId"] == {"Ref": edge.ids["headers"]}


def test_viewers_are_redirected_to_https(edge: EdgeStack) -> None:
    """CloudFront viewer protocol policy (PCI DSS 4.1): plain HTTP is redirected to HTTPS everywhere."""
    assert {b["ViewerProtocolPolicy"] for b in edge.behaviors()} == {"redirect-to-https"}


def test_custom_domain_uses_its_certificate_with_tls_1_2_minimum(edge: EdgeStack) -> None:
    """CloudFront security policy (AwsSolutions-CFR4): with a certificate, viewers need TLSv1.2_2021."""
    config = edge.distribution_config()
    assert config["Aliases"] == ["shop.example.com"]
    assert config["ViewerCertificate"] == {
        "AcmCertificateArn": CERTIFICATE,
        "MinimumProtocolVersion": "TLSv1.2_2021",
        "SslSupportMethod": "sni-only",
    }


def test_http2_and_http3_default_root_object_compression_and_price_class(edge: EdgeStack) -> None:
    config = edge.distribution_config()
    assert config["HttpVersion"] == "http2and3"
    assert config["DefaultRootObject"] == "index.html"
    assert all(b["Compress"] for b in edge.behaviors())
    assert config["PriceClass"] == "PriceClass_100"


def test_access_logs_are_on(edge: EdgeStack) -> None:
    """Access logging (AwsSolutions-CFR3/S1): CloudFront standard logs and the site bucket's
    server access logs go to the log bucket, which keeps ACLs only because legacy CloudFront logging
    writes with them, and expires logs after edge.access_log_days."""
    assert edge.distribution_config()["Logging"] == {
        "Bucket": {"Fn::GetAtt": [edge.ids["logs"], "RegionalDomainName"]},
        "Prefix": "cloudfront/",
    }
    site = edge.resources[edge.ids["site"]]["Properties"]
    assert site["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": edge.ids["logs"]}
    logs = edge.resources[edge.ids["logs"]]["Properties"]
    assert logs["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "ObjectWriter"}]}
    assert logs["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == edge.settings.access_log_days


def test_page_is_deployed_and_the_distribution_invalidated(edge: EdgeStack) -> None:
    """BucketDeployment copies storefront/web/ into the site bucket and invalidates `/*`."""
    edge.template.has_resource_properties(
        "Custom::CDKBucketDeployment",
        {
            "DestinationBucketName": {"Ref": edge.ids["site"]},
            "DistributionId": {"Ref": edge.ids["distribution"]},
            "DistributionPaths": ["/*"],
        },
    )


def test_page_has_no_inline_script_or_style() -> None:
    """The CSP allows scripts and styles from the site itself only: inline ones would be blocked."""
    for page in WEB.glob("*.html"):
        html = page.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), page
        assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", html), page
        for local in re.findall(r'(?:src|href)="/([^"]+)"', html):
            assert (WEB / local).is_file(), f"{page.name} refers to missing /{local}"


def test_no_unacknowledged_cdk_nag_errors(edge: EdgeStack) -> None:
    """AwsSolutions and PCI DSS 3.2.1: zero errors that no reviewed acknowledgement excuses."""
    assert nag_findings(edge.report, "error") == []


def test_no_unacknowledged_cdk_nag_warnings(edge: EdgeStack) -> None:
    """Warnings (including CDK's own annotations) are fixed or acknowledged with a reason."""
    assert nag_findings(edge.report, "warning") == []


def test_cfn_lint_reports_no_errors_or_warnings(edge: EdgeStack) -> None:
    """cfn-lint (CloudFormation resource specification and best practices): 0 errors, 0 warnings."""
    assert cfn_lint(edge.template_path) == ""


def test_stateful_resource_logical_ids_are_pinned(edge: EdgeStack) -> None:
    """CloudFormation replaces a bucket whose logical ID changes, losing its objects and logs; these IDs
    (for an Edge construct with id "Edge" at the stack's root) must never change."""
    assert set(edge.of_type("AWS::S3::Bucket")) == {"EdgeSite1C882D16", "EdgeAccessLogsC159D9EF"}


def test_no_hard_coded_physical_names(edge: EdgeStack) -> None:
    """Seed defect D17: two deployments must fit in one account. The one name set here is the WAF log
    group's, whose aws-waf-logs- prefix AWS WAF requires; it contains the stack name and the construct's path."""
    names = {
        logical_id: resource["Properties"][name_key]
        for logical_id, resource in edge.resources.items()
        for name_key in ("BucketName", "LogGroupName", "Name", "AliasName")
        if logical_id.startswith("Edge")
        and isinstance(resource.get("Properties", {}).get(name_key), str)  # a Ref names nothing
    }
    (name,) = names.values()
    assert name == "aws-waf-logs-EdgeTest-Edge-Waf"
