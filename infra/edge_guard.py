"""What CloudFront takes only from us-east-1: the CLOUDFRONT-scope web ACL (with its logs) and the ACM
certificate of a custom domain. https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html

In us-east-1 the regional stack holds them itself. Anywhere else they live in a small companion stack in
us-east-1 that `cdk deploy --all` deploys first, and the regional stack reads them through CDK's
cross-region references. One stack where one is enough: nothing to deploy in order, and no exported value
that pins the web ACL while the other stack imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Environment, RemovalPolicy, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_kms as kms
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.config import EDGE_REGION, Config, EdgeSettings
from infra.keys import Keys
from infra.waf import (
    BROWSER_COUNTED_RULES,
    BROWSER_REDACTED_HEADERS,
    PARTNER_COUNTED_RULES,
    PARTNER_REDACTED_HEADERS,
    WebAcl,
)


@dataclass(frozen=True)
class EdgeGuard:
    """The distribution's web ACL and, with a custom domain, its certificate."""

    web_acl: wafv2.CfnWebACL
    certificate: acm.ICertificate | None

    @classmethod
    def create(
        cls,
        scope: Construct,
        *,
        settings: EdgeSettings,
        key: kms.IKey,
        removal_policy: RemovalPolicy,
        serves_partners: bool,
    ) -> EdgeGuard:
        """The web ACL ("Waf") and certificate ("Certificate") as children of `scope`. `serves_partners`: the
        distribution is the partner API's door too (api.through_cloudfront)."""
        web_acl = WebAcl(
            scope,
            "Waf",
            waf_scope="CLOUDFRONT",
            metric_name="StorefrontWebAcl",
            rate_limit=settings.waf_rate_limit,
            key=key,
            log_retention=settings.log_retention,
            removal_policy=removal_policy,
            redacted_headers=PARTNER_REDACTED_HEADERS if serves_partners else BROWSER_REDACTED_HEADERS,
            managed_rule_groups=settings.waf_rule_groups,
            resource_type="CLOUDFRONT",
            counted_rules=PARTNER_COUNTED_RULES if serves_partners else BROWSER_COUNTED_RULES,
        ).web_acl
        certificate: acm.ICertificate | None = None
        if settings.certificate_arn:
            certificate = acm.Certificate.from_certificate_arn(scope, "Certificate", settings.certificate_arn)
        elif settings.domain_name:
            # DNS validation: the deploy waits until the CNAME that ACM shows is in the domain's zone.
            certificate = acm.Certificate(
                scope,
                "Certificate",
                domain_name=settings.domain_name,
                validation=acm.CertificateValidation.from_dns(),
            )
        return cls(web_acl=web_acl, certificate=certificate)


class EdgeGuardStack(Stack):
    """The companion stack in us-east-1 of a regional stack elsewhere."""

    def __init__(self, scope: Construct, id: str, *, stack_name: str, config: Config) -> None:
        super().__init__(
            scope,
            id,
            stack_name=stack_name,
            env=Environment(account=config.account, region=EDGE_REGION),
            description=f"TapStack {config.environment}: CloudFront's web ACL and certificate (us-east-1)",
        )
        keys = Keys(self, "Keys", removal_policy=config.removal_policy)
        self.guard = EdgeGuard.create(
            self,
            settings=config.edge,
            key=keys.key,
            removal_policy=config.removal_policy,
            serves_partners=config.api.through_cloudfront,
        )
