"""Monitoring of the storefront service: its internal load balancer, target group and Fargate tasks."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events

from infra.config import AlertSettings
from infra.monitoring.tier import FIVE_MINUTES, GONE, GT, LT, ONE_MINUTE, QUIET, AlarmSpec, RuleSpec, Tier, section
from infra.service import StorefrontService


def monitor_service(service: StorefrontService, settings: AlertSettings) -> Tier:
    """Health, errors, latency and saturation of the tasks, and their failed deployments."""
    groups = service.target_groups
    balancer = service.load_balancer.metrics
    fargate = service.service
    requests = balancer.request_count(period=FIVE_MINUTES)
    balancer_5xx = balancer.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=FIVE_MINUTES)
    target_5xx = _across(
        groups, "Target 5xx", lambda m: m.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=FIVE_MINUTES)
    )
    target_requests = _across(groups, "Target requests", lambda m: m.request_count(period=FIVE_MINUTES))
    p99 = _across(groups, "Target p99", lambda m: m.target_response_time(statistic="p99", period=FIVE_MINUTES), "MAX")
    cpu = fargate.metric_cpu_utilization(period=FIVE_MINUTES)
    memory = fargate.metric_memory_utilization(period=FIVE_MINUTES)
    alarms = [
        AlarmSpec(
            "NoHealthyTasks",
            "No task behind the load balancer passes its health check: the shop cannot answer.",
            _across(groups, "Healthy tasks", lambda m: m.healthy_host_count(statistic="Minimum", period=ONE_MINUTE)),
            1,
            LT,
            GONE,  # the load balancer reports healthy hosts every minute; silence means it is gone
        ),
        AlarmSpec(
            "UnhealthyTasks",
            "At least one task fails the load balancer's health check.",
            _across(
                groups, "Unhealthy tasks", lambda m: m.unhealthy_host_count(statistic="Maximum", period=ONE_MINUTE)
            ),
            0,
            GT,
            QUIET,
        ),
        AlarmSpec(
            "TargetErrorRate",
            f"More than {settings.target_5xx_percent}% of requests to the tasks end in a 5xx.",
            cloudwatch.MathExpression(
                expression="IF(requests > 0, 100 * errors / requests, 0)",
                using_metrics={"errors": target_5xx, "requests": target_requests},
                period=FIVE_MINUTES,
                label="Target 5xx %",
            ),
            settings.target_5xx_percent,
            GT,
            QUIET,
        ),
        AlarmSpec(
            "LoadBalancer5xxRate",
            f"More than {settings.load_balancer_5xx_percent}% of requests get a 5xx from the load balancer "
            "itself (no healthy target, timeouts, resets).",
            cloudwatch.MathExpression(
                # RequestCount leaves out requests for which no target could be chosen (the 503s of an
                # outage), so they are added back; FILL turns "no such error" into 0.
                expression=(
                    "IF(FILL(requests, 0) + FILL(errors, 0) > 0, "
                    "100 * FILL(errors, 0) / (FILL(requests, 0) + FILL(errors, 0)), 0)"
                ),
                using_metrics={"errors": balancer_5xx, "requests": requests},
                period=FIVE_MINUTES,
                label="Load balancer 5xx %",
            ),
            settings.load_balancer_5xx_percent,
            GT,
            QUIET,
        ),
        AlarmSpec(
            "TargetLatencyP99",
            f"The slowest 1% of requests take longer than {settings.target_p99_seconds} s in the service.",
            p99,
            settings.target_p99_seconds,
            GT,
            QUIET,
        ),
        AlarmSpec(
            "TaskCpuHigh",
            f"The service's CPU stays above {settings.task_cpu_percent}% (autoscaling is at its limit).",
            cpu,
            settings.task_cpu_percent,
            GT,
            # No tasks means no data, not low CPU; NoHealthyTasks and TasksBelowDesired page for that.
            QUIET,
        ),
        AlarmSpec(
            "TaskMemoryHigh",
            f"The service's memory stays above {settings.task_memory_percent}%.",
            memory,
            settings.task_memory_percent,
            GT,
            QUIET,  # as TaskCpuHigh
        ),
    ]
    widgets = [
        section("Load balancer (internal)"),
        cloudwatch.GraphWidget(title="ALB requests", left=[requests], width=6),
        cloudwatch.GraphWidget(
            title="ALB errors",
            left=[
                balancer_5xx,
                target_5xx,
                _across(
                    groups,
                    "Target 4xx",
                    lambda m: m.http_code_target(elbv2.HttpCodeTarget.TARGET_4XX_COUNT, period=FIVE_MINUTES),
                ),
            ],
            width=6,
        ),
        cloudwatch.GraphWidget(
            title="ALB latency",
            left=[
                _across(
                    groups, "Target p50", lambda m: m.target_response_time(statistic="p50", period=FIVE_MINUTES), "MAX"
                ),
                p99,
            ],
            width=6,
        ),
        cloudwatch.GraphWidget(
            title="ALB healthy / unhealthy tasks",
            left=[
                _across(groups, "Healthy tasks", lambda m: m.healthy_host_count()),
                _across(groups, "Unhealthy tasks", lambda m: m.unhealthy_host_count()),
            ],
            width=6,
        ),
        section("Storefront tasks (ECS)"),
        cloudwatch.GraphWidget(title="ECS CPU %", left=[cpu], width=8),
        cloudwatch.GraphWidget(title="ECS memory %", left=[memory], width=8),
    ]
    # Running and desired task counts exist only as Container Insights metrics (service.container_insights);
    # without them NoHealthyTasks and UnhealthyTasks still see a task that is missing or failing.
    if service.container_insights:
        missing_tasks = _missing_tasks(fargate)
        alarms.append(
            AlarmSpec(
                "TasksBelowDesired",
                "Fewer tasks run than ECS wants for five minutes: tasks crash or cannot start.",
                missing_tasks,
                0,
                GT,
                GONE,  # Container Insights reports every minute while the service exists
                periods=5,
            )
        )
        widgets.append(
            cloudwatch.GraphWidget(title="ECS tasks missing (desired - running)", left=[missing_tasks], width=8)
        )
    rules = [
        RuleSpec(
            "DeploymentFailed",
            "An ECS deployment of the storefront failed (the circuit breaker rolls it back)",
            events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Deployment State Change"],
                resources=[fargate.service_arn],
                detail={"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
            ),
        )
    ]
    return Tier(alarms, widgets, rules)


def _missing_tasks(fargate: ecs.FargateService) -> cloudwatch.MathExpression:
    """Tasks ECS wants but cannot keep running: desired minus running, from Container Insights."""
    return cloudwatch.MathExpression(
        expression="desired - running",
        using_metrics={
            "desired": _task_count(fargate, "DesiredTaskCount", "Maximum"),
            "running": _task_count(fargate, "RunningTaskCount", "Minimum"),
        },
        period=ONE_MINUTE,
        label="Missing tasks",
    )


def _task_count(fargate: ecs.FargateService, name: str, statistic: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace="ECS/ContainerInsights",
        metric_name=name,
        dimensions_map={"ClusterName": fargate.cluster.cluster_name, "ServiceName": fargate.service_name},
        statistic=statistic,
        period=ONE_MINUTE,
    )


def _across(
    groups: Sequence[elbv2.ApplicationTargetGroup],
    label: str,
    metric: Callable[[elbv2.IApplicationTargetGroupMetrics], cloudwatch.Metric],
    combine: str = "SUM",
) -> cloudwatch.IMetric:
    """A target group's metric, or its sum (or maximum) over every group: blue/green moves the live tasks
    from one group to the other, so one group's metric alone goes quiet, or to zero, after a release."""
    prefix = re.sub(r"\W", "", label.lower())  # CloudWatch ids: lower-case letter first, letters and digits
    metrics = {f"{prefix}{index}": metric(group.metrics) for index, group in enumerate(groups)}
    if len(metrics) == 1:
        return metrics[f"{prefix}0"]
    names = list(metrics)
    return cloudwatch.MathExpression(
        expression=" + ".join(f"FILL({name}, 0)" for name in names)
        if combine == "SUM"
        else f"MAX([{', '.join(names)}])",
        using_metrics=dict(metrics),
        period=metrics[names[0]].period,
        label=label,
    )
