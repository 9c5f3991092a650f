"""tapstack_cli/names.py: the names infra/ and the command line share, written once."""

from __future__ import annotations

import pytest

from tapstack_cli import names
from tapstack_cli.names import InvalidName, StackRef, check_environment, profile_stacks


def test_infra_reads_the_same_names() -> None:
    import infra.config

    assert infra.config.REGIONS is names.REGIONS and infra.config.BACKUP_REGION_PAIRS is names.BACKUP_REGION_PAIRS
    assert infra.config.ENVIRONMENTS is names.ENVIRONMENTS and infra.config.EDGE_REGION == names.EDGE_REGION


@pytest.mark.parametrize(("name", "expected"), [("dev", "dev"), ("production", "prod"), ("pr-123", "pr-123")])
def test_profiles_aliases_and_previews_are_environments(name: str, expected: str) -> None:
    assert check_environment(name) == expected


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("PR-1", "lower-case"),  # S3 bucket and Aurora names CloudFormation derives are lower case
        ("pr--1", "single hyphens"),  # Aurora identifiers refuse two hyphens in a row
        ("1pr", "starting with a letter"),
        ("pr-1-", "single hyphens"),
        ("p" * 33, "at most 32 characters"),  # TapStack-<33>-database is 51 > 50 (AWS Backup plan names)
        ("pipeline", "not pipeline"),  # TapStack-pipeline is the delivery pipeline's stack
        ("shop-edge", "companion stack"),  # TapStack-shop-edge is environment shop's us-east-1 stack
        ("shop-backup-us-west-2", "companion stack"),
    ],
)
def test_preview_names_that_aws_or_another_stack_would_refuse(name: str, why: str) -> None:
    with pytest.raises(InvalidName, match=f"invalid environment '{name}': allowed is .*{why}"):
        check_environment(name)


def test_the_longest_preview_name_is_set_by_the_backup_names_50_characters() -> None:
    assert names.longest_preview_name() == 32


def test_stacks_are_listed_in_the_order_they_may_be_deleted() -> None:
    """The edge alarms read the regional stack's distribution; the regional stack reads the edge stack's
    web ACL and the copy vault: consumers go first."""
    assert profile_stacks("prod", "eu-central-1", "eu-west-1") == (
        StackRef("TapStack-prod-edge-alarms", "us-east-1"),
        StackRef("TapStack-prod", "eu-central-1"),
        StackRef("TapStack-prod-edge", "us-east-1"),
        StackRef("TapStack-prod-backup-eu-west-1", "eu-west-1"),
    )
    assert profile_stacks("pr-1", "us-east-1") == (StackRef("TapStack-pr-1", "us-east-1"),)
    assert StackRef.parse(str(StackRef("TapStack-dev", "us-east-1"))) == StackRef("TapStack-dev", "us-east-1")
