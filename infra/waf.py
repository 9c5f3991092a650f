"""A WAF web ACL for one front door: AWS managed rule groups and a per-IP rate limit, logging what it
blocks or counts. CloudFront (scope CLOUDFRONT) and API Gateway (scope REGIONAL) each get one."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.log_storage import EncryptedLogGroup
from tapstack_cli.limits import waf_log_group

# The baseline and IP reputation groups AWS recommends for every web ACL; no extra charge beyond a rule.
# Which run is a setting per door (edge.waf_rule_groups, api.waf_rule_groups; infra/config.py):
# - AWSManagedRulesAmazonIpReputationList: IPs that Amazon threat intelligence reports as bots and attackers.
# - AWSManagedRulesCommonRuleSet: OWASP-style common exploits (XSS, path traversal, oversize bodies...).
# - AWSManagedRulesKnownBadInputsRuleSet: request patterns known to exploit vulnerabilities (Log4j...).
# https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-list.html


# The storefront's own request body limit (storefront/src/storefront/settings.py `max_body_bytes`, 413 above
# it); the service's task sets no other value. The WAF refuses larger bodies at the front door with it.
SERVICE_MAX_BODY_BYTES = 64 * 1024
# What each front door lets through of the common rule set's rules, by overriding their action to COUNT
# (still logged and counted, no longer blocked):
# - SizeRestrictions_BODY blocks bodies over 8 KB, a limit of the rule set rather than of the service: the
#   web ACL's own BodyOverServiceLimit rule blocks what the service would refuse (SERVICE_MAX_BODY_BYTES).
# - NoUserAgent_HEADER blocks requests without a User-Agent: every browser sends one, so CloudFront keeps
#   it; a partner's server-side client may not, and it authenticates with its API key instead.
# https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html#aws-managed-rule-groups-baseline-crs
BROWSER_COUNTED_RULES = ("SizeRestrictions_BODY",)
PARTNER_COUNTED_RULES = ("SizeRestrictions_BODY", "NoUserAgent_HEADER")
# Credentials never reach the WAF logs: a browser's session, and a partner's API key.
BROWSER_REDACTED_HEADERS = ("authorization", "cookie")
PARTNER_REDACTED_HEADERS = ("x-api-key", "authorization", "cookie")
# CloudFront's web ACL in front of both doors (api.through_cloudfront) lets through what either door needs:
# the partners' rules are the browsers' and more.
# A body-size rule can only judge what the front door forwards to WAF: 16 KB unless raised, up to 64 KB
# (at an extra charge only for requests with larger bodies). https://docs.aws.amazon.com/waf/latest/developerguide/web-acl-setting-body-inspection-limit.html
INSPECTION_LIMITS = {16 * 1024: "KB_16", 32 * 1024: "KB_32", 48 * 1024: "KB_48", 64 * 1024: "KB_64"}


def waf_log_group_name(web_acl: Construct) -> str:
    """aws-waf-logs-<stack name>-<path of the web ACL's construct in its stack>, e.g.
    aws-waf-logs-TapStack-prod-Api-Waf: unique in the account and region, as the stack's name is."""
    stack = Stack.of(web_acl)
    scopes = web_acl.node.scopes
    return waf_log_group(stack.stack_name, "-".join(scope.node.id for scope in scopes[scopes.index(stack) + 1 :]))


def _visibility(metric_name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    # Metric names are dimensions under the web ACL, not account-wide names: two deployments don't clash.
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=metric_name, sampled_requests_enabled=True
    )


