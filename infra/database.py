"""Aurora PostgreSQL Serverless v2: the cluster, its credentials and their rotation, backups, logs."""

from __future__ import annotations

import jsii
from aws_cdk import App, Aspects, Duration, IAspect, Names, RemovalPolicy, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct, IConstruct

from infra.cfn import cfn_resource, drop_redundant_depends_on
from infra.compliance import acknowledge
from infra.config import DatabaseSettings
from infra.log_storage import EncryptedLogGroup
from tapstack_cli import limits

# Aurora PostgreSQL 17.9: a current minor that Aurora can create (cfn-lint W3690 lists retired ones, such
# as 15.3) and that supports 0-ACU auto-pause (16.3+ / 17.x).
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraPostgreSQLReleaseNotes/aurorapostgresql-release-calendar.html
ENGINE = rds.DatabaseClusterEngine.aurora_postgres(version=rds.AuroraPostgresEngineVersion.VER_17_9)
PORT = 5432
MASTER_USERNAME = "storefront_admin"
# Characters that break connection strings or shells are left out of the password.
EXCLUDED_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\"


@jsii.implements(IAspect)
class _NumericPort:
    """Security group rules to the cluster carry its port as a number, not as the GetAtt of its endpoint
    port that CDK writes (`connections.default_port`): the compliance rules on open database and SSH
    ports cannot read a token, and a reviewer reads a number."""

    def __init__(self, port: int) -> None:
        self.port = port

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, ec2.CfnSecurityGroupIngress) and Token.is_unresolved(node.from_port):
            node.from_port = self.port
            node.to_port = self.port


def stack_relative_unique_id(construct: IConstruct) -> str:
    """`Names.unique_id` of the construct as if its stack were at the app's root, as `make deploy` builds it.

    Inside a pipeline stage the full path also holds the pipeline's and the stage's ids: a name made from
    it differs from the one `make deploy` gave the same stack, and CloudFormation would replace the resource.
    """
    stack = Stack.of(construct)
    mirror: Construct = Construct(App(), stack.node.id)
    for scope in construct.node.scopes[construct.node.scopes.index(stack) + 1 :]:
        mirror = Construct(mirror, scope.node.id)
    return Names.unique_id(mirror)


def _name_secret_from_its_stack(secret: IConstruct) -> None:
    """CDK gives the generated secret the logical ID `Names.unique_id(secret)` + a hash of its password rules:
    from the full construct path. Pinned to the stack-relative path, so that the pipeline's stage updates
    the secret `make deploy` created instead of replacing it (a new password, the old secret retained)."""
    resource = cfn_resource(secret)
    stack = Stack.of(secret)
    logical_id = str(stack.resolve(resource.logical_id))
    full = Names.unique_id(secret)
    if logical_id.startswith(full):
        resource.override_logical_id(stack_relative_unique_id(secret) + logical_id[len(full) :])


