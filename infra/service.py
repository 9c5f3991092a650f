"""The storefront on ECS Fargate behind an internal Application Load Balancer, autoscaled."""

from __future__ import annotations

import json
import re
from pathlib import Path

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.compliance import acknowledge
from infra.config import ECR_HOST, ServiceSettings, partition_of
from infra.deployment import DeploymentAlarms, route_releases, scale_on_requests
from infra.log_storage import AccessLogBucket, EncryptedLogGroup

STOREFRONT_DIR = Path(__file__).resolve().parents[1] / "storefront"
# The port the bundled storefront image listens on (storefront/Dockerfile).
BUNDLED_PORT = 8000
# The unprivileged user the image runs as (storefront/Dockerfile).
CONTAINER_USER = "10001"
# The awslogs stream prefix: a task's lines are in <prefix>/<container>/<task id> (`tapstack logs --task`).
LOG_STREAM_PREFIX = "storefront"
# Where ECS Exec's agent (bind-mounted by ECS) keeps its state and logs: writable volumes, so that the root
# filesystem stays read-only. ECS Exec needs these paths writable (aws/containers-roadmap#1359).
EXEC_AGENT_PATHS = {"exec-agent-state": "/var/lib/amazon", "exec-agent-logs": "/var/log/amazon"}
# Requests are short; 30 s lets in-flight ones finish while SIGTERM drains the task.
DEREGISTRATION_DELAY = Duration.seconds(30)
NOT_FOUND_BODY = json.dumps({"error": {"code": "not_found", "message": "No such route"}}, separators=(",", ":"))


