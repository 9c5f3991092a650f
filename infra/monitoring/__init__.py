"""Alerts that reach someone: the SNS topic, an alarm per failure mode of every tier, the composite
"shop is down" alarm, EventBridge rules for deployment, rotation and database events, and a dashboard.

Each tier module (service, database, edge, api, network) defines its metrics once and builds both its
alarm specs and its dashboard widgets from them; `Monitoring` turns those into resources.

Why plain aws-cdk-lib and not cdk-monitoring-constructs (evaluated at 10.3.3):
- it names every alarm and dashboard physically (a dashboard name prefix is required); our resources
  are CDK-named so two deployments fit in one account;
- of the alarms this platform needs, it has built-ins for about half (ECS CPU/memory/tasks, Aurora
  CPU/capacity/connections, API latency); ALB and target 5xx rates, target p99, Aurora freeable memory,
  local storage, deadlocks and replica lag, and NAT port allocation would all be `monitor_custom`;
- its API is marked experimental, and the composite alarm and EventBridge rules are outside it anyway.
So we borrow its shape (one module per tier, a thin facade) and keep every alarm a row of L2 metrics
with its missing-data treatment stated.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.api import PartnerApi
from infra.config import AlertSettings
from infra.database import Database
from infra.edge import Edge
from infra.monitoring.api import monitor_api
from infra.monitoring.database import monitor_database, reader_alarms
from infra.monitoring.edge import monitor_edge
from infra.monitoring.network import monitor_network
from infra.monitoring.service import monitor_service
from infra.monitoring.tier import AlarmSpec, RuleSpec
from infra.network import Network
from infra.service import StorefrontService

__all__ = ["AlarmSpec", "Monitoring"]


class Monitoring(Construct):
    """Every alarm notifies `topic` on ALARM and OK; `shop_is_down` is the one to page on."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: AlertSettings,
        key: kms.IKey,
        network: Network,
        service: StorefrontService,
        database: Database,
        edge: Edge,
        api: PartnerApi,
    ) -> None:
        super().__init__(scope, id)
        self.topic = self._topic(settings, key)

        service_tier = monitor_service(service, settings)
        database_tier = monitor_database(database, settings)
        edge_tier = monitor_edge(edge, settings)
        api_tier = monitor_api(api, settings)
        network_tier = monitor_network(network)
        # Creation order is the order of resources in the template: the replica alarm stays after the front
        # doors, where deployed templates have it, so that their diffs show only real changes.
        specs = [
            *service_tier.alarms,
            *database_tier.alarms,
            *edge_tier.alarms,
            *api_tier.alarms,
            *reader_alarms(database, settings),
            *network_tier.alarms,
        ]
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

        for rule in (*service_tier.rules, *database_tier.rules):
            self._rule(rule)

        # Golden signals per tier (requests, errors, latency, saturation), in the order a request travels.
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(6))
        self.dashboard.add_widgets(
            *edge_tier.widgets,
            *api_tier.widgets,
            *service_tier.widgets,
            *database_tier.widgets,
        )

    def _topic(self, settings: AlertSettings, key: kms.IKey) -> sns.Topic:
        # CloudWatch alarms and EventBridge publish to an encrypted topic only if the key lets them use it.
        # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmsAndEventsToPublishToEncryptedTopics",
                principals=[
                    iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                    iam.ServicePrincipal("events.amazonaws.com"),
                ],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            )
        )
        topic = sns.Topic(self, "Alerts", master_key=key, enforce_ssl=True)
        if settings.email_address:
            topic.add_subscription(subscriptions.EmailSubscription(settings.email_address))
        return topic

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

    def _rule(self, spec: RuleSpec) -> events.Rule:
        return events.Rule(
            self,
            spec.id,
            description=spec.description,
            event_pattern=spec.pattern,
            targets=[events_targets.SnsTopic(self.topic)],
        )
