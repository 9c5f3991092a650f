"""The release step: `service.release_command` runs once per new task definition, as a one-off task of
that task definition, before the ECS service is updated to it; it must exit 0 in time, or the deployment
stops with nothing shifted and the alert topic is told.

Why a CloudFormation custom resource, and not an ECS lifecycle hook or a step of `make deploy`:
- every deployment of the service is a CloudFormation update (`make deploy` and the pipeline both run
  one), and the service depends on this resource: CloudFormation creates the new task definition, runs
  the release, and only then updates the service. A failed release fails the update before ECS starts a
  single new task, with either deployment strategy, and CloudFormation rolls the stack back;
- ECS lifecycle hooks run inside blue/green deployments only, not the rolling deployments of dev;
- a deploy step in `make deploy` and in the pipeline would be two implementations, and a plain
  `cdk deploy` would skip it.
CDK's provider framework polls the task (is_complete) for up to an hour, longer than a Lambda may run.
https://docs.aws.amazon.com/cdk/api/v2/python/aws_cdk.custom_resources/README.html#provider-framework
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import CustomResource, Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct, IConstruct, IDependable

from infra.cfn import cfn_resource
from infra.compliance import acknowledge_all
from infra.config import ServiceSettings
from infra.log_storage import EncryptedLogGroup
from infra.service import StorefrontService

HANDLER = Path(__file__).resolve().parent / "release_handler"
BASIC_EXECUTION_ROLE = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
# How often the provider framework asks whether the release task has stopped.
POLL = Duration.seconds(15)


class Release(Construct):
    """Runs the release command of `service` before the service is created or updated to a new task
    definition; `ready` is what the first release needs to exist (the database, the routes out)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: ServiceSettings,
        service: StorefrontService,
        topic: sns.ITopic,
        key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        ready: Sequence[IDependable],
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        task_definition = service.task_definition
        self.task_definition = task_definition
        logs_group = EncryptedLogGroup(self, "Logs", key=key, retention=log_retention, removal_policy=removal_policy)
        handlers = {
            name: lambda_.Function(
                self,
                name.title().replace("_", ""),
                runtime=lambda_.Runtime.PYTHON_3_14,
                architecture=lambda_.Architecture.ARM_64,
                handler=f"index.{name}",
                code=lambda_.Code.from_asset(str(HANDLER)),
                timeout=Duration.seconds(60),
                memory_size=256,
                log_group=logs_group,
                environment={"STACK_NAME": stack.stack_name},
                environment_encryption=key,
                description=f"TapStack release step: {name.replace('_', ' ')}",
            )
            for name in ("on_event", "is_complete")
        }
        for function in handlers.values():
            self._grant(function, task_definition=task_definition, service=service, topic=topic)
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=handlers["on_event"],
            is_complete_handler=handlers["is_complete"],
            query_interval=POLL,
            # Past the step's own timeout, at which is_complete stops the task and fails.
            total_timeout=Duration.minutes(settings.release_timeout_minutes + 5),
            log_group=logs_group,
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=logs_group, include_execution_data=False, level=sfn.LogLevel.ALL
            ),
            provider_function_env_encryption=key,
        )
        self.resource = CustomResource(
            self,
            "Run",
            service_token=provider.service_token,
            resource_type="Custom::Release",
            properties={
                # A new task definition revision changes this ARN: that is what makes a release run.
                "TaskDefinition": task_definition.task_definition_arn,
                "Cluster": service.cluster.cluster_arn,
                "Container": service.container.container_name,
                "Command": list(settings.release),
                "Subnets": service.service_subnet_ids,
                "SecurityGroups": [group.security_group_id for group in service.service.connections.security_groups],
                "TimeoutSeconds": str(settings.release_timeout_minutes * 60),
                "TopicArn": topic.topic_arn,
                "LogGroup": service.log_group.log_group_name,
                "StreamPrefix": "storefront",
            },
        )
        for construct in ready:
            self.resource.node.add_dependency(construct)
        # No new task starts (rolling) or is shifted to (blue/green) before the release has succeeded.
        # On the ECS service resource alone: its security group is what the release task runs in.
        cfn_resource(service.service).node.add_dependency(self.resource)
        self._acknowledge(provider, handlers, service.cluster)
        # CDK renders DependsOn on each function's (and the waiter's) role beside the GetAtt of it (cfn-lint
        # W3005); only the one on the role's policy orders anything.
        waiter = provider.node.find_child("waiter-state-machine")
        pairs = [(child, child.role) for child in self.node.find_all() if isinstance(child, lambda_.Function)]
        for resource, role in [*pairs, (waiter.node.find_child("Resource"), waiter.node.find_child("Role"))]:
            policy = role.node.find_child("DefaultPolicy") if role is not None else None
            if policy is not None:
                cfn_resource(resource).add_override("DependsOn", [stack.get_logical_id(cfn_resource(policy))])

    @staticmethod
    def _grant(
        function: lambda_.Function,
        *,
        task_definition: ecs.FargateTaskDefinition,
        service: StorefrontService,
        topic: sns.ITopic,
    ) -> None:
        """Run tasks of the service's task definition family in its cluster, watch and stop them, pass its
        two roles to ECS, and tell the alert topic: nothing wider."""
        stack = Stack.of(function)
        family = stack.format_arn(
            service="ecs", resource="task-definition", resource_name=f"{task_definition.family}:*"
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ecs:RunTask"],
                resources=[family],
                conditions={"ArnEquals": {"ecs:cluster": service.cluster.cluster_arn}},
            )
        )
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["ecs:DescribeTasks", "ecs:StopTask"],
                resources=[
                    stack.format_arn(service="ecs", resource="task", resource_name=f"{service.cluster.cluster_name}/*")
                ],
            )
        )
        roles = [task_definition.task_role.role_arn, task_definition.obtain_execution_role().role_arn]
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=roles,
                conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
            )
        )
        topic.grant_publish(function)

    def _acknowledge(self, provider: cr.Provider, handlers: dict[str, lambda_.Function], cluster: ecs.ICluster) -> None:
        """The findings on the release step's functions, roles and waiter, each with its reason."""
        stack = Stack.of(self)
        account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
        prefix = f"arn:{stack.partition}:ecs:{stack.region}:{account}"
        if Token.is_unresolved(stack.partition):
            prefix = f"arn:<AWS::Partition>:ecs:{stack.region}:{account}"
        cluster_id = stack.resolve(cfn_resource(cluster).logical_id)
        family = self.task_definition.family

        def arn_of(function: IConstruct) -> str:
            return f"<{stack.resolve(cfn_resource(function).logical_id)}.Arn>:*"

        framework = [provider.node.find_child(name) for name in ("framework-isComplete", "framework-onTimeout")]
        reasons = {
            f"AwsSolutions-IAM5[Resource::{prefix}:task-definition/{family}:*]": (
                "ecs:RunTask on every revision of the service's own task definition family (the release runs the "
                "revision being deployed, unknown until then), only in the service's cluster (ecs:cluster)."
            ),
            f"AwsSolutions-IAM5[Resource::{prefix}:task/<{cluster_id}>/*]": (
                "ecs:DescribeTasks and ecs:StopTask on tasks of the service's cluster only: the release task's id "
                "is known only once it runs."
            ),
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": (
                "Publishing to the alert topic, encrypted with the stack's key (CDK's grant_publish)."
            ),
            **{
                f"AwsSolutions-IAM5[Resource::{arn_of(function)}]": (
                    "CDK's provider framework invokes the handler's versions (function ARN with a qualifier)."
                )
                for function in [*handlers.values(), *framework]
            },
            "AwsSolutions-SF2": (
                "The provider framework's waiter state machine only loops on is_complete; its executions are "
                "logged (ALL) to the release step's encrypted log group, and the task's own logs are the service's."
            ),
            f"AwsSolutions-IAM4[Policy::{BASIC_EXECUTION_ROLE}]": (
                "AWSLambdaBasicExecutionRole only lets each function write its own logs; CDK attaches it."
            ),
            "AwsSolutions-IAM5[Resource::*]": (
                "Only the waiter state machine's CloudWatch Logs delivery actions (logs:CreateLogDelivery and the "
                "like), which take no resource: https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html"
            ),
            "PCI.DSS.321-IAMNoInlinePolicy": (
                "CDK writes each role's policy inline for exactly its function or state machine; an inline policy "
                "cannot be attached to another principal."
            ),
            "PCI.DSS.321-LambdaInsideVPC": (
                "The functions only call the ECS and SNS APIs at deploy time, hold no data and reach nothing inside "
                "the VPC; the release task itself runs in the service's private subnets."
            ),
            "NIST.800.53.R5-LambdaConcurrency": (
                "CloudFormation invokes the release step once per deployment; reserved concurrency would take from "
                "the account's pool and buy nothing."
            ),
            "NIST.800.53.R5-LambdaDLQ": (
                "CloudFormation invokes the functions through the provider framework, which gets each failure back "
                "(the deployment fails and rolls back, and the alert topic is told); a DLQ would hold nothing."
            ),
        }
        acknowledge_all(self, reasons, nist_twins=("IAMNoInlinePolicy", "LambdaInsideVPC"))