class StorefrontService(Construct):
    """Fargate tasks (ARM64) in the private subnets, reached only through the internal load balancer.

    The listener routes `/api/*` and `/health*` to the tasks and answers everything else with a 404
    in the API's error shape; callers (CloudFront's VPC origin, the API's VPC link) are let
    in by the front doors through `load_balancer.connections`.
    """

    # Plain HTTP inside the VPC; the front doors (CloudFront's VPC origin, the API's VPC link) connect here.
    listener_port = 80

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: ServiceSettings,
        vpc: ec2.IVpc,
        key: kms.IKey,
        database_secret: secretsmanager.ISecret,
        database_endpoint: rds.Endpoint,
        database_name: str,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        private = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)

        cluster = self._cluster(settings, vpc=vpc, key=key, removal_policy=removal_policy)

        # The admin token the storefront's admin routes check; rotate by putting a new value (docs/deploy.md).
        admin_token = secretsmanager.Secret(
            self,
            "AdminToken",
            description="Bearer token for the storefront's admin routes",
            encryption_key=key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}",  # noqa: S106 - an empty JSON template, not a password
                generate_string_key="token",
                exclude_punctuation=True,
                password_length=48,
            ),
            removal_policy=removal_policy,
        )
        for rule in ("AwsSolutions-SMG4", "NIST.800.53.R5-SecretsManagerRotationEnabled"):
            acknowledge(
                admin_token,
                rule,
                "The admin token is a static bearer token that operators rotate by putting a new value; there "
                "is no downstream system for a rotation function to update.",
            )

        task_definition = app_task_definition(self, "Task", settings=settings)
        log_group = EncryptedLogGroup(
            self, "Logs", key=key, retention=settings.log_retention, removal_policy=removal_policy
        )
        self.image = _container_image(self, settings)
        self.log_group: logs.ILogGroup = log_group
        # What every task of the app gets, the service's, the release step's and the jobs' alike.
        self.environment: dict[str, str] = {
            # Where the database is and which secret holds its credentials; never a value.
            "DB_HOST": database_endpoint.hostname,
            "DB_PORT": str(database_endpoint.port),
            "DB_NAME": database_name,
            "DB_SECRET_ARN": database_secret.secret_arn,
            # boto3 in the task reads the secret in the stack's region.
            "AWS_REGION": Stack.of(self).region,
            # The release step migrates the bundled storefront before traffic; its tasks need not at start-up.
            **({"STOREFRONT_MIGRATE_ON_START": "false"} if settings.image is None and settings.release else {}),
            # The shop's own settings (infra/config.py keeps them off the names above).
            **settings.environment,
        }
        self.secrets: dict[str, ecs.Secret] = {
            # Injected per field at task start; the service re-reads DB_SECRET_ARN after a rotation.
            "DB_USERNAME": ecs.Secret.from_secrets_manager(database_secret, "username"),
            "DB_PASSWORD": ecs.Secret.from_secrets_manager(database_secret, "password"),
            "STOREFRONT_ADMIN_TOKEN": ecs.Secret.from_secrets_manager(admin_token, "token"),
            **_app_secrets(self, settings),
        }
        container = self.add_app_container(
            task_definition,
            "storefront",
            # The bundled image listens on 8000 unless told otherwise; a shop's own image knows its port.
            command=(
                ["storefront", "serve", "--host", "0.0.0.0", "--port", str(settings.container_port)]  # noqa: S104
                if settings.image is None and settings.container_port != BUNDLED_PORT
                else None
            ),
            port_mappings=[ecs.PortMapping(container_port=settings.container_port)],
            health_check=_container_health_check(settings),
        )
        if settings.execute_command:
            for volume, path in EXEC_AGENT_PATHS.items():
                task_definition.add_volume(name=volume)
                container.add_mount_points(ecs.MountPoint(container_path=path, source_volume=volume, read_only=False))
        _grant_secret_keys(task_definition.obtain_execution_role(), settings)
        # The task re-reads the credentials after a rotation; it may read exactly this secret.
        database_secret.grant_read(task_definition.task_role)
        acknowledge(
            task_definition,
            "AwsSolutions-ECS2",
            "The environment holds where the database is, the ARN of its secret and the shop's own "
            "service.environment (settings, by docs/your-app.md; secrets go in service.secrets); the password, "
            "the admin token and the shop's secrets are ECS secrets (tests/infra/test_service.py checks).",
        )
        acknowledge(
            task_definition,
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken (execution role) and ECS Exec's ssmmessages:Create/OpenControlChannel and "
            "Create/OpenDataChannel and logs:DescribeLogGroups (task role) have no resource-level permissions "
            "(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html); every other statement "
            "names the image repository, log group, key or secret.",
        )
        if self.exec_log_group is not None:
            stack = Stack.of(self)
            # cdk-nag names region and account as the template does: literals where the stack knows them.
            account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
            acknowledge(
                task_definition,
                f"AwsSolutions-IAM5[Resource::arn:aws:logs:{stack.region}:{account}:log-group:"
                f"<{stack.get_logical_id(self.exec_log_group.node.default_child)}>:*]",  # type: ignore[arg-type]
                "ECS Exec writes each session's output to a log stream it names per session: the streams of "
                "exactly this log group.",
            )
        for rule in ("PCI.DSS.321-IAMNoInlinePolicy", "NIST.800.53.R5-IAMNoInlinePolicy"):
            acknowledge(
                task_definition,
                rule,
                "The task and execution roles' policies are written by CDK grants to exactly this service's "
                "secrets, image and log group; an inline policy cannot be attached to any other principal.",
            )

        capacity = _capacity_providers(self, cluster, settings)
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task_definition,
            # FARGATE_SPOT runs ARM64 tasks on 1.4.0 or later; LATEST is 1.4.0 (and what ECS picks anyway).
            platform_version=ecs.FargatePlatformVersion.LATEST,
            # On demand: the launch type alone (the service as it always was). Spot: a strategy, and no launch type.
            capacity_provider_strategies=(
                [ecs.CapacityProviderStrategy(capacity_provider=settings.capacity, weight=1)]
                if capacity is not None
                else None
            ),
            desired_count=settings.min_tasks,
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            deployment_strategy=settings.deployment_strategy,
            bake_time=(
                Duration.minutes(settings.bake_time_minutes)
                if settings.deployment_strategy is ecs.DeploymentStrategy.BLUE_GREEN
                else None
            ),
            health_check_grace_period=Duration.seconds(settings.health_check_grace_seconds),
            enable_execute_command=settings.execute_command,
            vpc_subnets=private,
            assign_public_ip=False,
        )
        if capacity is not None:
            # CloudFormation must associate the capacity provider before it creates a service that uses it.
            self.service.node.add_dependency(capacity)

        self.load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=False,
            vpc_subnets=private,
            drop_invalid_header_fields=True,
            deletion_protection=settings.load_balancer_deletion_protection,
        )
        access_logs = AccessLogBucket(
            self, "AccessLogs", expiration_days=settings.access_log_expiry_days, removal_policy=removal_policy
        )
        self.load_balancer.log_access_logs(access_logs, prefix="alb")

        self.target_group = elbv2.ApplicationTargetGroup(
            self,
            "Targets",
            vpc=vpc,
            # One port end to end: container, task definition, target group and health checks.
            port=settings.container_port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            deregistration_delay=DEREGISTRATION_DELAY,
            health_check=elbv2.HealthCheck(
                # Liveness only: /health/ready would fail every task while a dev database is paused.
                path=settings.health_check_path,
                port=str(settings.container_port),
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                # Two passes (30 s) to join, three failures (45 s) to leave: quick to recover, no flapping.
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
                healthy_http_codes="200",
            ),
        )
        self.listener = self.load_balancer.add_listener(
            "Http",
            port=self.listener_port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=False,
            default_action=elbv2.ListenerAction.fixed_response(
                404, content_type="application/json", message_body=NOT_FOUND_BODY
            ),
        )
        self.target_groups = route_releases(
            self,
            settings=settings,
            service=self.service,
            container_name=container.container_name,
            container_port=settings.container_port,
            vpc=vpc,
            listener=self.listener,
            target_group=self.target_group,
            health_check=self.target_group.health_check,
            deregistration_delay=DEREGISTRATION_DELAY,
            priority=10,
            conditions=[elbv2.ListenerCondition.path_patterns([*settings.paths, f"{settings.health_check_path}*"])],
        )
        self.deployment_alarms = DeploymentAlarms(
            self, "DeploymentAlarms", settings=settings, service=self.service, target_groups=self.target_groups
        )
        _acknowledge_load_balancer(self.load_balancer, settings)

        scaling = self.service.auto_scale_task_count(min_capacity=settings.min_tasks, max_capacity=settings.max_tasks)
        scale_in = Duration.seconds(settings.scale_in_cooldown_seconds)
        scale_out = Duration.seconds(settings.scale_out_cooldown_seconds)
        scaling.scale_on_cpu_utilization(
            "Cpu",
            target_utilization_percent=settings.cpu_target_percent,
            scale_in_cooldown=scale_in,
            scale_out_cooldown=scale_out,
        )
        scaling.scale_on_memory_utilization(
            "Memory",
            target_utilization_percent=settings.memory_target_percent,
            scale_in_cooldown=scale_in,
            scale_out_cooldown=scale_out,
        )
        scaling.scale_on_request_count(
            "Requests",
            requests_per_target=settings.requests_per_target,
            target_group=self.target_group,
            scale_in_cooldown=scale_in,
            scale_out_cooldown=scale_out,
        )
        scale_on_requests(scaling, "Requests", target_groups=self.target_groups)
        self.cluster: ecs.ICluster = cluster
        # Whether the cluster publishes Container Insights metrics, which some alarms read.
        self.container_insights: bool = settings.container_insights
        self.task_definition = task_definition
        self.container = container
        # Where one-off tasks (the release step, the jobs) run: the service's subnets and security group.
        self.subnets = private
        self.service_subnet_ids: list[str] = vpc.select_subnets(subnet_type=private.subnet_type).subnet_ids

    def _cluster(
        self, settings: ServiceSettings, *, vpc: ec2.IVpc, key: kms.IKey, removal_policy: RemovalPolicy
    ) -> ecs.Cluster:
        """The cluster, with ECS Exec's logging (`exec_log_group`) and Container Insights as the settings say."""
        # ECS Exec's sessions: encrypted end to end with our key, their output kept in an encrypted log group.
        self.exec_log_group = (
            EncryptedLogGroup(
                self, "ExecLogs", key=key, retention=settings.log_retention, removal_policy=removal_policy
            )
            if settings.execute_command
            else None
        )
        cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=vpc,
            container_insights_v2=(
                ecs.ContainerInsights.ENABLED if settings.container_insights else ecs.ContainerInsights.DISABLED
            ),
            execute_command_configuration=(
                ecs.ExecuteCommandConfiguration(
                    kms_key=key,
                    logging=ecs.ExecuteCommandLogging.OVERRIDE,
                    log_configuration=ecs.ExecuteCommandLogConfiguration(
                        cloud_watch_log_group=self.exec_log_group, cloud_watch_encryption_enabled=True
                    ),
                )
                if self.exec_log_group is not None
                else None
            ),
        )

        if not settings.container_insights:
            acknowledge(
                cluster,
                "AwsSolutions-ECS4",
                "Container Insights is off by setting (service.container_insights) where one disposable task "
                "runs (dev, previews): its custom metrics cost about 14 USD a month (make cost), and the load "
                "balancer's NoHealthyTasks alarm already sees that task missing; ECS's CPU and memory metrics stay.",
            )
        return cluster

    def add_app_container(
        self,
        task_definition: ecs.FargateTaskDefinition,
        id: str,
        *,
        command: list[str] | None = None,
        port_mappings: list[ecs.PortMapping] | None = None,
        health_check: ecs.HealthCheck | None = None,
        stream_prefix: str = LOG_STREAM_PREFIX,
    ) -> ecs.ContainerDefinition:
        """The app's container in `task_definition`: its image, settings, secrets and logs, read-only with a
        scratch /tmp, as an unprivileged user. ECS grants the task definition's execution role read on
        each secret (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html)."""
        container = task_definition.add_container(
            id,
            image=self.image,
            command=command,
            logging=ecs.LogDrivers.aws_logs(stream_prefix=stream_prefix, log_group=self.log_group),
            port_mappings=port_mappings,
            readonly_root_filesystem=True,
            user=CONTAINER_USER,
            environment=self.environment,
            secrets=self.secrets,
            health_check=health_check,
        )
        # A read-only root filesystem still needs a scratch directory.
        task_definition.add_volume(name="tmp")
        container.add_mount_points(ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False))  # noqa: S108
        return container


