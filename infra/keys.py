"""The customer managed KMS key that encrypts the stack's data at rest, and who may use it."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class Keys(Construct):
    """One customer managed key with yearly rotation; consumers add their statements through grants.

    No alias: an alias name is a physical name and would block a second deployment in the account
    (two deployments must fit in one account).
    """

    def __init__(self, scope: Construct, id: str, *, removal_policy: RemovalPolicy) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        self.key: kms.IKey = kms.Key(
            self,
            "DataKey",
            description=f"Encrypts data at rest for {stack.stack_name}",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        # CloudWatch Logs must be allowed to use the key before an encrypted log group can be created,
        # scoped to this account's log groups by the encryption context.
        # https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/logs/encrypt-log-data-kms.html
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogs",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                        )
                    }
                },
            )
        )
