"""The VPC: public, private-with-egress and isolated subnets, NAT, gateway endpoints and flow logs."""

from __future__ import annotations

from aws_cdk import Aspects, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.cfn import cfn_resource
from infra.compliance import acknowledge
from infra.config import NetworkSettings
from infra.log_storage import EncryptedLogGroup


class Network(Construct):
    """A multi-AZ VPC in three tiers, so that only the front doors face the internet.

    - public: NAT gateways only (the load balancer is internal; CloudFront VPC origins need the
      internet gateway that public subnets bring).
    - private with egress: Fargate tasks, the internal load balancer, the rotation function.
    - isolated: Aurora, no route out at all.

    Endpoints: the S3 gateway endpoint is free and carries ECR image layers and S3 traffic off the
    NAT. No interface endpoints: each costs about 7.30 USD per AZ per month, more than the NAT
    data processing (0.045 USD/GB) of our control-plane calls (ECR API, Secrets Manager, CloudWatch)
    until roughly 160 GB a month per service per AZ.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: NetworkSettings,
        key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        nat_provider = (
            ec2.NatProvider.instance_v2(
                instance_type=ec2.InstanceType(settings.nat_instance_type),
                machine_image=ec2.MachineImage.latest_amazon_linux2023(cpu_type=ec2.AmazonLinuxCpuType.ARM_64),
                # The public subnets assign no public IPs by default; the NAT instance needs one.
                associate_public_ip_address=True,
                # Inbound only from the VPC (below), never from the internet.
                default_allowed_traffic=ec2.NatTrafficDirection.OUTBOUND_ONLY,
            )
            if settings.nat_instance_type
            else ec2.NatProvider.gateway()
        )
        self.vpc: ec2.IVpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(settings.cidr),
            availability_zones=list(settings.availability_zones),
            nat_gateways=settings.nat_gateways,
            nat_gateway_provider=nat_provider,
            restrict_default_security_group=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Public",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=24,
                    map_public_ip_on_launch=False,
                ),
                ec2.SubnetConfiguration(name="Private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20),
                ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24),
            ],
            gateway_endpoints={"S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)},
        )
        self._nat_provider = nat_provider
        for rule in ("PCI.DSS.321-VPCNoUnrestrictedRouteToIGW", "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW"):
            acknowledge(
                self.vpc,
                rule,
                "Only the public subnets route 0.0.0.0/0 to the internet gateway; they hold the NAT gateways "
                "and nothing else (no instance gets a public IP). CloudFront VPC origins also require an IGW.",
            )
        if isinstance(nat_provider, ec2.NatInstanceProviderV2):
            self._harden_nat_instances(nat_provider, settings.cidr)
        flow_log_group = EncryptedLogGroup(
            self, "FlowLogs", key=key, retention=settings.flow_log_retention, removal_policy=removal_policy
        )
        flow_log = self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        for rule in ("PCI.DSS.321-IAMNoInlinePolicy", "NIST.800.53.R5-IAMNoInlinePolicy"):
            acknowledge(
                flow_log,
                rule,
                "The flow log role's policy is written by CDK's grant to exactly this log group; an inline "
                "policy cannot be attached to any other principal, which is stricter than a managed one.",
            )

    @property
    def nat_gateway_ids(self) -> list[str]:
        """The NAT gateways' IDs, one per NAT subnet; none where NAT instances stand in for them."""
        if not isinstance(self._nat_provider, ec2.NatGatewayProvider):
            return []
        return [gateway.gateway_id for gateway in self._nat_provider.configured_gateways]

    @staticmethod
    def _harden_nat_instances(provider: ec2.NatInstanceProviderV2, cidr: str) -> None:
        """The NAT instance forwards the private subnets' traffic and nothing else."""
        provider.connections.allow_from(ec2.Peer.ipv4(cidr), ec2.Port.all_traffic(), "from the VPC")
        for rule in ("PCI.DSS.321-EC2RestrictedCommonPorts", "NIST.800.53.R5-EC2RestrictedCommonPorts"):
            acknowledge(
                provider.security_group,
                rule,
                "The only ingress is from the VPC's own CIDR (the private subnets' outbound traffic to NAT); "
                "nothing outside the VPC can reach the instance.",
            )
        for instance in provider.gateway_instances:
            # IMDSv2 only: no SSRF-style credential theft through the metadata service.
            Aspects.of(instance).add(ec2.InstanceRequireImdsv2Aspect())
            # The root volume holds only the AMI's operating system, but is encrypted all the same.
            cfn_resource(instance).add_property_override(
                "BlockDeviceMappings",
                [{"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": True, "VolumeType": "gp3", "VolumeSize": 8}}],
            )
            for rule, reason in (
                ("AwsSolutions-EC26", "The root volume is encrypted by the property override above (tested)."),
                (
                    "AwsSolutions-EC28",
                    "A dev-only NAT instance: 5-minute basic monitoring is enough; detailed monitoring costs more "
                    "than the instance.",
                ),
                (
                    "AwsSolutions-EC29",
                    "The NAT instance holds no state: replacing it loses nothing, so termination protection would "
                    "only block the stack's own updates.",
                ),
                ("PCI.DSS.321-EC2InstanceNoPublicIp", "A NAT instance needs a public address to reach the internet."),
                (
                    "PCI.DSS.321-EC2InstancesInVPC",
                    "The instance is in the VPC's public subnet through its network interface's SubnetId, which the "
                    "rule does not read.",
                ),
            ):
                acknowledge(instance, rule, reason)
                if rule.startswith("PCI.DSS.321-"):
                    # NIST 800-53 rev. 5 runs the same rule under its own name, for the same reason.
                    acknowledge(instance, rule.replace("PCI.DSS.321-", "NIST.800.53.R5-"), reason)