def _acknowledge_load_balancer(load_balancer: elbv2.ApplicationLoadBalancer, settings: ServiceSettings) -> None:
    """Why the internal load balancer has neither TLS nor a web ACL of its own (the front doors have both),
    and, where the settings say so, no deletion protection."""
    if not settings.load_balancer_deletion_protection:
        acknowledge(
            load_balancer,
            "NIST.800.53.R5-ELBDeletionProtectionEnabled",
            "Off only where service.load_balancer_deletion_protection is false (dev), so that `cdk destroy` "
            "can delete a disposable stack; staging and prod have it on.",
        )
    for rule in (
        "PCI.DSS.321-ELBTlsHttpsListenersOnly",
        "PCI.DSS.321-ALBHttpToHttpsRedirection",
        "PCI.DSS.321-ELBv2ACMCertificateRequired",
        "NIST.800.53.R5-ALBHttpToHttpsRedirection",
        "NIST.800.53.R5-ELBv2ACMCertificateRequired",
    ):
        acknowledge(
            load_balancer,
            rule,
            "The load balancer is internal: TLS ends at CloudFront and API Gateway, which reach it only "
            "through the CloudFront VPC origin and the API's VPC link inside the VPC.",
        )

    for rule in ("PCI.DSS.321-ALBWAFEnabled", "NIST.800.53.R5-ALBWAFEnabled"):
        acknowledge(
            load_balancer,
            rule,
            "The web ACLs sit on the two front doors (CloudFront and API Gateway), the only ways in; the "
            "internal load balancer is not reachable from the internet.",
        )


