"""Monitoring of the browser front door: the CloudFront distribution and its web ACL."""

from __future__ import annotations

from aws_cdk import CfnOutput, Environment, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from infra.config import EDGE_REGION, AlertSettings, Config
from infra.edge import Edge
from infra.keys import Keys
from infra.monitoring.alerting import alarm, alert_topic
from infra.monitoring.tier import (
    FIVE_MINUTES,
    GT,
    QUIET,
    AlarmSpec,
    Tier,
    section,
    waf_blocked_requests,
    waf_blocked_spike,
)


def monitor_edge(edge: Edge, settings: AlertSettings) -> Tier:
    """CloudFront's error rate and the requests its web ACL blocks."""
    error_rate_5xx = _cloudfront_metric(edge.distribution, "5xxErrorRate", "Average")
    blocked = waf_blocked_requests(edge.web_acl, region=None)
    alarms = [
        AlarmSpec(
            "CloudFront5xxRate",
            f"More than {settings.cloudfront_5xx_percent}% of browser requests end in a 5xx at CloudFront.",
            error_rate_5xx,
            settings.cloudfront_5xx_percent,
            GT,
            QUIET,
        ),
        waf_blocked_spike("EdgeWafBlockedSpike", "The storefront's web ACL", blocked, settings),
    ]
    widgets = [
        section("Browser front door (CloudFront)"),
        cloudwatch.GraphWidget(
            title="CloudFront requests", left=[_cloudfront_metric(edge.distribution, "Requests", "Sum")], width=6
        ),
        cloudwatch.GraphWidget(
            title="CloudFront 4xx / 5xx rate %",
            left=[_cloudfront_metric(edge.distribution, "4xxErrorRate", "Average"), error_rate_5xx],
            width=6,
        ),
        cloudwatch.GraphWidget(
            title="CloudFront bytes downloaded",
            left=[_cloudfront_metric(edge.distribution, "BytesDownloaded", "Sum")],
            width=6,
        ),
        cloudwatch.GraphWidget(title="Storefront WAF blocked requests", left=[blocked], width=6),
    ]
    return Tier(alarms, widgets)


def _cloudfront_metric(distribution: cloudfront.IDistribution, name: str, statistic: str) -> cloudwatch.Metric:
    """CloudFront publishes its metrics in us-east-1 under Region=Global."""
    return cloudwatch.Metric(
        namespace="AWS/CloudFront",
        metric_name=name,
        dimensions_map={"DistributionId": distribution.distribution_id, "Region": "Global"},
        statistic=statistic,
        period=FIVE_MINUTES,
        region="us-east-1",
    )


class EdgeAlarmsStack(Stack):
    """The edge's alarms where CloudFront's metrics are, for a regional stack outside us-east-1.

    CloudWatch alarms watch metrics of their own region only, and CloudFront and its web ACL publish in
    us-east-1; so these alarms live in us-east-1 with a topic of their own (same subscription), reading
    the distribution's id from the regional stack by CDK's cross-region references.
    """

    def __init__(self, scope: Construct, id: str, *, stack_name: str, config: Config, edge: Edge) -> None:
        super().__init__(
            scope,
            id,
            stack_name=stack_name,
            env=Environment(account=config.account, region=EDGE_REGION),
            description=f"TapStack {config.environment}: CloudFront's alarms (us-east-1)",
            cross_region_references=True,
        )
        keys = Keys(self, "Keys", removal_policy=config.removal_policy)
        topic = alert_topic(self, config.alerts, keys.key)
        for spec in monitor_edge(edge, config.alerts).alarms:
            alarm(self, spec, topic)
        CfnOutput(self, "AlertTopicArn", value=topic.topic_arn)