class Database(Construct):
    """The storefront's database, reachable only from security groups that are let in via `connections`.

    Credentials live in a generated Secrets Manager secret (encrypted with our key) that the hosted
    single-user rotation function changes every `rotation_days`; the service reads the secret by ARN
    and re-reads it when PostgreSQL rejects the password (docs/database.md).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: DatabaseSettings,
        vpc: ec2.IVpc,
        key: kms.IKey,
        secret_removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        zones = vpc.availability_zones

        # The cluster's identifier is named so that its PostgreSQL log group can exist, encrypted and
        # with a retention, before RDS first writes to it (RDS would create it unencrypted otherwise).
        # It contains the stack name, so every deployment still gets its own.
        # https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.CloudWatch.html
        cluster_identifier = limits.cluster_identifier(stack.stack_name)
        log_group = EncryptedLogGroup(
            self,
            "PostgresLogs",
            log_group_name=limits.postgres_log_group(cluster_identifier),
            key=key,
            retention=settings.log_retention,
            removal_policy=secret_removal_policy,
        )

        parameter_group = rds.ParameterGroup(
            self,
            "ClusterParameters",
            engine=ENGINE,
            description="TLS only; slow statements logged",
            parameters={
                # Refuse unencrypted connections: the service and the rotation function connect with TLS.
                "rds.force_ssl": "1",
                "log_min_duration_statement": "1000",
            },
        )

        def instance_props(zone: str) -> dict[str, object]:
            return {
                "availability_zone": zone,
                "publicly_accessible": False,
                "enable_performance_insights": settings.performance_insights,
                **(
                    {
                        "performance_insight_encryption_key": key,
                        # 7 days is the free tier of Performance Insights.
                        "performance_insight_retention": rds.PerformanceInsightRetention.DEFAULT,
                    }
                    if settings.performance_insights
                    else {}
                ),
            }

        common: dict[str, object] = {
            "engine": ENGINE,
            "cluster_identifier": cluster_identifier,
            "port": PORT,
            "vpc": vpc,
            "vpc_subnets": ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            "writer": rds.ClusterInstance.serverless_v2("Writer", **instance_props(zones[0])),  # type: ignore[arg-type]
            "readers": [
                rds.ClusterInstance.serverless_v2(
                    f"Reader{index + 1}",
                    scale_with_writer=True,
                    **instance_props(zones[index + 1]),  # type: ignore[arg-type]
                )
                for index in range(settings.readers)
            ],
            "serverless_v2_min_capacity": settings.min_capacity,
            "serverless_v2_max_capacity": settings.max_capacity,
            "serverless_v2_auto_pause_duration": (
                Duration.minutes(settings.auto_pause_minutes) if settings.min_capacity == 0 else None
            ),
            "storage_encrypted": True,
            "storage_encryption_key": key,
            "iam_authentication": True,
            "parameter_group": parameter_group,
            "cloudwatch_logs_exports": ["postgresql"],
            "backup": rds.BackupProps(
                retention=Duration.days(settings.backup_retention_days),
                preferred_window="03:00-04:00",
            ),
            "preferred_maintenance_window": "Sun:04:30-Sun:05:30",
            "copy_tags_to_snapshot": True,
            # Per-instance OS metrics (processes, memory, I/O) into CloudWatch Logs' RDSOSMetrics.
            "monitoring_interval": (
                Duration.seconds(settings.enhanced_monitoring_seconds) if settings.enhanced_monitoring_seconds else None
            ),
            "deletion_protection": settings.deletion_protection,
            "removal_policy": settings.removal_policy,
        }
        cluster: rds.DatabaseCluster | rds.DatabaseClusterFromSnapshot
        if settings.snapshot_identifier is None:
            cluster = rds.DatabaseCluster(
                self,
                "Cluster",
                credentials=rds.Credentials.from_generated_secret(
                    MASTER_USERNAME, encryption_key=key, exclude_characters=EXCLUDED_CHARACTERS
                ),
                default_database_name=settings.database_name,
                **common,  # type: ignore[arg-type]
            )
        else:
            # Restore (docs/restore.md): the same logical ID and identifier, created from the snapshot, whose
            # schema, data and database name it keeps; a new generated password replaces the snapshot's.
            cluster = rds.DatabaseClusterFromSnapshot(
                self,
                "Cluster",
                snapshot_identifier=settings.snapshot_identifier,
                snapshot_credentials=rds.SnapshotCredentials.from_generated_secret(
                    MASTER_USERNAME, encryption_key=key, exclude_characters=EXCLUDED_CHARACTERS
                ),
                **common,  # type: ignore[arg-type]
            )
            acknowledge(
                cluster,
                "CloudFormation-Validate::F3021",
                "A restored cluster takes its master user name from the snapshot: CloudFormation's "
                "AWS::RDS::DBCluster says not to set MasterUsername with SnapshotIdentifier, while MasterUserPassword "
                "(CDK's SnapshotCredentials, aws/aws-cdk#20504) resets the password to the new secret's after the "
                "restore. The schema's generic MasterUserPassword-needs-MasterUsername rule does not know restores. "
                "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-rds-dbcluster.html",
            )
        cfn_resource(cluster).add_resource_dependency(cfn_resource(log_group))
        if cluster.secret is None:  # from_generated_secret always makes one
            raise RuntimeError("the cluster has no credentials secret")
        secret = cluster.secret
        # The generated secret itself (not its attachment) outlives the stack where the data does.
        secret_id = "Secret" if settings.snapshot_identifier is None else "SnapshotSecret"
        cfn_resource(cluster.node.find_child(secret_id)).apply_removal_policy(secret_removal_policy)
        _name_secret_from_its_stack(cluster.node.find_child(secret_id))

        # Hosted single-user rotation (AWS SAR application) in the private subnets: it reaches the
        # database through the security group rule CDK adds, and the Secrets Manager API through NAT.
        rotation = cluster.add_rotation_single_user(
            automatically_after=Duration.days(settings.rotation_days),
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        )
        Aspects.of(cluster.connections.security_groups[0]).add(_NumericPort(PORT))
        # The first rotation must not start before the cluster and its instances exist: it would fail.
        schedule = cfn_resource(secret.node.find_child("RotationSchedule"))
        for instance in ("Writer", *(f"Reader{index + 1}" for index in range(settings.readers))):
            schedule.add_resource_dependency(cfn_resource(cluster.node.find_child(instance)))
        drop_redundant_depends_on(rotation, rotation.node.find_child("SecurityGroup"))

        self.cluster: rds.IDatabaseCluster = cluster
        self.secret: secretsmanager.ISecret = secret
        self.connections: ec2.Connections = cluster.connections
        self.endpoint: rds.Endpoint = cluster.cluster_endpoint
        self.port = PORT
        self.database_name = settings.database_name
        self.readers: int = settings.readers

        self._acknowledge_findings(cluster, settings)

    @staticmethod
    def _acknowledge_findings(cluster: rds.DatabaseClusterBase, settings: DatabaseSettings) -> None:
        """The compliance findings on the cluster that do not apply, each with its reason."""
        if not settings.deletion_protection:
            for rule in ("AwsSolutions-RDS10", "NIST.800.53.R5-RDSInstanceDeletionProtectionEnabled"):
                acknowledge(
                    cluster,
                    rule,
                    "Deletion protection is off only in the dev profile, whose data is disposable; staging and "
                    "prod have it on (infra/profiles.py).",
                )
        if settings.enhanced_monitoring_seconds:
            acknowledge(
                cluster,
                "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                "AmazonRDSEnhancedMonitoringRole]",
                "AWS's own policy for the enhanced monitoring role: it lets RDS write OS metrics to the "
                "RDSOSMetrics log group and nothing else; AWS keeps it current.",
            )
        for instance in cluster.node.children:
            if isinstance(instance, rds.CfnDBInstance) or isinstance(instance.node.default_child, rds.CfnDBInstance):
                acknowledge(
                    instance,
                    "NIST.800.53.R5-RDSInBackupPlan",
                    "AWS Backup protects Aurora per cluster, never per instance: the backup selection names this "
                    "instance's cluster (infra/backup.py, tests/infra/test_backup.py).",
                )
                if not settings.enhanced_monitoring_seconds:
                    acknowledge(
                        instance,
                        "NIST.800.53.R5-RDSEnhancedMonitoringEnabled",
                        "Enhanced monitoring is on in prod (database.enhanced_monitoring_seconds); dev and staging "
                        "rely on the cluster's CloudWatch metrics, alarms and, in staging, Performance Insights.",
                    )
        acknowledge(
            cluster,
            "AwsSolutions-RDS11",
            "The default port 5432 is kept: the cluster is in isolated subnets and admits only named "
            "security groups; a non-standard port adds no protection against a peer that can reach it.",
        )