def _capacity_providers(
    scope: Construct, cluster: ecs.Cluster, settings: ServiceSettings
) -> ecs.CfnClusterCapacityProviderAssociations | None:
    """FARGATE and FARGATE_SPOT associated with the cluster when the service runs on Spot (none on demand: the
    service keeps its FARGATE launch type). No default strategy: each task says where it runs (the service its
    strategy; the release step and the jobs their FARGATE launch type, so a migration is never interrupted).

    L1: the L2 Cluster (`enable_fargate_capacity_providers`) creates the association in an aspect at synth,
    after the service exists, so the service cannot depend on it; without that DependsOn CloudFormation may
    create the service first and ECS refuses a capacity provider the cluster does not have yet
    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecs-clustercapacityproviderassociations.html,
    aws/containers-roadmap#631)."""
    if settings.capacity == "FARGATE":
        return None
    return ecs.CfnClusterCapacityProviderAssociations(
        scope,
        "CapacityProviders",
        cluster=cluster.cluster_name,
        capacity_providers=["FARGATE", "FARGATE_SPOT"],
        default_capacity_provider_strategy=[],
    )


def app_task_definition(
    scope: Construct,
    id: str,
    *,
    settings: ServiceSettings,
    execution_role: iam.IRole | None = None,
    task_role: iam.IRole | None = None,
) -> ecs.FargateTaskDefinition:
    """A task definition of the app's size on Linux ARM64 (Graviton, the image's platform): the service's,
    and the jobs' with the service's two roles."""
    return ecs.FargateTaskDefinition(
        scope,
        id,
        cpu=settings.cpu,
        memory_limit_mib=settings.memory_mib,
        runtime_platform=ecs.RuntimePlatform(
            cpu_architecture=ecs.CpuArchitecture.ARM64,
            operating_system_family=ecs.OperatingSystemFamily.LINUX,
        ),
        execution_role=execution_role,
        task_role=task_role,
    )


