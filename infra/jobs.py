"""Scheduled jobs (`jobs.<name>`): the app's image run as a one-off Fargate task on an EventBridge Scheduler
schedule, with the service's network, settings and secrets.

schedule (EventBridge Scheduler, retries and a dead-letter queue for starts that fail)
  -> state machine (Step Functions: runs the task and waits, stops counting it at the timeout, retries)
  -> Fargate task of the jobs' task definition (the service's container, the job's command).
Step Functions is there for what a schedule cannot do alone: a timeout, and retries of a run that failed.
https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-templated.html
https://docs.aws.amazon.com/step-functions/latest/dg/connect-ecs.html

A run that fails reaches the alert topic twice over: the ECS task state change of a jobs' task that exited
non-zero, and the state machine's failed, timed-out or aborted execution; a start that failed lands in the
dead-letter queue, whose alarm says so.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Stack, TimeZone
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.cfn import cfn_resource
from infra.compliance import acknowledge
from infra.config import JobSettings, ServiceSettings
from infra.log_storage import EncryptedLogGroup
from infra.service import StorefrontService, app_task_definition

# A schedule whose state machine cannot be started is retried this often, for up to this long, then its
# event goes to the dead-letter queue (EventBridge Scheduler's own retry policy).
START_RETRIES = 3
START_MAX_AGE = Duration.hours(1)
# Failed starts are kept this long for someone to look at.
DEAD_LETTER_RETENTION = Duration.days(14)


class ScheduledJob(Construct):
    """One job: its state machine and its schedule."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        job: JobSettings,
        service: StorefrontService,
        task_definition: ecs.FargateTaskDefinition,
        container: ecs.ContainerDefinition,
        dead_letters: sqs.IQueue,
        log_group: logs.ILogGroup,
        schedule_role: iam.IRole,
    ) -> None:
        super().__init__(scope, id)
        timeout = Duration.minutes(job.timeout_minutes)
        run = tasks.EcsRunTask(
            self,
            "Run",
            integration_pattern=sfn.IntegrationPattern.RUN_JOB,
            cluster=service.cluster,
            task_definition=task_definition,
            # On demand even where the service runs on Fargate Spot (service.capacity): a job's run is minutes,
            # and an interruption would leave it half done until the next schedule.
            launch_target=tasks.EcsFargateLaunchTarget(platform_version=ecs.FargatePlatformVersion.LATEST),
            container_overrides=[tasks.ContainerOverride(container_definition=container, command=list(job.argv))],
            subnets=service.subnets,
            security_groups=service.service.connections.security_groups,
            assign_public_ip=False,
            task_timeout=sfn.Timeout.duration(timeout),
            propagated_tag_source=ecs.PropagatedTagSource.TASK_DEFINITION,
        )
        if job.retries:
            run.add_retry(errors=["States.ALL"], max_attempts=job.retries, interval=Duration.minutes(1), backoff_rate=2)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            definition_body=sfn.DefinitionBody.from_chainable(run),
            comment=f"Job {name}: {job.command}",
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
            # Every attempt may run to its timeout, with the waits between them.
            timeout=Duration.minutes(job.timeout_minutes * (job.retries + 1) + 2 ** (job.retries + 1)),
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description=f"TapStack job {name}: {job.command}",
            schedule=scheduler.ScheduleExpression.expression(job.schedule, TimeZone.of(job.time_zone)),
            target=scheduler_targets.StepFunctionsStartExecution(
                self.state_machine,
                dead_letter_queue=dead_letters,
                retry_attempts=START_RETRIES,
                max_event_age=START_MAX_AGE,
                role=schedule_role,
            ),
        )
        # CDK renders DependsOn on the state machine's role beside the GetAtt of it (cfn-lint W3005); only the
        # one on the role's policy orders anything.
        policy = self.state_machine.role.node.find_child("DefaultPolicy")
        cfn_resource(self.state_machine).add_override(
            "DependsOn", [Stack.of(self).get_logical_id(cfn_resource(policy))]
        )


