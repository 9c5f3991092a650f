"""How a release reaches the storefront's tasks: the routing its deployment strategy needs, and the
deployment alarms that make ECS roll back a release that is healthy but serves errors or is slow.

ROLLING: one target group behind the listener rule; ECS replaces tasks in place.
BLUE_GREEN (ECS native): the rule forwards to two target groups by weight; ECS starts the new tasks in
the idle one, moves the weights, keeps the old tasks for the bake time and moves them back on an alarm.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from infra.cfn import cfn_resource
from infra.compliance import acknowledge
from infra.config import ServiceSettings

# One-minute periods, two bad minutes of three: a bad release is caught within the bake time, one slow
# request is not.
PERIOD = Duration.minutes(1)
EVALUATION_PERIODS = 3
DATAPOINTS_TO_ALARM = 2


def route_releases(
    scope: Construct,
    *,
    settings: ServiceSettings,
    service: ecs.FargateService,
    container_name: str,
    container_port: int,
    vpc: ec2.IVpc,
    listener: elbv2.ApplicationListener,
    target_group: elbv2.ApplicationTargetGroup,
    health_check: elbv2.HealthCheck | None,
    deregistration_delay: Duration,
    priority: int,
    conditions: Sequence[elbv2.ListenerCondition],
) -> tuple[elbv2.ApplicationTargetGroup, ...]:
    """The listener rule to the service's target group(s) and the service attached; every target group."""
    if settings.deployment_strategy is not ecs.DeploymentStrategy.BLUE_GREEN:
        listener.add_target_groups("Storefront", priority=priority, conditions=conditions, target_groups=[target_group])
        target_group.add_target(service)
        return (target_group,)
    # The green twin of the target group: same port, health check and draining, on the same listener
    # rule, so the new tasks are reached exactly like the old ones and no security group opens wider.
    alternate = elbv2.ApplicationTargetGroup(
        scope,
        "AlternateTargets",
        vpc=vpc,
        port=container_port,
        protocol=elbv2.ApplicationProtocol.HTTP,
        target_type=elbv2.TargetType.IP,
        deregistration_delay=deregistration_delay,
        health_check=health_check,
    )
    # ECS owns the weights after the first deployment; this is the starting point (all on the first group).
    rule = elbv2.ApplicationListenerRule(
        listener,
        "StorefrontRule",
        listener=listener,
        priority=priority,
        conditions=list(conditions),
        action=elbv2.ListenerAction.weighted_forward(
            [
                elbv2.WeightedTargetGroup(target_group=target_group, weight=100),
                elbv2.WeightedTargetGroup(target_group=alternate, weight=0),
            ]
        ),
    )
    service.load_balancer_target(
        container_name=container_name,
        container_port=container_port,
        alternate_target=ecs.AlternateTarget(
            "Alternate",
            alternate_target_group=alternate,
            production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(rule),
        ),
    ).attach_to_application_target_group(target_group)
    # CDK renders DependsOn on the rule beside the Ref to it in AdvancedConfiguration (cfn-lint W3005).
    cfn_resource(service).add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})
    acknowledge(
        service,
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers]",
        "The role ECS assumes to move the listener rule's weights and register tasks during a blue/green "
        "deployment; AWS maintains this policy for exactly that and adds actions when ECS needs them.",
    )
    return (target_group, alternate)


def scale_on_requests(
    scaling: ecs.ScalableTaskCount, policy_id: str, *, target_groups: Sequence[elbv2.ApplicationTargetGroup]
) -> None:
    """With blue/green, track requests per task summed over both target groups: after a deployment the
    live traffic is on either, and the idle group's missing data would stop scale-in for good.

    L1 override: the L2 target-tracking policy takes one metric, not metric math.
    https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking-metric-math.html
    """
    if len(target_groups) == 1:
        return
    metrics: list[dict[str, object]] = [
        {
            "Id": f"r{index}",
            "ReturnData": False,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/ApplicationELB",
                    "MetricName": "RequestCountPerTarget",
                    "Dimensions": [{"Name": "TargetGroup", "Value": group.target_group_full_name}],
                },
                "Stat": "Sum",
            },
        }
        for index, group in enumerate(target_groups)
    ]
    metrics.append(
        {
            "Id": "requests",
            "Label": "Requests per task, all target groups",
            "Expression": " + ".join(f"FILL(r{index}, 0)" for index in range(len(target_groups))),
            "ReturnData": True,
        }
    )
    (policy,) = (child for child in scaling.node.find_all() if child.node.id == policy_id)
    resource = policy.node.default_child
    assert isinstance(resource, autoscaling.CfnScalingPolicy)
    configuration = "TargetTrackingScalingPolicyConfiguration"
    resource.add_property_deletion_override(f"{configuration}.PredefinedMetricSpecification")
    resource.add_property_override(f"{configuration}.CustomizedMetricSpecification", {"Metrics": metrics})


