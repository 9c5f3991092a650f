"""The names TapStack is deployed under, written once: environments, preview names, regions, stack names.

Free of aws_cdk on purpose: infra/ (the CDK app) and the `tapstack` command line both import it, and
the command line must start in milliseconds, not in the seconds aws_cdk takes to import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from tapstack_cli import limits

# The three profiles of infra/profiles.py. Any other valid name is a preview (dev's settings, disposable).
ENVIRONMENTS = ("dev", "staging", "prod")
# Older READMEs deploy with `-c environment=production`; those commands keep working.
ALIASES: Mapping[str, str] = {"production": "prod"}
STACK_PREFIX = "TapStack-"
# Names a preview may not take: a profile's, the pipeline stack's (TapStack-pipeline), an alias.
RESERVED = frozenset({*ENVIRONMENTS, *ALIASES, "pipeline"})

# A web ACL of scope CLOUDFRONT, and the ACM certificate of a distribution, can only be created in
# us-east-1. https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html
EDGE_REGION = "us-east-1"


class InvalidName(ValueError):
    """An environment name that TapStack cannot deploy under."""


# The longest names AWS derives from a preview's name (tapstack_cli/limits.py holds each limit with its page):
# the backup plan `TapStack-<env>-database` and vault `TapStack-<env>-<8 hex>` (50 characters) decide, before
# the Aurora cluster `tapstack-<env>-storefront` (63) and the stack `TapStack-<env>-edge-alarms` (128).
# S3 bucket names CloudFormation derives from the stack name are lower case: so is a preview's name.
PREVIEW_NAME = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
# A preview named like another stack's suffix would take that stack's name (TapStack-x-edge).
COMPANION_SUFFIX = re.compile(r".*-(edge|edge-alarms)|.*-backup-.*")


def derived_names(environment: str) -> list[tuple[str, str]]:
    """(kind of tapstack_cli/limits.py, name) of the longest names AWS derives from an environment's name."""
    stack = stack_name(environment)
    return [
        ("backup_plan", limits.backup_plan(stack)),
        ("backup_vault", stack + limits.VAULT_SUFFIX),
        ("db_cluster", limits.cluster_identifier(stack)),
        ("stack", edge_alarms_stack_name(environment)),
    ]


def longest_preview_name() -> int:
    """The most characters a preview's name may have so that every derived name fits its limit."""
    return min(limits.LIMITS[kind].max_length - len(name) for kind, name in derived_names(""))


def allowed_environments() -> str:
    """What an environment's name may be, as errors and docs say it."""
    return (
        f"one of {', '.join(ENVIRONMENTS)}, or a preview name: lower-case letters, digits and single hyphens, "
        f"starting with a letter, at most {longest_preview_name()} characters (the backup plan and vault names "
        f"derived from it may have 50), not ending like a companion stack (-edge, -edge-alarms, -backup-...), "
        f"not {', '.join(sorted(RESERVED - set(ENVIRONMENTS)))}; for example pr-123"
    )


def check_environment(name: str) -> str:
    """`name` as the environment it deploys (aliases resolved), or InvalidName saying what is allowed."""
    name = ALIASES.get(name, name)
    if name in ENVIRONMENTS:
        return name
    if (
        not PREVIEW_NAME.fullmatch(name)
        or len(name) > longest_preview_name()
        or name in RESERVED
        or COMPANION_SUFFIX.fullmatch(name)
    ):
        raise InvalidName(f"invalid environment {name!r}: allowed is {allowed_environments()}")
    return name


def is_preview(environment: str) -> bool:
    return environment not in ENVIRONMENTS


@dataclass(frozen=True)
class RegionFacts:
    """What synth cannot look up about a region without an account."""

    # com.amazonaws.global.cloudfront.origin-facing: its id differs per region.
    origin_facing_prefix_list_id: str
    # Three zones that CloudFront VPC origins, VPC link v2 and Fargate ARM64 all support.
    availability_zones: tuple[str, ...]


