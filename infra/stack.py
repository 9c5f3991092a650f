"""TapStack: composes the platform's constructs, nothing else."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Environment, Fn, Stack, Tags
from aws_cdk import aws_backup as backup
from constructs import Construct

from infra.api import STAGE_NAME, PartnerApi
from infra.backup import DatabaseBackup
from infra.cfn import drop_provider_role_depends_on
from infra.compliance import acknowledge
from infra.config import Config
from infra.database import Database
from infra.edge import Edge
from infra.edge_guard import EdgeGuard
from infra.jobs import ScheduledJobs
from infra.keys import Keys
from infra.monitoring import Monitoring
from infra.network import Network
from infra.release import Release
from infra.service import LOG_STREAM_PREFIX, StorefrontService
from tapstack_cli import names

STOREFRONT_WEB = Path(__file__).resolve().parents[1] / "storefront" / "web"


class TapStack(Stack):
    """One deployment of the e-commerce platform, shaped by one validated Config."""

    @property
    def availability_zones(self) -> list[str]:
        """The configured zones (`network.availability_zones`, the REGIONS table by default), never a lookup.

        Once the account is known (the CDK CLI with credentials sets it), Stack's own answer is a context
        lookup of the account's zones, which `ec2.Vpc` reads to check the configured ones: synth would then
        need AWS calls and the bootstrap's lookup role, and write cdk.context.json. CDK's documented way to
        choose zones otherwise is to override this property.
        https://docs.aws.amazon.com/cdk/api/v2/python/aws_cdk/Stack.html#aws_cdk.Stack.availability_zones
        """
        return self._zones

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: Config,
        edge_guard: EdgeGuard | None = None,
        backup_copy_vault: backup.IBackupVault | None = None,
    ) -> None:
        super().__init__(
            scope,
            id,
            env=Environment(account=config.account, region=config.region),
            # Also inside a pipeline stage, where CDK would prefix the stage's name.
            stack_name=config.stack_name,
            description=f"TapStack e-commerce platform ({config.environment})",
            # The web ACL and certificate of a companion stack in us-east-1, and the backup copy vault of a
            # stack in another region, arrive by CDK's cross-region references.
            cross_region_references=edge_guard is not None or backup_copy_vault is not None,
        )
        self._zones = list(config.network.availability_zones)
        # What CDK acknowledges itself when its own lookup supplies the zones (Stack._silenceLiteralAzWarning).
        acknowledge(
            self,
            "CloudFormation-Validate::W3010",
            "The subnets' zones are this stack's availability_zones: per region, those where every service of "
            "the stack exists (infra/config.py REGIONS), or network.availability_zones.",
        )
        for name, value in config.tags.items():
            Tags.of(self).add(name, value)

        keys = Keys(self, "Keys", removal_policy=config.removal_policy)
        self.network = Network(
            self, "Network", settings=config.network, key=keys.key, removal_policy=config.removal_policy
        )
        self.database = Database(
            self,
            "Database",
            settings=config.database,
            vpc=self.network.vpc,
            key=keys.key,
            secret_removal_policy=config.removal_policy,
        )
        self.service = StorefrontService(
            self,
            "Service",
            settings=config.service,
            vpc=self.network.vpc,
            key=keys.key,
            database_secret=self.database.secret,
            database_endpoint=self.database.endpoint,
            database_name=self.database.database_name,
            removal_policy=config.removal_policy,
        )
        self.database.connections.allow_default_port_from(self.service.service, "storefront tasks")

        self.partner_api = PartnerApi(
            self,
            "Api",
            settings=config.api,
            key=keys.key,
            vpc=self.network.vpc,
            load_balancer=self.service.load_balancer,
            listener=self.service.listener,
            listener_port=self.service.listener_port,
            removal_policy=config.removal_policy,
        )

        self.edge = Edge(
            self,
            "Edge",
            settings=config.edge,
            key=keys.key,
            load_balancer=self.service.load_balancer,
            listener_port=self.service.listener_port,
            removal_policy=config.removal_policy,
            site_source=str(STOREFRONT_WEB),
            partner_origin=self.partner_api.cloudfront_origin,
            guard=edge_guard,
        )

        self.monitoring = Monitoring(
            self,
            "Monitoring",
            settings=config.alerts,
            key=keys.key,
            network=self.network,
            service=self.service,
            database=self.database,
            edge=self.edge,
            api=self.partner_api,
        )

        if config.service.release:
            self.release = Release(
                self,
                "ReleaseStep",
                settings=config.service,
                service=self.service,
                topic=self.monitoring.topic,
                key=keys.key,
                log_retention=config.service.log_retention,
                removal_policy=config.removal_policy,
                # The first release, on stack creation, needs the database and the routes out (image pull).
                ready=[
                    self.database,
                    *(subnet.internet_connectivity_established for subnet in self.network.vpc.private_subnets),
                ],
            )

        if config.active_jobs:
            self.jobs = ScheduledJobs(
                self,
                "ScheduledJobs",
                jobs=config.active_jobs,
                settings=config.service,
                service=self.service,
                topic=self.monitoring.topic,
                key=keys.key,
                log_retention=config.service.log_retention,
                removal_policy=config.removal_policy,
            )

        self.backup = DatabaseBackup(
            self,
            "Backup",
            settings=config.backup,
            key=keys.key,
            cluster=self.database.cluster,
            topic=self.monitoring.topic,
            copy_vault=backup_copy_vault,
        )

        CfnOutput(self, "ALBDNSName", value=self.service.load_balancer.load_balancer_dns_name)
        CfnOutput(self, "CloudFrontURL", value=f"https://{self.edge.domain_name}/")
        CfnOutput(self, "S3BucketName", value=self.edge.bucket.bucket_name)
        # Where partners call: the API's own endpoint, or the distribution (api.through_cloudfront).
        partner_url = (
            f"https://{self.edge.domain_name}/{STAGE_NAME}/"
            if config.api.through_cloudfront
            else self.partner_api.rest_api.url
        )
        CfnOutput(self, "APIGatewayURL", value=partner_url)
        # The key's id, never its value: `aws apigateway get-api-key --api-key <id> --include-value`.
        CfnOutput(self, "APIKey", value=self.partner_api.api_key.key_id)
        CfnOutput(self, "UsagePlanId", value=self.partner_api.usage_plan.usage_plan_id)
        CfnOutput(self, "DatabaseEndpoint", value=self.database.endpoint.hostname)
        CfnOutput(self, "DatabaseSecretArn", value=self.database.secret.secret_arn)
        CfnOutput(self, "AlertTopicArn", value=self.monitoring.topic.topic_arn)
        # A long-standing output, kept where the dashboard is off (alerts.dashboard) so that scripts still find it.
        dashboard = self.monitoring.dashboard
        CfnOutput(
            self, "DashboardName", value=dashboard.dashboard_name if dashboard else "none (alerts.dashboard is off)"
        )
        CfnOutput(self, "BackupVaultName", value=self.backup.vault.backup_vault_name)
        self._add_operator_outputs(config)
        # Last: every construct, and with them CDK's custom resource providers, exists by now.
        drop_provider_role_depends_on(self)

    def _add_operator_outputs(self, config: Config) -> None:
        """What the `tapstack` command line reads (docs/operations.md, Day 2): never asked of the operator."""
        service = self.service
        operator = {
            "ClusterName": service.cluster.cluster_name,
            "ServiceName": service.service.service_name,
            "ServiceLogGroup": service.log_group.log_group_name,
            "LogStreamPrefix": LOG_STREAM_PREFIX,
            "ContainerName": service.container.container_name,
            "TaskDefinitionFamily": service.task_definition.family,
            "TargetGroupArns": Fn.join(",", [group.target_group_arn for group in service.target_groups]),
            # Every stack of the profile with its region, in the order `tapstack destroy` deletes them.
            "Stacks": " ".join(
                str(ref)
                for ref in names.profile_stacks(
                    config.environment,
                    config.region,
                    config.backup.copy_region if config.backup.cross_region_copy else None,
                )
            ),
        }
        if service.exec_log_group is not None:
            operator["ExecLogGroup"] = service.exec_log_group.log_group_name
        for key, value in operator.items():
            CfnOutput(self, key, value=value)
