"""infra/keys.py: the customer managed key and its key policy."""

from __future__ import annotations

from aws_cdk.assertions import Match

from tests.synthesis import Synthesized


def test_key_rotates_every_year(profile: Synthesized) -> None:
    """PCI DSS 3.6.4 / AWS KMS best practice: automatic rotation of the customer managed key."""
    profile.template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})


def test_key_policy_lets_cloudwatch_logs_encrypt_only_this_accounts_log_groups(profile: Synthesized) -> None:
    """CloudWatch Logs KMS rule: the key policy must allow logs.<region>.amazonaws.com, scoped by the
    kms:EncryptionContext:aws:logs:arn condition, or creating an encrypted log group fails.
    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/logs/encrypt-log-data-kms.html
    """
    profile.template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "logs.us-east-1.amazonaws.com"},
                                "Action": Match.array_with(["kms:Decrypt*", "kms:Encrypt*", "kms:GenerateDataKey*"]),
                                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": Match.any_value()}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_no_hard_coded_alias(profile: Synthesized) -> None:
    """Seed defect D17: a fixed alias name blocks a second deployment in the same account."""
    profile.template.resource_count_is("AWS::KMS::Alias", 0)


def test_stateful_resource_logical_ids_are_pinned(profile: Synthesized) -> None:
    """CloudFormation replaces a resource whose logical ID changes; for a key that loses every
    encrypted snapshot and object. These IDs must never change."""
    assert set(profile.of_type("AWS::KMS::Key")) == {"KeysDataKey8F3FE3A4"}
