"""Where alarms go: the encrypted alert topic, and an alarm that tells it when it fires and clears."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.config import AlertSettings
from infra.monitoring.tier import AlarmSpec


def alert_topic(scope: Construct, settings: AlertSettings, key: kms.IKey) -> sns.Topic:
    """The topic ("Alerts") alarms and EventBridge rules publish to, encrypted with `key`."""
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
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(scope).account}},
        )
    )
    topic = sns.Topic(scope, "Alerts", master_key=key, enforce_ssl=True)
    if settings.email_address:
        topic.add_subscription(subscriptions.EmailSubscription(settings.email_address))
    return topic


def alarm(scope: Construct, spec: AlarmSpec, topic: sns.ITopic) -> cloudwatch.Alarm:
    """The alarm of one spec row, notifying `topic`."""
    created = cloudwatch.Alarm(
        scope,
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
    notify(created, topic)
    return created


def notify(alarm: cloudwatch.AlarmBase, topic: sns.ITopic) -> None:
    """The topic hears when an alarm fires and when it clears."""
    action = cloudwatch_actions.SnsAction(topic)
    alarm.add_alarm_action(action)
    alarm.add_ok_action(action)