# The regions where every service the stack uses exists, enabled by default in every account:
# - CloudFront VPC origins (all but ap-southeast-6; per-AZ exceptions use1-az3, apne1-az3, cac1-az3):
#   https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-vpc-origins.html
# - REST private integrations to an ALB use VPC links v2, the narrowest list (no ap-northeast-3, most opt-in
#   regions; ca-central-1 and eu-west-3 only in two AZs, so they are left out):
#   https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-vpc-links-v2.html
# - Aurora PostgreSQL Serverless v2 with 17.4 and higher, every commercial region:
#   https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.Aurora_Fea_Regions_DB-eng.Feature.ServerlessV2.html
# - Fargate ARM64: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-arm64.html
# - AWS WAF regional endpoints: https://docs.aws.amazon.com/general/latest/gr/waf.html
# The prefix list ids: AWS documents the list's name only; its id per region is what
# `aws ec2 describe-managed-prefix-lists` returns for com.amazonaws.global.cloudfront.origin-facing (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/LocationsOfEdgeServers.html).
# AZ names map to zone ids per account in us-east-1, us-west-2, eu-west-1, ap-southeast-1/2 and
# ap-northeast-1; docs/configuration.md says how to check (network.availability_zones overrides).
# https://docs.aws.amazon.com/global-infrastructure/latest/regions/az-ids.html
REGIONS: Mapping[str, RegionFacts] = {
    "us-east-1": RegionFacts("pl-3b927c52", ("us-east-1a", "us-east-1b", "us-east-1c")),
    "us-east-2": RegionFacts("pl-b6a144df", ("us-east-2a", "us-east-2b", "us-east-2c")),
    "us-west-2": RegionFacts("pl-82a045eb", ("us-west-2a", "us-west-2b", "us-west-2c")),
    "eu-west-1": RegionFacts("pl-4fa04526", ("eu-west-1a", "eu-west-1b", "eu-west-1c")),
    "eu-west-2": RegionFacts("pl-93a247fa", ("eu-west-2a", "eu-west-2b", "eu-west-2c")),
    "eu-central-1": RegionFacts("pl-a3a144ca", ("eu-central-1a", "eu-central-1b", "eu-central-1c")),
    "eu-north-1": RegionFacts("pl-fab65393", ("eu-north-1a", "eu-north-1b", "eu-north-1c")),
    "ap-southeast-1": RegionFacts("pl-31a34658", ("ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c")),
    "ap-southeast-2": RegionFacts("pl-b8a742d1", ("ap-southeast-2a", "ap-southeast-2b", "ap-southeast-2c")),
    # apne1-az3 has none of the three services; accounts made since 2019 see 1a, 1c and 1d only.
    "ap-northeast-1": RegionFacts("pl-58a04531", ("ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d")),
}


# Where the backup copy of each region's database goes by default: a region of the same geography, far
# enough not to share its failures. A copy region needs no RegionFacts (it holds only a key and a vault).
BACKUP_REGION_PAIRS: Mapping[str, str] = {
    "us-east-1": "us-west-2",
    "us-east-2": "us-west-2",
    "us-west-2": "us-east-1",
    "eu-central-1": "eu-west-1",
    "eu-west-1": "eu-central-1",
    "eu-west-2": "eu-west-1",
    "eu-north-1": "eu-central-1",
    "ap-southeast-1": "ap-southeast-2",
    "ap-southeast-2": "ap-southeast-1",
    "ap-northeast-1": "ap-northeast-3",
}


def stack_name(environment: str) -> str:
    """The regional stack: TapStack-<environment>."""
    return f"{STACK_PREFIX}{environment}"


def edge_stack_name(environment: str) -> str:
    """CloudFront's web ACL and certificate in us-east-1, for a stack outside it."""
    return f"{stack_name(environment)}-edge"


def edge_alarms_stack_name(environment: str) -> str:
    """CloudFront's alarms in us-east-1, for a stack outside it."""
    return f"{stack_name(environment)}-edge-alarms"


def backup_stack_name(environment: str, copy_region: str) -> str:
    """The backup copy vault's stack in the copy region."""
    return f"{stack_name(environment)}-backup-{copy_region}"


@dataclass(frozen=True)
class StackRef:
    """One stack of a profile: its name and the region it lives in."""

    name: str
    region: str

    def __str__(self) -> str:
        return f"{self.name}@{self.region}"

    @classmethod
    def parse(cls, text: str) -> StackRef:
        name, _, region = text.partition("@")
        return cls(name, region)


def profile_stacks(environment: str, region: str, copy_region: str | None = None) -> tuple[StackRef, ...]:
    """Every stack of a profile in the order they may be deleted: what reads another stack first.

    The edge alarms read the regional stack's distribution; the regional stack reads the edge stack's web
    ACL and certificate and the copy stack's vault (CDK cross-region references).
    """
    companions = region != EDGE_REGION
    return tuple(
        ref
        for ref, present in (
            (StackRef(edge_alarms_stack_name(environment), EDGE_REGION), companions),
            (StackRef(stack_name(environment), region), True),
            (StackRef(edge_stack_name(environment), EDGE_REGION), companions),
            (
                StackRef(backup_stack_name(environment, copy_region or ""), copy_region or ""),
                copy_region is not None,
            ),
        )
        if present
    )
