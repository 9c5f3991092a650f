"""Monitoring of the network: one port-allocation alarm per NAT gateway."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch

from infra.monitoring.tier import FIVE_MINUTES, GT, QUIET, AlarmSpec, Tier
from infra.network import Network


def monitor_network(network: Network) -> Tier:
    """NAT gateways that run out of source ports; NAT instances publish no such metric."""
    alarms = [
        AlarmSpec(
            f"NatPortAllocationErrors{number}",
            "A NAT gateway cannot allocate source ports: outbound calls from the tasks fail.",
            cloudwatch.Metric(
                namespace="AWS/NATGateway",
                metric_name="ErrorPortAllocation",
                dimensions_map={"NatGatewayId": gateway_id},
                statistic="Sum",
                period=FIVE_MINUTES,
            ),
            0,
            GT,
            QUIET,
            periods=1,
        )
        for number, gateway_id in enumerate(network.nat_gateway_ids, start=1)
    ]
    return Tier(alarms)