class ScheduledJobs(Construct):
    """Every enabled job of `jobs`, sharing one task definition (the service's container, its own family so
    that a failed run is told apart from the service's tasks), one dead-letter queue and the alerts."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        jobs: Mapping[str, JobSettings],
        settings: ServiceSettings,
        service: StorefrontService,
        topic: sns.ITopic,
        key: kms.IKey,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        # The service's size and its two roles: the jobs read the same secrets and database as the service.
        self.task_definition = app_task_definition(
            self,
            "Task",
            settings=settings,
            execution_role=service.task_definition.obtain_execution_role(),
            task_role=service.task_definition.task_role,
        )
        self.container = service.add_app_container(self.task_definition, "job", stream_prefix="job")
        # The same acknowledgements as the service's task definition, for the same container.
        acknowledge(
            self.task_definition,
            "AwsSolutions-ECS2",
            "The service's container (infra/service.py): the environment holds where the database is and the "
            "shop's non-secret service.environment; secrets are ECS secrets.",
        )
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=DEAD_LETTER_RETENTION,
        )
        acknowledge(
            self.dead_letters,
            "AwsSolutions-SQS3",
            "This queue is the dead-letter queue of the job schedules (EventBridge Scheduler's DeadLetterConfig).",
        )
        log_group = EncryptedLogGroup(self, "Logs", key=key, retention=log_retention, removal_policy=removal_policy)
        # The role the schedules start the state machines with (CDK grants it exactly those and the queue),
        # assumable by EventBridge Scheduler on this account's behalf only (confused deputy).
        # https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html
        self.schedule_role = iam.Role(
            self,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}}
            ),
        )
        # The dead-letter queue is encrypted with our key: Scheduler writes to it as this role, which needs the
        # key for that (https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html).
        key.grant(self.schedule_role, "kms:GenerateDataKey", "kms:Decrypt")
        self.jobs = {
            name: ScheduledJob(
                self,
                name,
                name=name,
                job=job,
                service=service,
                task_definition=self.task_definition,
                container=self.container,
                dead_letters=self.dead_letters,
                log_group=log_group,
                schedule_role=self.schedule_role,
            )
            for name, job in jobs.items()
        }
        self._alert(service, topic)
        self._acknowledge()

    def _alert(self, service: StorefrontService, topic: sns.ITopic) -> None:
        """A run that failed, a run that timed out, a start that failed: each reaches the alert topic."""
        stack = Stack.of(self)
        family = stack.format_arn(service="ecs", resource="task-definition", resource_name=self.task_definition.family)
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_task_events.html
        self.failed_task_rule = events.Rule(
            self,
            "FailedRun",
            description="A scheduled job's task exited with a non-zero code",
            event_pattern=events.EventPattern(
                source=["aws.ecs"],
                detail_type=["ECS Task State Change"],
                detail={
                    "clusterArn": [service.cluster.cluster_arn],
                    "taskDefinitionArn": events.Match.prefix(f"{family}:"),
                    "lastStatus": ["STOPPED"],
                    "containers": {"exitCode": events.Match.anything_but(0)},
                },
            ),
            targets=[events_targets.SnsTopic(topic)],
        )
        # https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html
        self.failed_execution_rule = events.Rule(
            self,
            "FailedExecution",
            description="A scheduled job's run failed, timed out or was aborted",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "stateMachineArn": [job.state_machine.state_machine_arn for job in self.jobs.values()],
                    "status": ["FAILED", "TIMED_OUT", "ABORTED"],
                },
            ),
            targets=[events_targets.SnsTopic(topic)],
        )
        self.dead_letter_alarm = cloudwatch.Alarm(
            self,
            "StartFailed",
            alarm_description="[JobStartFailed] A job schedule could not start its run (see the dead-letter queue)",
            metric=self.dead_letters.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.dead_letter_alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        self.dead_letter_alarm.add_ok_action(cloudwatch_actions.SnsAction(topic))

    def _acknowledge(self) -> None:
        """The findings on the jobs' state machines and schedule role, each with its reason."""
        reasons = {
            "AwsSolutions-IAM5[Resource::*]": (
                "What CDK's Step Functions ECS integration grants on every resource: ecs:DescribeTasks and "
                "ecs:StopTask (the run's task id is known only once it runs), the CloudWatch Logs delivery and "
                "X-Ray actions, which take no resource. ecs:RunTask is on the jobs' task definition only."
            ),
            "PCI.DSS.321-IAMNoInlinePolicy": (
                "CDK writes each role's policy inline for exactly its state machine or the schedules; an inline "
                "policy cannot be attached to another principal."
            ),
        }
        reasons["NIST.800.53.R5-IAMNoInlinePolicy"] = reasons["PCI.DSS.321-IAMNoInlinePolicy"]
        for rule, reason in reasons.items():
            acknowledge(self, rule, reason)
