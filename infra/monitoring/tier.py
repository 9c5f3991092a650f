"""What a tier contributes to monitoring (its alarm specs, dashboard widgets and event rules) and the
vocabulary the tier modules share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_wafv2 as wafv2

from infra.config import AlertSettings

GT = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
LT = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
# No data means no traffic (or no tasks, which the task-count alarms catch): not a failure.
QUIET = cloudwatch.TreatMissingData.NOT_BREACHING
# No data where data must exist means the thing that reports it is gone: a failure.
GONE = cloudwatch.TreatMissingData.BREACHING
FIVE_MINUTES = Duration.minutes(5)
ONE_MINUTE = Duration.minutes(1)
MIB = 1024 * 1024


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: what it watches, when it fires, and what missing data means for it."""

    id: str
    description: str
    metric: cloudwatch.IMetric
    threshold: float
    comparison: cloudwatch.ComparisonOperator
    missing_data: cloudwatch.TreatMissingData
    periods: int = 3


@dataclass(frozen=True)
class RuleSpec:
    """One EventBridge rule: the events of a tier that someone must hear about."""

    id: str
    description: str
    pattern: events.EventPattern


@dataclass(frozen=True)
class Tier:
    """A tier's alarms and dashboard widgets, both built from the same metric objects, and its event rules."""

    alarms: Sequence[AlarmSpec]
    widgets: Sequence[cloudwatch.IWidget] = ()
    rules: Sequence[RuleSpec] = ()


def section(title: str) -> cloudwatch.TextWidget:
    """The full-width heading that starts a tier's row on the dashboard."""
    return cloudwatch.TextWidget(markdown=f"## {title}", width=24, height=1)


def waf_blocked_spike(id: str, acl_label: str, blocked: cloudwatch.IMetric, settings: AlertSettings) -> AlarmSpec:
    """The alarm for a burst of blocked requests, the same rule for each web ACL."""
    return AlarmSpec(
        id,
        f"{acl_label} blocked more than {settings.waf_blocked_requests} requests in 5 minutes.",
        blocked,
        settings.waf_blocked_requests,
        GT,
        QUIET,
        periods=1,
    )


def waf_blocked_requests(web_acl: wafv2.CfnWebACL, *, region: str | None) -> cloudwatch.Metric:
    """Requests a web ACL blocked; WAF names the ACL in its metrics by its visibility metric name, and
    adds a Region dimension for REGIONAL web ACLs only (CLOUDFRONT ones report in us-east-1).
    https://docs.aws.amazon.com/waf/latest/developerguide/waf-metrics.html"""
    visibility = web_acl.visibility_config
    if not isinstance(visibility, wafv2.CfnWebACL.VisibilityConfigProperty):
        raise TypeError("the web ACL's visibility config must be a literal")
    return cloudwatch.Metric(
        namespace="AWS/WAFV2",
        metric_name="BlockedRequests",
        dimensions_map={"WebACL": visibility.metric_name, "Rule": "ALL", **({"Region": region} if region else {})},
        region=None if region else "us-east-1",
        statistic="Sum",
        period=FIVE_MINUTES,
    )
