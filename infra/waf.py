"""A WAF web ACL for one front door: AWS managed rule groups and a per-IP rate limit, logging what it
blocks or counts. CloudFront (scope CLOUDFRONT) and API Gateway (scope REGIONAL) each get one."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.limits import waf_log_group
from infra.log_storage import EncryptedLogGroup

# The baseline and IP reputation groups AWS recommends for every web ACL; no extra charge beyond a rule.
# Which run is a setting per door (edge.waf_rule_groups, api.waf_rule_groups; infra/config.py):
# - AWSManagedRulesAmazonIpReputationList: IPs that Amazon threat intelligence reports as bots and attackers.
# - AWSManagedRulesCommonRuleSet: OWASP-style common exploits (XSS, path traversal, oversize bodies...).
# - AWSManagedRulesKnownBadInputsRuleSet: request patterns known to exploit vulnerabilities (Log4j...).
# https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-list.html


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
    ) -> None:
        super().__init__(scope, id)
        # aws-cdk-lib has no L2 for AWS WAF v2, only CloudFormation resources.
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope=waf_scope,
            description="AWS managed rules and a per-IP rate limit",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=_visibility(metric_name),
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
                                vendor_name="AWS", name=name
                            )
                        ),
                        override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                        visibility_config=_visibility(name),
                    )
                    for priority, name in enumerate(managed_rule_groups, start=1)
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