def _app_secrets(scope: Construct, settings: ServiceSettings) -> dict[str, ecs.Secret]:
    """`service.secrets` as ECS secrets: a Secrets Manager secret (whole, one JSON key, one version) or an SSM
    parameter, each imported by its exact ARN so that the execution role is granted exactly it."""
    secrets: dict[str, ecs.Secret] = {}
    for name, reference in settings.secret_references.items():
        if reference.source == "ssm":
            parameter = ssm.StringParameter.from_string_parameter_arn(scope, f"Parameter{name}", reference.arn)
            secrets[name] = ecs.Secret.from_ssm_parameter(parameter)
            continue
        secret = secretsmanager.Secret.from_secret_complete_arn(scope, f"Secret{name}", reference.arn)
        if reference.version_stage or reference.version_id:
            secrets[name] = ecs.Secret.from_secrets_manager_version(
                secret,
                ecs.SecretVersionInfo(version_stage=reference.version_stage, version_id=reference.version_id),
                reference.json_key,
            )
        else:
            secrets[name] = ecs.Secret.from_secrets_manager(secret, reference.json_key)
    return secrets


def _grant_secret_keys(role: iam.IRole, settings: ServiceSettings) -> None:
    """kms:Decrypt on exactly the keys `service.secrets_kms_key_arns` names, and only when Secrets Manager or
    SSM asks on the execution role's behalf while ECS injects the secrets.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html#secrets-iam"""
    for arn in settings.secrets_kms_key_arns:
        region = arn.split(":")[3]
        suffix = "amazonaws.com.cn" if partition_of(region) == "aws-cn" else "amazonaws.com"
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[arn],
                conditions={
                    "StringEquals": {"kms:ViaService": [f"secretsmanager.{region}.{suffix}", f"ssm.{region}.{suffix}"]}
                },
            )
        )


def _container_image(scope: Construct, settings: ServiceSettings) -> ecs.ContainerImage:
    """The bundled storefront built at synth, or the shop's own image, pulled with the least access."""
    if settings.image is None:
        # One asset for every task definition that runs it (the service's, the jobs'): its source is
        # fingerprinted once per synth, not once per container.
        asset = ecr_assets.DockerImageAsset(
            scope,
            "Image",
            directory=str(STOREFRONT_DIR),
            platform=ecr_assets.Platform.LINUX_ARM64,
            exclude=[".venv", ".data", "**/__pycache__", "*.egg-info"],
        )
        return ecs.ContainerImage.from_docker_image_asset(asset)
    name, tag, digest = settings.image_reference
    if settings.image_registry == "ecr":
        host, _, repository_name = name.partition("/")
        match = re.fullmatch(ECR_HOST, host)
        assert match is not None  # image_registry == "ecr" says it matches
        account, region = match.groups()
        # An imported repository: the execution role is granted pull on exactly it, not on every repository.
        repository = ecr.Repository.from_repository_attributes(
            scope,
            "ImageRepository",
            repository_arn=f"arn:{Stack.of(scope).partition}:ecr:{region}:{account}:repository/{repository_name}",
            repository_name=repository_name,
        )
        # A digest starts with sha256:, which CDK writes as repository@digest.
        return ecs.ContainerImage.from_ecr_repository(repository, digest or tag)
    if settings.image_registry == "public" and digest is None:
        Annotations.of(scope).add_warning_v2(
            "tapstack:image-not-pinned",
            f"service.image={settings.image} is not pinned by digest: a re-pushed tag changes what new tasks run. "
            "Use name@sha256:<digest> to deploy exactly what was tested.",
        )
    credentials = (
        secretsmanager.Secret.from_secret_complete_arn(scope, "ImageCredentials", settings.image_credentials_secret_arn)
        if settings.image_credentials_secret_arn
        else None
    )
    # With a tag and a digest, the digest alone: Docker ignores the tag then, and ECS documents an image as
    # repository:tag or repository@digest. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_image
    return ecs.ContainerImage.from_registry(f"{name}@{digest}" if digest else settings.image, credentials=credentials)


def _container_health_check(settings: ServiceSettings) -> ecs.HealthCheck | None:
    """The container's own health check: the bundled image's, the configured command, or none (then the
    load balancer's check alone decides, since a foreign image may have no Python or curl)."""
    if settings.container_health_command is not None:
        command = ["CMD-SHELL", settings.container_health_command]
    elif settings.image is None:
        command = [
            "CMD",
            "python",
            "-c",
            "import urllib.request; urllib.request.urlopen("
            f"'http://127.0.0.1:{settings.container_port}{settings.health_check_path}', timeout=3)",
        ]
    else:
        return None
    return ecs.HealthCheck(
        command=command,
        interval=Duration.seconds(15),
        timeout=Duration.seconds(5),
        retries=3,
        start_period=Duration.seconds(settings.health_check_grace_seconds),
    )
