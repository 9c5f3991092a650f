"""Where logs are kept: the encrypted CloudWatch log group and the S3 access-log bucket, one recipe each."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.compliance import acknowledge


def retained_except_on_create(removal_policy: RemovalPolicy) -> RemovalPolicy:
    """For a resource with a fixed name: RETAIN becomes RetainExceptOnCreate. Retained like RETAIN when the
    stack is updated or deleted, but deleted when the create that made it rolls back, so that a failed first
    create does not leave a name behind that the retry would collide with ("already exists").
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html"""
    return RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE if removal_policy == RemovalPolicy.RETAIN else removal_policy


class EncryptedLogGroup(logs.LogGroup):
    """A log group encrypted with our key, with a retention and a stated removal policy (RetainExceptOnCreate
    instead of RETAIN when it has a fixed name)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        key: kms.IKey,
        retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        log_group_name: str | None = None,
    ) -> None:
        super().__init__(
            scope,
            id,
            log_group_name=log_group_name,
            encryption_key=key,
            retention=retention,
            removal_policy=retained_except_on_create(removal_policy) if log_group_name else removal_policy,
        )


class AccessLogBucket(s3.Bucket):
    """A bucket that receives AWS services' access logs and expires them.

    SSE-S3, not our key: S3 server access logs and ALB access logs accept only SSE-S3 on their target
    bucket. https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
    With `noncurrent_version_days` it is versioned, so a deleted or overwritten log stays recoverable
    until it expires. Where the removal policy destroys, CDK's auto-delete custom resource empties it
    first (CloudFormation cannot delete a bucket that holds objects).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        expiration_days: int,
        removal_policy: RemovalPolicy,
        noncurrent_version_days: int | None = None,
        object_ownership: s3.ObjectOwnership = s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    ) -> None:
        versioned = noncurrent_version_days is not None
        super().__init__(
            scope,
            id,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=object_ownership,
            versioned=versioned or None,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(expiration_days),
                    noncurrent_version_expiration=(
                        Duration.days(noncurrent_version_days) if noncurrent_version_days is not None else None
                    ),
                    abort_incomplete_multipart_upload_after=Duration.days(1) if versioned else None,
                )
            ],
            removal_policy=removal_policy,
            auto_delete_objects=removal_policy is RemovalPolicy.DESTROY,
        )
        for rule, reason in (
            ("AwsSolutions-S1", "This bucket receives access logs; logging its accesses into itself would loop."),
            ("PCI.DSS.321-S3BucketLoggingEnabled", "This bucket receives access logs; logging it would loop."),
            (
                "PCI.DSS.321-S3DefaultEncryptionKMS",
                "S3 server access logging and ALB access logging accept only SSE-S3 on their target bucket; "
                "the logs hold request metadata, no card data.",
            ),
            (
                "PCI.DSS.321-S3BucketReplicationEnabled",
                "Access logs expire after days and are not needed to recover the shop; a replica doubles cost.",
            ),
        ):
            acknowledge(self, rule, reason)
            if rule.startswith("PCI.DSS.321-"):
                # NIST 800-53 rev. 5 runs the same rule under its own name, for the same reason.
                acknowledge(self, rule.replace("PCI.DSS.321-", "NIST.800.53.R5-"), reason)
        if not versioned:
            for rule in ("PCI.DSS.321-S3BucketVersioningEnabled", "NIST.800.53.R5-S3BucketVersioningEnabled"):
                acknowledge(self, rule, "Log objects are written once, never overwritten.")
