"""AWS Backup of the database: the vault, the plan, the selection, the copy vault in a second region,
and the rule that tells the alert topic when a backup or copy job fails."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Environment, Fn, Stack, Tags
from aws_cdk import aws_backup as backup
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.compliance import acknowledge
from infra.config import BackupSettings, Config
from tapstack_cli.limits import backup_plan

# Job states that mean a recovery point was not made or not copied.
# https://docs.aws.amazon.com/aws-backup/latest/devguide/eventbridge.html
FAILED_STATES = ("FAILED", "ABORTED", "EXPIRED", "PARTIAL")
JOB_EVENTS = ("Backup Job State Change", "Copy Job State Change")


def _vault(scope: Construct, id: str, *, settings: BackupSettings, key: kms.IKey) -> backup.BackupVault:
    """A vault encrypted with `key`, locked when the settings say so, kept when its stack is deleted
    (backup.removal_policy RETAIN, every profile): CloudFormation cannot delete a vault that still holds
    recovery points, and they expire by their own lifecycle (an empty vault costs nothing). A preview's
    vault (DESTROY) is emptied by `tapstack destroy` before its stack is deleted.
    """
    stack = Stack.of(scope)
    # arn:aws:cloudformation:<region>:<account>:stack/<name>/<uuid>: the UUID's first block.
    creation = Fn.select(0, Fn.split("-", Fn.select(2, Fn.split("/", stack.stack_id))))
    return backup.BackupVault(
        scope,
        id,
        # A retained vault keeps its name: one named after the stack alone would block the stack's next
        # creation (dev's destroy-and-deploy). The first block of the stack's UUID differs per creation.
        backup_vault_name=f"{stack.stack_name}-{creation}",
        encryption_key=key,
        removal_policy=settings.removal_policy,
        # Governance mode (no `changeable_for`): a principal with backup:DeleteBackupVaultLockConfiguration
        # can still lift the lock, e.g. to shorten retention on purpose. Compliance mode (`changeable_for`
        # set) becomes immutable after its grace period: nobody, not AWS Support nor the account root, can
        # remove it or delete a recovery point before it expires, so a wrong value could never be undone.
        # https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html
        lock_configuration=(
            backup.LockConfiguration(min_retention=Duration.days(settings.vault_lock_min_retention_days))
            if settings.vault_lock
            else None
        ),
    )


class BackupCopyStack(Stack):
    """The vault (and its key) in `backup.copy_region` that receives a copy of every daily snapshot.

    A stack of its own because a vault lives in one region; TapStack reads the vault's ARN through a
    CDK cross-region reference. Key and vault are retained when the stack is deleted.
    """

    def __init__(self, scope: Construct, id: str, *, stack_name: str, config: Config) -> None:
        super().__init__(
            scope,
            id,
            stack_name=stack_name,
            env=Environment(account=config.account, region=config.backup.copy_region),
            description=f"TapStack backup copies of {config.stack_name} ({config.region})",
        )
        self.key: kms.IKey = kms.Key(
            self,
            "CopyKey",
            description=f"Encrypts the backup copies of {config.stack_name}",
            enable_key_rotation=True,
            removal_policy=config.backup.removal_policy,
        )
        self.vault: backup.IBackupVault = _vault(self, "CopyVault", settings=config.backup, key=self.key)
        for name, value in config.tags.items():
            Tags.of(self).add(name, value)
        CfnOutput(self, "CopyVaultName", value=self.vault.backup_vault_name)


class DatabaseBackup(Construct):
    """Daily snapshots of the cluster (copied to `copy_vault` when given) and, when set, continuous backup
    for point-in-time restore, in a vault encrypted with `key`; failed jobs notify `topic`."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: BackupSettings,
        key: kms.IKey,
        cluster: rds.IDatabaseCluster,
        topic: sns.ITopic,
        copy_vault: backup.IBackupVault | None = None,
    ) -> None:
        super().__init__(scope, id)
        self.vault = _vault(self, "Vault", settings=settings, key=key)
        # Named after the stack: two deployments in one account each get their own plan.
        self.plan = backup.BackupPlan(
            self, "Plan", backup_plan_name=backup_plan(Stack.of(self).stack_name), backup_vault=self.vault
        )
        schedule = events.Schedule.cron(minute="0", hour=str(settings.daily_start_hour_utc))
        daily = Duration.days(settings.daily_retention_days)
        self.plan.add_rule(
            backup.BackupPlanRule(
                rule_name="Daily",
                schedule_expression=schedule,
                # Starts within an hour of the scheduled time, or the job is marked EXPIRED (and alerts).
                start_window=Duration.hours(1),
                completion_window=Duration.hours(8),
                delete_after=daily,
                copy_actions=(
                    [backup.BackupPlanCopyActionProps(destination_backup_vault=copy_vault, delete_after=daily)]
                    if copy_vault is not None
                    else None
                ),
            )
        )
        if settings.continuous:
            # Continuous backup (point-in-time restore to any second of the window) needs its own rule;
            # its schedule is when AWS Backup checks the recovery point, not a snapshot.
            # https://docs.aws.amazon.com/aws-backup/latest/devguide/point-in-time-recovery.html
            self.plan.add_rule(
                backup.BackupPlanRule(
                    rule_name="Continuous",
                    schedule_expression=schedule,
                    start_window=Duration.hours(1),
                    completion_window=Duration.hours(8),
                    enable_continuous_backup=True,
                    delete_after=Duration.days(settings.continuous_retention_days),
                )
            )
        self.selection = self.plan.add_selection(
            "Cluster", resources=[backup.BackupResource.from_rds_database_cluster(cluster)]
        )
        acknowledge(
            self.selection,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
            "AWS's own policy for the AWS Backup service role, kept current by AWS; the selection names the "
            "one cluster the role backs up.",
        )

        self.job_failed = events.Rule(
            self,
            "JobFailed",
            description="[BackupJobFailed] an AWS Backup backup or copy job of the database did not complete",
            event_pattern=events.EventPattern(
                source=["aws.backup"],
                detail_type=list(JOB_EVENTS),
                # This cluster's jobs only: another deployment in the account has its own rule.
                detail={"state": list(FAILED_STATES), "resourceArn": [cluster.cluster_arn]},
            ),
            targets=[events_targets.SnsTopic(topic)],
        )
