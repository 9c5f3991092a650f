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
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.api import PartnerApi
from infra.config import EDGE_REGION, AlertSettings
from infra.database import Database
from infra.edge import Edge
from infra.monitoring.alerting import alarm, alert_topic, notify
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
        self.topic = alert_topic(self, settings, key)

        service_tier = monitor_service(service, settings)
        database_tier = monitor_database(database, settings)
        edge_tier = monitor_edge(edge, settings)
        api_tier = monitor_api(api, settings)
        network_tier = monitor_network(network)
        # Creation order is the order of resources in the template: the replica alarm stays after the front
        # doors, where deployed templates have it, so that their diffs show only real changes.
        # An alarm watches metrics of its own region only, and CloudFront's are in us-east-1: elsewhere
        # the edge's alarms are in the companion stack there (EdgeAlarmsStack), on its own topic.
        edge_alarms_here = Stack.of(self).region == EDGE_REGION
        specs = [
            *service_tier.alarms,
            *database_tier.alarms,
            *(edge_tier.alarms if edge_alarms_here else ()),
            *api_tier.alarms,
            *reader_alarms(database, settings),
            *network_tier.alarms,
        ]
        self.alarms: dict[str, cloudwatch.Alarm] = {spec.id: alarm(self, spec, self.topic) for spec in specs}

        # Both front doors failing: CloudFront's 5xx where its alarm is here, else the load balancer's that
        # both front doors go through.
        browser_door = "CloudFront5xxRate" if edge_alarms_here else "LoadBalancer5xxRate"
        self.shop_is_down = cloudwatch.CompositeAlarm(
            self,
            "ShopIsDown",
            alarm_description="[ShopIsDown] No healthy storefront task, or both front doors answer 5xx.",
            alarm_rule=cloudwatch.AlarmRule.any_of(
                self._in_alarm("NoHealthyTasks"),
                cloudwatch.AlarmRule.all_of(self._in_alarm(browser_door), self._in_alarm("Api5xxRate")),
            ),
        )
        notify(self.shop_is_down, self.topic)

        for rule in (*service_tier.rules, *database_tier.rules):
            self._rule(rule)

        # Golden signals per tier (requests, errors, latency, saturation), in the order a request travels.
        # (alerts.dashboard: off where 3 USD a month matters more than the view, e.g. previews).
        self.dashboard = (
            cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(6)) if settings.dashboard else None
        )
        if self.dashboard is not None:
            self.dashboard.add_widgets(
                *edge_tier.widgets,
                *api_tier.widgets,
                *service_tier.widgets,
                *database_tier.widgets,
            )

    def _in_alarm(self, alarm_id: str) -> cloudwatch.IAlarmRule:
        return cloudwatch.AlarmRule.from_alarm(self.alarms[alarm_id], cloudwatch.AlarmState.ALARM)

    def _rule(self, spec: RuleSpec) -> events.Rule:
        return events.Rule(
            self,
            spec.id,
            description=spec.description,
            event_pattern=spec.pattern,
            targets=[events_targets.SnsTopic(self.topic)],
        )
