"""Alerts that reach someone: the SNS topic, an alarm per failure mode of every tier, the composite
"shop is down" alarm, EventBridge rules for deployment, rotation and database events, and a dashboard.

Why plain aws-cdk-lib and not cdk-monitoring-constructs (evaluated at 10.3.3):
- it names every alarm and dashboard physically (a dashboard name prefix is required); our resources
  are CDK-named so two deployments fit in one account (seed D17);
- of the alarms this platform needs, it has built-ins for about half (ECS CPU/memory/tasks, Aurora
  CPU/capacity/connections, API latency); ALB and target 5xx rates, target p99, Aurora freeable memory,
  local storage, deadlocks and replica lag, and NAT port allocation would all be `monitor_custom`;
- its API is marked experimental, and the composite alarm and EventBridge rules are outside it anyway.
So the alarms are a table of L2 metrics below, each with its missing-data treatment stated, and the
dashboard uses the same metrics: one style, nothing hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

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


class Monitoring(Construct):
    """Every alarm notifies `topic` on ALARM and OK; `shop_is_down` is the one to page on."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: AlertSettings,
        key: kms.IKey,
        vpc: ec2.IVpc,
        load_balancer: elbv2.ApplicationLoadBalancer,
        target_group: elbv2.ApplicationTargetGroup,
        service: ecs.FargateService,
        database: rds.IDatabaseCluster,
        database_secret: secretsmanager.ISecret,
        database_readers: int,
        rest_api: apigateway.RestApi,
        api_web_acl: wafv2.CfnWebACL,
        distribution: cloudfront.IDistribution,
        edge_web_acl: wafv2.CfnWebACL,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)

        # CloudWatch alarms and EventBridge publish to an encrypted topic only if the key lets them
        # use it (seed D5). https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmsAndEventsToPublishToEncryptedTopics",
                principals=[
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    iam.ServicePrincipal("events.amazonaws.com"),
                ],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        self.topic = sns.Topic(self, "Alerts", master_key=key, enforce_ssl=True)
        if settings.email_address:
            self.topic.add_subscription(subscriptions.EmailSubscription(settings.email_address))

        target_metrics = target_group.metrics
        lb_metrics = load_balancer.metrics
        container_insights = {"ClusterName": service.cluster.cluster_name, "ServiceName": service.service_name}
        running_tasks = cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name="RunningTaskCount",
            dimensions_map=container_insights,
            statistic="Minimum",
            period=ONE_MINUTE,
        )
        desired_tasks = cloudwatch.Metric(
            namespace="ECS/ContainerInsights",
            metric_name="DesiredTaskCount",
            dimensions_map=container_insights,
            statistic="Maximum",
            period=ONE_MINUTE,
        )
        requests = target_metrics.request_count(period=FIVE_MINUTES)
        specs = [
            AlarmSpec(
                "NoHealthyTasks",
                "No task behind the load balancer passes its health check: the shop cannot answer.",
                target_metrics.healthy_host_count(statistic="Minimum", period=ONE_MINUTE),
                1,
                LT,
                GONE,  # the load balancer reports healthy hosts every minute; silence means it is gone
            ),
            AlarmSpec(
                "UnhealthyTasks",
                "At least one task fails the load balancer's health check.",
                target_metrics.unhealthy_host_count(statistic="Maximum", period=ONE_MINUTE),
                0,
                GT,
                QUIET,
            ),
            AlarmSpec(
                "TargetErrorRate",
                f"More than {settings.target_5xx_percent}% of requests to the tasks end in a 5xx.",
                cloudwatch.MathExpression(
                    expression="IF(requests > 0, 100 * errors / requests, 0)",
                    using_metrics={
                        "errors": target_metrics.http_code_target(
                            elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=FIVE_MINUTES
                        ),
                        "requests": requests,
                    },
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
                    using_metrics={
                        "errors": lb_metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT, period=FIVE_MINUTES),
                        "requests": lb_metrics.request_count(period=FIVE_MINUTES),
                    },
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
                target_metrics.target_response_time(statistic="p99", period=FIVE_MINUTES),
                settings.target_p99_seconds,
                GT,
                QUIET,
            ),
            AlarmSpec(
                "TaskCpuHigh",
                f"The service's CPU stays above {settings.task_cpu_percent}% (autoscaling is at its limit).",
                service.metric_cpu_utilization(period=FIVE_MINUTES),
                settings.task_cpu_percent,
                GT,
                QUIET,  # no tasks means no data; NoHealthyTasks and TasksBelowDesired catch that (seed D14)
            ),
            AlarmSpec(
                "TaskMemoryHigh",
                f"The service's memory stays above {settings.task_memory_percent}%.",
                service.metric_memory_utilization(period=FIVE_MINUTES),
                settings.task_memory_percent,
                GT,
                QUIET,  # as TaskCpuHigh (seed D14)
            ),
            AlarmSpec(
                "TasksBelowDesired",
                "Fewer tasks run than ECS wants for five minutes: tasks crash or cannot start.",
                cloudwatch.MathExpression(
                    expression="desired - running",
                    using_metrics={"desired": desired_tasks, "running": running_tasks},
                    period=ONE_MINUTE,
                    label="Missing tasks",
                ),
                0,
                GT,
                GONE,  # Container Insights reports every minute while the service exists
                periods=5,
            ),
            AlarmSpec(
                "DatabaseCpuHigh",
                f"Aurora CPU stays above {settings.database_cpu_percent}%.",
                database.metric_cpu_utilization(period=FIVE_MINUTES),
                settings.database_cpu_percent,
                GT,
                QUIET,  # a paused dev database reports nothing
            ),
            AlarmSpec(
                "DatabaseCapacityNearMax",
                f"Aurora uses more than {settings.database_acu_percent}% of its maximum ACUs: raise the maximum.",
                database.metric("ACUUtilization", statistic="Maximum", period=FIVE_MINUTES),
                settings.database_acu_percent,
                GT,
                QUIET,
            ),
            AlarmSpec(
                "DatabaseFreeableMemoryLow",
                f"Aurora has less than {settings.database_freeable_memory_mib} MiB of freeable memory.",
                database.metric_freeable_memory(statistic="Minimum", period=FIVE_MINUTES),
                settings.database_freeable_memory_mib * MIB,
                LT,
                QUIET,
            ),
            AlarmSpec(
                "DatabaseLocalStorageLow",
                f"Aurora has less than {settings.database_free_local_storage_mib} MiB of local (temp) storage.",
                database.metric_free_local_storage(statistic="Minimum", period=FIVE_MINUTES),
                settings.database_free_local_storage_mib * MIB,
                LT,
                QUIET,
            ),
            AlarmSpec(
                "DatabaseConnectionsHigh",
                f"More than {settings.database_connections} connections to Aurora.",
                database.metric_database_connections(statistic="Maximum", period=FIVE_MINUTES),
                settings.database_connections,
                GT,
                QUIET,
            ),
            AlarmSpec(
                "DatabaseDeadlocks",
                "Transactions deadlock in Aurora.",
                database.metric_deadlocks(statistic="Sum", period=FIVE_MINUTES),
                0,
                GT,
                QUIET,
                periods=1,
            ),
        ]
        specs += [
            AlarmSpec(
                "CloudFront5xxRate",
                f"More than {settings.cloudfront_5xx_percent}% of browser requests end in a 5xx at CloudFront.",
                _cloudfront_metric(distribution, "5xxErrorRate", "Average"),
                settings.cloudfront_5xx_percent,
                GT,
                QUIET,
            ),
            AlarmSpec(
                "EdgeWafBlockedSpike",
                f"The storefront's web ACL blocked more than {settings.waf_blocked_requests} requests in 5 minutes.",
                _waf_blocked_requests(edge_web_acl, region=None),
                settings.waf_blocked_requests,
                GT,
                QUIET,
                periods=1,
            ),
            AlarmSpec(
                "Api5xxRate",
                f"More than {settings.api_5xx_percent}% of partner API requests end in a 5xx.",
                # API Gateway's 5XXError averaged over requests is the error rate (0 to 1).
                rest_api.metric_server_error(statistic="Average", period=FIVE_MINUTES),
                settings.api_5xx_percent / 100,
                GT,
                QUIET,
            ),
            AlarmSpec(
                "Api4xxSpike",
                f"More than {settings.api_4xx_percent}% of partner API requests are rejected with a 4xx.",
                rest_api.metric_client_error(statistic="Average", period=FIVE_MINUTES),
                settings.api_4xx_percent / 100,
                GT,
                QUIET,
            ),
            AlarmSpec(
                "ApiLatencyP99",
                f"The slowest 1% of partner API requests take longer than {settings.api_p99_ms} ms.",
                rest_api.metric_latency(statistic="p99", period=FIVE_MINUTES),
                settings.api_p99_ms,
                GT,
                QUIET,
            ),
            AlarmSpec(
                "ApiWafBlockedSpike",
                f"The partner API's web ACL blocked more than {settings.waf_blocked_requests} requests in 5 minutes.",
                _waf_blocked_requests(api_web_acl, region=stack.region),
                settings.waf_blocked_requests,
                GT,
                QUIET,
                periods=1,
            ),
        ]
        if database_readers:
            specs.append(
                AlarmSpec(
                    "ReplicaLagHigh",
                    f"The Aurora reader is more than {settings.replica_lag_ms} ms behind the writer.",
                    database.metric("AuroraReplicaLagMaximum", statistic="Maximum", period=FIVE_MINUTES),
                    settings.replica_lag_ms,
                    GT,
                    QUIET,
                )
            )
        for index, subnet in enumerate(vpc.public_subnets):
            nat = subnet.node.try_find_child("NATGateway")
            if isinstance(nat, ec2.CfnNatGateway):
                specs.append(
                    AlarmSpec(
                        f"NatPortAllocationErrors{index + 1}",
                        "A NAT gateway cannot allocate source ports: outbound calls from the tasks fail.",
                        cloudwatch.Metric(
                            namespace="AWS/NATGateway",
                            metric_name="ErrorPortAllocation",
                            dimensions_map={"NatGatewayId": nat.ref},
                            statistic="Sum",
                            period=FIVE_MINUTES,
                        ),
                        0,
                        GT,
                        QUIET,
                        periods=1,
                    )
                )

        self.alarms: dict[str, cloudwatch.Alarm] = {spec.id: self._alarm(spec) for spec in specs}

        self.shop_is_down = cloudwatch.CompositeAlarm(
            self,
            "ShopIsDown",
            alarm_description="[ShopIsDown] No healthy storefront task, or both front doors answer 5xx.",
            alarm_rule=cloudwatch.AlarmRule.any_of(
                self._in_alarm("NoHealthyTasks"),
                cloudwatch.AlarmRule.all_of(self._in_alarm("CloudFront5xxRate"), self._in_alarm("Api5xxRate")),
            ),
        )
        self._notify(self.shop_is_down)

        self._event_rules(service=service, database=database, database_secret=database_secret)
        self.dashboard = self._dashboard(
            load_balancer=load_balancer,
            target_group=target_group,
            service=service,
            database=database,
            rest_api=rest_api,
            distribution=distribution,
        )

    def _in_alarm(self, alarm_id: str) -> cloudwatch.IAlarmRule:
        return cloudwatch.AlarmRule.from_alarm(self.alarms[alarm_id], cloudwatch.AlarmState.ALARM)

    def _alarm(self, spec: AlarmSpec) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            spec.id,
            # The id leads the description: notifications and docs/operations.md use it as the name.
            alarm_description=f"[{spec.id}] {spec.description}",
            metric=spec.metric,
            threshold=spec.threshold,
            comparison_operator=spec.comparison,
            evaluation_periods=spec.periods,
            datapoints_to_alarm=spec.periods,
            treat_missing_data=spec.missing_data,
        )
        self._notify(alarm)
        return alarm

    def _notify(self, alarm: cloudwatch.AlarmBase) -> None:
        """The topic hears when an alarm fires and when it clears."""
        action = cloudwatch_actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)

    def _event_rules(
        self, *, service: ecs.FargateService, database: rds.IDatabaseCluster, database_secret: secretsmanager.ISecret
    ) -> None:
        target = events_targets.SnsTopic(self.topic)
        events.Rule(
            self,
            "DeploymentFailed",
            description="An ECS deployment of the storefront failed (the circuit breaker rolls it back)",
            event_pattern=events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Deployment State Change"],
                resources=[service.service_arn],
                detail={"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
            ),
            targets=[target],
        )
        events.Rule(
            self,
            "RotationFailed",
            description="Secrets Manager could not rotate the database credentials",
            event_pattern=events.EventPattern(
                source=["aws.secretsmanager"],
                detail_type=["AWS Service Event via CloudTrail"],
                detail={
                    "eventName": ["RotationFailed"],
                    "additionalEventData": {"SecretId": [database_secret.secret_arn]},
                },
            ),
            targets=[target],
        )
        events.Rule(
            self,
            "DatabaseEvents",
            description="Aurora cluster failover, failure or storage events",
            event_pattern=events.EventPattern(
                source=["aws.rds"],
                detail_type=["RDS DB Cluster Event"],
                resources=[database.cluster_arn],
                detail={"EventCategories": ["failover", "failure", "notification"]},
            ),
            targets=[target],
        )

    def _dashboard(
        self,
        *,
        load_balancer: elbv2.ApplicationLoadBalancer,
        target_group: elbv2.ApplicationTargetGroup,
        service: ecs.FargateService,
        database: rds.IDatabaseCluster,
        rest_api: apigateway.RestApi,
        distribution: cloudfront.IDistribution,
    ) -> cloudwatch.Dashboard:
        """Golden signals per tier: requests, errors, latency, saturation (CDK-named, seed D17)."""
        dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(6))
        target = target_group.metrics
        dashboard.add_widgets(
            cloudwatch.TextWidget(markdown="## Browser front door (CloudFront)", width=24, height=1),
            cloudwatch.GraphWidget(
                title="CloudFront requests", left=[_cloudfront_metric(distribution, "Requests", "Sum")], width=6
            ),
            cloudwatch.GraphWidget(
                title="CloudFront 4xx / 5xx rate %",
                left=[
                    _cloudfront_metric(distribution, "4xxErrorRate", "Average"),
                    _cloudfront_metric(distribution, "5xxErrorRate", "Average"),
                ],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="CloudFront bytes downloaded",
                left=[_cloudfront_metric(distribution, "BytesDownloaded", "Sum")],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="Storefront WAF blocked requests", left=[self.alarms["EdgeWafBlockedSpike"].metric], width=6
            ),
            cloudwatch.TextWidget(markdown="## Partner API (API Gateway)", width=24, height=1),
            cloudwatch.GraphWidget(title="API requests", left=[rest_api.metric_count()], width=6),
            cloudwatch.GraphWidget(
                title="API 4xx / 5xx rate",
                left=[
                    rest_api.metric_client_error(statistic="Average"),
                    rest_api.metric_server_error(statistic="Average"),
                ],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="API latency",
                left=[rest_api.metric_latency(statistic=s) for s in ("p50", "p99")],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="API WAF blocked requests", left=[self.alarms["ApiWafBlockedSpike"].metric], width=6
            ),
            cloudwatch.TextWidget(markdown="## Load balancer (internal)", width=24, height=1),
            cloudwatch.GraphWidget(title="ALB requests", left=[load_balancer.metrics.request_count()], width=6),
            cloudwatch.GraphWidget(
                title="ALB errors",
                left=[
                    load_balancer.metrics.http_code_elb(elbv2.HttpCodeElb.ELB_5XX_COUNT),
                    target.http_code_target(elbv2.HttpCodeTarget.TARGET_5XX_COUNT),
                    target.http_code_target(elbv2.HttpCodeTarget.TARGET_4XX_COUNT),
                ],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="ALB latency",
                left=[target.target_response_time(statistic=s) for s in ("p50", "p99")],
                width=6,
            ),
            cloudwatch.GraphWidget(
                title="ALB healthy / unhealthy tasks",
                left=[target.healthy_host_count(), target.unhealthy_host_count()],
                width=6,
            ),
            cloudwatch.TextWidget(markdown="## Storefront tasks (ECS)", width=24, height=1),
            cloudwatch.GraphWidget(title="ECS CPU %", left=[service.metric_cpu_utilization()], width=8),
            cloudwatch.GraphWidget(title="ECS memory %", left=[service.metric_memory_utilization()], width=8),
            cloudwatch.GraphWidget(
                title="ECS tasks missing (desired - running)",
                left=[self.alarms["TasksBelowDesired"].metric],
                width=8,
            ),
            cloudwatch.TextWidget(markdown="## Database (Aurora)", width=24, height=1),
            cloudwatch.GraphWidget(
                title="Aurora capacity (ACU) and utilization %",
                left=[database.metric("ServerlessDatabaseCapacity")],
                right=[database.metric("ACUUtilization")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Aurora CPU % and connections",
                left=[database.metric_cpu_utilization()],
                right=[database.metric_database_connections()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Aurora deadlocks and freeable memory",
                left=[database.metric_deadlocks()],
                right=[database.metric_freeable_memory()],
                width=8,
            ),
        )
        return dashboard


def _waf_blocked_requests(web_acl: wafv2.CfnWebACL, *, region: str | None) -> cloudwatch.Metric:
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
