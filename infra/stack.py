"""TapStack: composes the platform's constructs, nothing else."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnOutput, Environment, Stack, Tags
from aws_cdk import aws_backup as backup
from constructs import Construct

from infra.api import PartnerApi
from infra.backup import DatabaseBackup
from infra.cfn import drop_provider_role_depends_on
from infra.config import Config
from infra.database import Database
from infra.edge import Edge
from infra.edge_guard import EdgeGuard
from infra.jobs import ScheduledJobs
from infra.keys import Keys
from infra.monitoring import Monitoring
from infra.network import Network
from infra.release import Release
from infra.service import StorefrontService

STOREFRONT_WEB = Path(__file__).resolve().parents[1] / "storefront" / "web"


class TapStack(Stack):
    """One deployment of the e-commerce platform, shaped by one validated Config."""

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

        self.edge = Edge(
            self,
            "Edge",
            settings=config.edge,
            key=keys.key,
            load_balancer=self.service.load_balancer,
            listener_port=self.service.listener_port,
            removal_policy=config.removal_policy,
            site_source=str(STOREFRONT_WEB),
            guard=edge_guard,
        )
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
        CfnOutput(self, "APIGatewayURL", value=self.partner_api.rest_api.url)
        # The key's id, never its value: `aws apigateway get-api-key --api-key <id> --include-value`.
        CfnOutput(self, "APIKey", value=self.partner_api.api_key.key_id)
        CfnOutput(self, "UsagePlanId", value=self.partner_api.usage_plan.usage_plan_id)
        CfnOutput(self, "DatabaseEndpoint", value=self.database.endpoint.hostname)
        CfnOutput(self, "DatabaseSecretArn", value=self.database.secret.secret_arn)
        CfnOutput(self, "AlertTopicArn", value=self.monitoring.topic.topic_arn)
        CfnOutput(self, "DashboardName", value=self.monitoring.dashboard.dashboard_name)
        CfnOutput(self, "BackupVaultName", value=self.backup.vault.backup_vault_name)
        # Last: every construct, and with them CDK's custom resource providers, exists by now.
        drop_provider_role_depends_on(self)
