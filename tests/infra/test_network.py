"""infra/network.py: the VPC, its tiers, NAT, endpoints and flow logs."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from tests.synthesis import Synthesized


@pytest.mark.parametrize(("environment", "nat_count"), [("dev", 1), ("staging", 1), ("prod", 3)])
def test_nat_gateway_count_follows_the_profile(synth, environment: str, nat_count: int) -> None:  # type: ignore[no-untyped-def]
    """Prod has one NAT gateway per AZ so losing an AZ does not cut the others' egress."""
    synth(environment).template.resource_count_is("AWS::EC2::NatGateway", nat_count)


def test_vpc_spans_three_availability_zones(profile: Synthesized) -> None:
    """Three AZs for every tier: the database reader and the tasks can survive an AZ outage."""
    subnets = profile.of_type("AWS::EC2::Subnet").values()
    zones = {subnet["Properties"]["AvailabilityZone"] for subnet in subnets}
    assert len(zones) == 3
    assert len(subnets) == 9  # public, private, isolated in each zone


def test_public_subnets_assign_no_public_ip(profile: Synthesized) -> None:
    """PCI DSS 1.3.6: nothing launched in a subnet gets a public IP by default."""
    for subnet in profile.of_type("AWS::EC2::Subnet").values():
        assert subnet["Properties"].get("MapPublicIpOnLaunch") is False


def test_isolated_subnets_have_no_route_out(profile: Synthesized) -> None:
    """The database tier has no default route: no NAT, no internet gateway."""
    routes = profile.of_type("AWS::EC2::Route")
    isolated = [r for r in routes if "IsolatedSubnet" in r]
    assert isolated == []


def test_flow_logs_capture_all_traffic_to_an_encrypted_log_group(profile: Synthesized) -> None:
    """VPC flow logs (seed defect D13) go to a CloudWatch log group encrypted with our key."""
    profile.template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    flow_log = next(iter(profile.of_type("AWS::EC2::FlowLog").values()))
    group_id = flow_log["Properties"]["LogGroupName"]["Ref"]
    group = profile.resources[group_id]
    assert "KmsKeyId" in group["Properties"]
    assert group["Properties"]["RetentionInDays"] > 0


def test_default_security_group_is_restricted(profile: Synthesized) -> None:
    """AWS Foundational Security Best Practices EC2.2: the default security group allows no traffic."""
    profile.template.resource_count_is("Custom::VpcRestrictDefaultSG", 1)


def test_s3_gateway_endpoint_keeps_image_layers_off_the_nat(profile: Synthesized) -> None:
    """ECR image layers come from S3; the free gateway endpoint carries them instead of the NAT."""
    profile.template.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {"VpcEndpointType": "Gateway", "ServiceName": Match.object_like({"Fn::Join": Match.any_value()})},
    )


def test_no_security_group_admits_the_whole_internet(profile: Synthesized) -> None:
    """No ingress from 0.0.0.0/0 or ::/0 anywhere: DESIGN.md allows none (seed defect D10)."""
    open_rules = []
    for logical_id, resource in profile.resources.items():
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            rules = resource["Properties"].get("SecurityGroupIngress", [])
        elif resource["Type"] == "AWS::EC2::SecurityGroupIngress":
            rules = [resource["Properties"]]
        else:
            continue
        open_rules += [
            logical_id for rule in rules if rule.get("CidrIp") == "0.0.0.0/0" or rule.get("CidrIpv6") == "::/0"
        ]
    assert open_rules == []