class WebAcl(Construct):
    """`web_acl` is associated by the front door that owns it (CloudFront's WebACLId, or a stage)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        waf_scope: str,
        metric_name: str,
        rate_limit: int,
        key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        redacted_headers: Sequence[str],
        managed_rule_groups: Sequence[str],
        resource_type: str,
        counted_rules: Sequence[str],
        max_body_bytes: int = SERVICE_MAX_BODY_BYTES,
    ) -> None:
        """`resource_type` is the protected resource (CLOUDFRONT or API_GATEWAY), `counted_rules` the rules
        of AWSManagedRulesCommonRuleSet that only count, `max_body_bytes` the largest body let through."""
        super().__init__(scope, id)
        # The smallest inspection limit that sees the whole of an allowed body; a larger body exceeds it and
        # oversize handling MATCH then blocks it.
        inspection_limit = min(limit for limit in INSPECTION_LIMITS if limit >= max_body_bytes)
        # aws-cdk-lib has no L2 for AWS WAF v2, only CloudFormation resources.
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope=waf_scope,
            description="AWS managed rules and a per-IP rate limit",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(metric_name),
            association_config=wafv2.CfnWebACL.AssociationConfigProperty(
                request_body={
                    resource_type: wafv2.CfnWebACL.RequestBodyAssociatedResourceTypeConfigProperty(
                        default_size_inspection_limit=INSPECTION_LIMITS[inspection_limit]
                    )
                }
            ),
            rules=[
                # The rate rule runs first so a flood is cut before the managed groups inspect it.
                wafv2.CfnWebACL.RuleProperty(
                    name="RateLimitPerIp",
                    priority=0,
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP", limit=rate_limit, evaluation_window_sec=300
                        )
                    ),
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    visibility_config=_visibility("RateLimitPerIp"),
                ),
                *(
                    wafv2.CfnWebACL.RuleProperty(
                        name=name,
                        priority=priority,
                        statement=wafv2.CfnWebACL.StatementProperty(
                            managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                                vendor_name="AWS",
                                name=name,
                                rule_action_overrides=[
                                    wafv2.CfnWebACL.RuleActionOverrideProperty(
                                        name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                                    )
                                    for rule in counted_rules
                                ]
                                if name == "AWSManagedRulesCommonRuleSet" and counted_rules
                                else None,
                            )
                        ),
                        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                        visibility_config=_visibility(name),
                    )
                    for priority, name in enumerate(managed_rule_groups, start=1)
                ),
                # The service's own body limit, in place of the rule set's 8 KB: larger bodies are refused
                # here (403) instead of reaching the service (413). Past the inspection limit WAF sees only
                # part of the body: oversize handling MATCH blocks such a body too.
                # https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-size-constraint-match.html
                wafv2.CfnWebACL.RuleProperty(
                    name="BodyOverServiceLimit",
                    priority=len(managed_rule_groups) + 1,
                    statement=wafv2.CfnWebACL.StatementProperty(
                        size_constraint_statement=wafv2.CfnWebACL.SizeConstraintStatementProperty(
                            field_to_match=wafv2.CfnWebACL.FieldToMatchProperty(
                                body=wafv2.CfnWebACL.BodyProperty(oversize_handling="MATCH")
                            ),
                            comparison_operator="GT",
                            size=max_body_bytes,
                            text_transformations=[wafv2.CfnWebACL.TextTransformationProperty(priority=0, type="NONE")],
                        )
                    ),
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    visibility_config=_visibility("BodyOverServiceLimit"),
                ),
            ],
        )
        # WAF logs the requests it blocks or counts (PCI DSS 10.2; access logs cover the allowed ones). WAF
        # writes only to log groups named aws-waf-logs-*: the suffix is the stack's name and this construct's
        # path in it, so deployments differ, and a pipeline stage names it as `make deploy` does. (Retained
        # when the stack is deleted, deleted when its first create rolls back: docs/restore.md case 3.)
        # https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html
        log_group = EncryptedLogGroup(
            self,
            "Logs",
            log_group_name=waf_log_group_name(self),
            key=key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl.attr_arn,
            # The log group's ARN without the ":*" suffix that LogGroup.log_group_arn carries.
            log_destination_configs=[
                Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=log_group.log_group_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
            # Credentials never reach the logs. SingleHeader and LoggingFilter are JSON-typed in the L1,
            # so CDK passes them through unconverted: they are written in CloudFormation's casing.
            redacted_fields=[
                wafv2.CfnLoggingConfiguration.FieldToMatchProperty(single_header={"Name": header})
                for header in redacted_headers
            ],
            logging_filter={
                "DefaultBehavior": "DROP",
                "Filters": [
                    {
                        "Behavior": "KEEP",
                        "Requirement": "MEETS_ANY",
                        "Conditions": [{"ActionCondition": {"Action": action}} for action in ("BLOCK", "COUNT")],
                    }
                ],
            },
        )
