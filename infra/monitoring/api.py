"""Monitoring of the partner front door: the API Gateway REST API and its web ACL (when it has its own)."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cloudwatch

from infra.api import PartnerApi
from infra.config import AlertSettings
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


def monitor_api(api: PartnerApi, settings: AlertSettings) -> Tier:
    """Error rates, latency and blocked requests of the partner API."""
    rest_api = api.rest_api
    # API Gateway's 4XXError and 5XXError averaged over requests are error rates (0 to 1).
    error_rate_4xx = rest_api.metric_client_error(statistic="Average", period=FIVE_MINUTES)
    error_rate_5xx = rest_api.metric_server_error(statistic="Average", period=FIVE_MINUTES)
    p99 = rest_api.metric_latency(statistic="p99", period=FIVE_MINUTES)
    alarms = [
        AlarmSpec(
            "Api5xxRate",
            f"More than {settings.api_5xx_percent}% of partner API requests end in a 5xx.",
            error_rate_5xx,
            settings.api_5xx_percent / 100,
            GT,
            QUIET,
        ),
        AlarmSpec(
            "Api4xxSpike",
            f"More than {settings.api_4xx_percent}% of partner API requests are rejected with a 4xx.",
            error_rate_4xx,
            settings.api_4xx_percent / 100,
            GT,
            QUIET,
        ),
        AlarmSpec(
            "ApiLatencyP99",
            f"The slowest 1% of partner API requests take longer than {settings.api_p99_ms} ms.",
            p99,
            settings.api_p99_ms,
            GT,
            QUIET,
        ),
    ]
    widgets = [
        section("Partner API (API Gateway)"),
        cloudwatch.GraphWidget(title="API requests", left=[rest_api.metric_count(period=FIVE_MINUTES)], width=6),
        cloudwatch.GraphWidget(title="API 4xx / 5xx rate", left=[error_rate_4xx, error_rate_5xx], width=6),
        cloudwatch.GraphWidget(
            title="API latency",
            left=[rest_api.metric_latency(statistic="p50", period=FIVE_MINUTES), p99],
            width=6,
        ),
    ]
    # Through CloudFront (api.through_cloudfront) partners' blocked calls are the distribution's web ACL's.
    if api.web_acl is not None:
        blocked = waf_blocked_requests(api.web_acl, region=Stack.of(api).region)
        alarms.append(waf_blocked_spike("ApiWafBlockedSpike", "The partner API's web ACL", blocked, settings))
        widgets.append(cloudwatch.GraphWidget(title="API WAF blocked requests", left=[blocked], width=6))
    return Tier(alarms, widgets)
