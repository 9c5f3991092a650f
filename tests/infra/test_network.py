"""infra/network.py: the VPC, its tiers, NAT, endpoints and flow logs."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from tests.synthesis import Synthesized


@pytest.mark.parametrize(("environment", "gateways", "instances"), [("dev", 0, 1), ("staging", 1, 0), ("prod", 3, 0)])
def test_nat_follows_the_profile(synth, environment: str, gateways: int, instances: int) -> None:  # type: ignore[no-untyped-def]
    """Prod has one NAT gateway per AZ so losing an AZ does not cut the others' egress; dev uses one
    t4g.nano NAT instance (about 7 USD/month instead of 37 for a gateway and its address)."""
    synthesized = synth(environment)
    synthesized.template.resource_count_is("AWS::EC2::NatGateway", gateways)
    synthesized.template.resource_count_is("AWS::EC2::Instance", instances)


def test_dev_nat_instance_is_hardened(dev: Synthesized) -> None:
    """EC2 IMDSv2 only (no credential theft through the metadata service), encrypted root volume, and
    ingress only from the VPC's own CIDR (never 0.0.0.0/0)."""
    (instance,) = dev.of_type("AWS::EC2::Instance").values()
    properties = instance["Properties"]
    assert properties["InstanceType"] == "t4g.nano"
    assert properties["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    template_id = properties["LaunchTemplate"]["Version"]["Fn::GetAtt"][0]
    options = dev.resources[template_id]["Properties"]["LaunchTemplateData"]["MetadataOptions"]
    assert options["HttpTokens"] == "required"
    (group,) = [
        g for k, g in dev.of_type("AWS::EC2::SecurityGroup").items() if k.startswith("NetworkVpcNatSecurityGroup")
    ]
    assert [rule["CidrIp"] for rule in group["Properties"]["SecurityGroupIngress"]] == ["10.10.0.0/16"]


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
    """VPC flow logs go to a CloudWatch log group encrypted with our key."""
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
    """AWS Foundational Security Best Practices EC2.2 and NIST.800.53.R5-VPCDefaultSecurityGroupClosed (which
    looks for this custom resource beside the VPC): the default security group allows no traffic."""
    profile.template.resource_count_is("Custom::VpcRestrictDefaultSG", 1)


def test_s3_gateway_endpoint_keeps_image_layers_off_the_nat(profile: Synthesized) -> None:
    """ECR image layers come from S3; the free gateway endpoint carries them instead of the NAT."""
    profile.template.has_resource_properties(
        "AWS::EC2::VPCEndpoint",
        {"VpcEndpointType": "Gateway", "ServiceName": Match.object_like({"Fn::Join": Match.any_value()})},
    )


def test_no_security_group_admits_the_whole_internet(profile: Synthesized) -> None:
    """No ingress from 0.0.0.0/0 or ::/0 anywhere: only the front doors may be reached."""
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