class DeploymentAlarms(Construct):
    """Target 5xx rate and p99 latency over every target group of the service, wired as ECS deployment
    alarms with ROLLBACK_ON_ALARM. Missing data is not breaching: an idle service has no requests.

    Over every target group because blue/green alternates them: the live traffic is on either.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: ServiceSettings,
        service: ecs.FargateService,
        target_groups: Sequence[elbv2.ApplicationTargetGroup],
    ) -> None:
        super().__init__(scope, id)
        errors = {
            f"e{i}": group.metrics.http_code_target(
                elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=PERIOD, statistic="Sum"
            )
            for i, group in enumerate(target_groups)
        }
        requests = {
            f"r{i}": group.metrics.request_count(period=PERIOD, statistic="Sum")
            for i, group in enumerate(target_groups)
        }
        total_errors = " + ".join(f"FILL({name}, 0)" for name in errors)
        total_requests = " + ".join(f"FILL({name}, 0)" for name in requests)
        error_rate = cloudwatch.MathExpression(
            # Below the minimum traffic the rate says nothing (one failed request of two is 50 %).
            expression=(
                f"IF(({total_requests}) >= {settings.deployment_min_requests}, "
                f"100 * ({total_errors}) / ({total_requests}), 0)"
            ),
            using_metrics={**errors, **requests},
            label="Target 5xx (% of requests)",
            period=PERIOD,
        )
        latencies = {
            f"l{i}": group.metrics.target_response_time(period=PERIOD, statistic="p99")
            for i, group in enumerate(target_groups)
        }
        latency: cloudwatch.IMetric = (
            cloudwatch.MathExpression(
                expression=f"MAX([{', '.join(latencies)}])",
                using_metrics=latencies,
                label="Target response time p99 (s)",
                period=PERIOD,
            )
            if len(latencies) > 1
            else latencies["l0"]
        )
        self.error_rate = self._alarm(
            "Target5xxRate",
            error_rate,
            settings.deployment_5xx_percent,
            f"Release rollback: targets answered more than {settings.deployment_5xx_percent} % 5xx",
        )
        self.latency = self._alarm(
            "TargetP99Latency",
            latency,
            settings.deployment_p99_seconds,
            f"Release rollback: target p99 response time above {settings.deployment_p99_seconds} s",
        )
        self.alarms = (self.error_rate, self.latency)
        # By their literal names (CDK's documented way), not `alarm.alarm_name`: that is a Ref to the alarm,
        # for which CDK prints a possible dependency cycle with the service on every synth. There is none
        # (the alarms read only target-group metrics); the explicit dependency keeps them created first.
        service.enable_deployment_alarms(
            [self._name(alarm.node.id) for alarm in self.alarms], behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM
        )
        for alarm in self.alarms:
            service.node.add_dependency(alarm)

    def _name(self, id: str) -> str:
        return f"{Stack.of(self).stack_name}-release-{id}"

    def _alarm(self, id: str, metric: cloudwatch.IMetric, threshold: float, description: str) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            id,
            # Named from the stack's name, so that the service can list it by a literal name (below).
            alarm_name=self._name(id),
            metric=metric,
            threshold=threshold,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=EVALUATION_PERIODS,
            datapoints_to_alarm=DATAPOINTS_TO_ALARM,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        acknowledge(
            alarm,
            "NIST.800.53.R5-CloudWatchAlarmAction",
            "ECS acts on this alarm: it rolls the deployment back. The rollback reaches the alert topic through "
            "the DeploymentFailed event rule, and the standing alarms watch the same metrics with actions.",
        )
        return alarm
