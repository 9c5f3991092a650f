"""Monitoring of the Aurora cluster: capacity, memory, storage, connections, deadlocks, replica lag, and its
failover and credential-rotation events."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events

from infra.config import AlertSettings
from infra.database import Database
from infra.monitoring.tier import FIVE_MINUTES, GT, LT, MIB, QUIET, AlarmSpec, RuleSpec, Tier, section


def monitor_database(database: Database, settings: AlertSettings) -> Tier:
    """The cluster's saturation signals; the replica lag alarm is `reader_alarms`."""
    cluster = database.cluster
    cpu = cluster.metric_cpu_utilization(period=FIVE_MINUTES)
    alarms = [
        AlarmSpec(
            "DatabaseCpuHigh",
            f"Aurora CPU stays above {settings.database_cpu_percent}%.",
            cpu,
            settings.database_cpu_percent,
            GT,
            QUIET,  # a paused dev database reports nothing
        ),
        AlarmSpec(
            "DatabaseCapacityNearMax",
            f"Aurora uses more than {settings.database_acu_percent}% of its maximum ACUs: raise the maximum.",
            cluster.metric("ACUUtilization", statistic="Maximum", period=FIVE_MINUTES),
            settings.database_acu_percent,
            GT,
            QUIET,
        ),
        AlarmSpec(
            "DatabaseFreeableMemoryLow",
            f"Aurora has less than {settings.database_freeable_memory_mib} MiB of freeable memory.",
            cluster.metric_freeable_memory(statistic="Minimum", period=FIVE_MINUTES),
            settings.database_freeable_memory_mib * MIB,
            LT,
            QUIET,
        ),
        AlarmSpec(
            "DatabaseLocalStorageLow",
            f"Aurora has less than {settings.database_free_local_storage_mib} MiB of local (temp) storage.",
            cluster.metric_free_local_storage(statistic="Minimum", period=FIVE_MINUTES),
            settings.database_free_local_storage_mib * MIB,
            LT,
            QUIET,
        ),
        AlarmSpec(
            "DatabaseConnectionsHigh",
            f"More than {settings.database_connections} connections to Aurora.",
            cluster.metric_database_connections(statistic="Maximum", period=FIVE_MINUTES),
            settings.database_connections,
            GT,
            QUIET,
        ),
        AlarmSpec(
            "DatabaseDeadlocks",
            "Transactions deadlock in Aurora.",
            cluster.metric_deadlocks(statistic="Sum", period=FIVE_MINUTES),
            0,
            GT,
            QUIET,
            periods=1,
        ),
    ]
    # The graphs show averages, the alarms the extreme that matters (peak connections, lowest memory).
    widgets = [
        section("Database (Aurora)"),
        cloudwatch.GraphWidget(
            title="Aurora capacity (ACU) and utilization %",
            left=[cluster.metric("ServerlessDatabaseCapacity")],
            right=[cluster.metric("ACUUtilization")],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="Aurora CPU % and connections",
            left=[cpu],
            right=[cluster.metric_database_connections()],
            width=8,
        ),
        cloudwatch.GraphWidget(
            title="Aurora deadlocks and freeable memory",
            left=[cluster.metric_deadlocks()],
            right=[cluster.metric_freeable_memory()],
            width=8,
        ),
    ]
    rules = [
        RuleSpec(
            "RotationFailed",
            "Secrets Manager could not rotate the database credentials",
            events.EventPattern(
                source=["aws.secretsmanager"],
                detail_type=["AWS Service Event via CloudTrail"],
                detail={
                    "eventName": ["RotationFailed"],
                    "additionalEventData": {"SecretId": [database.secret.secret_arn]},
                },
            ),
        ),
        RuleSpec(
            "DatabaseEvents",
            "Aurora cluster failover, failure or storage events",
            events.EventPattern(
                source=["aws.rds"],
                detail_type=["RDS DB Cluster Event"],
                resources=[cluster.cluster_arn],
                detail={"EventCategories": ["failover", "failure", "notification"]},
            ),
        ),
    ]
    return Tier(alarms, widgets, rules)


def reader_alarms(database: Database, settings: AlertSettings) -> list[AlarmSpec]:
    """Replica lag, where the cluster has a reader to lag."""
    if not database.readers:
        return []
    return [
        AlarmSpec(
            "ReplicaLagHigh",
            f"The Aurora reader is more than {settings.replica_lag_ms} ms behind the writer.",
            database.cluster.metric("AuroraReplicaLagMaximum", statistic="Maximum", period=FIVE_MINUTES),
            settings.replica_lag_ms,
            GT,
            QUIET,
        )
    ]
