"""AWS's limits on the physical names the app makes, and the names themselves, as functions of a stack name.

Plain Python (no aws_cdk): infra/config.py checks every name of a deployment against its limit when the
Config is built (the error names the setting that made the name), the constructs build their names with
the same functions, and names.py bounds a preview environment's name by them before anything is
synthesized.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class NameLimit:
    """What AWS accepts as one kind of name: at most `max_length` characters matching `pattern`."""

    what: str
    max_length: int
    pattern: str
    characters: str
    doc: str


LIMITS = {
    "stack": NameLimit(
        "CloudFormation stack name",
        128,
        r"[A-Za-z][A-Za-z0-9-]*",
        "letters, digits and hyphens, starting with a letter",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html",
    ),
    "backup_vault": NameLimit(
        "AWS Backup vault name",
        50,
        r"[A-Za-z0-9_-]{2,}",
        "letters, digits, hyphens and underscores",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html",
    ),
    "backup_plan": NameLimit(
        "AWS Backup plan name",
        50,
        r"[A-Za-z0-9_.-]+",
        "letters, digits, hyphens, underscores and periods",
        "https://docs.aws.amazon.com/aws-backup/latest/devguide/API_BackupPlanInput.html",
    ),
    "db_cluster": NameLimit(
        "Aurora DB cluster identifier",
        63,
        r"[a-z](-?[a-z0-9])*",
        "lowercase letters, digits and hyphens, starting with a letter, without two hyphens in a row or a "
        "hyphen at the end",
        "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html",
    ),
    "log_group": NameLimit(
        "CloudWatch Logs log group name",
        512,
        r"[A-Za-z0-9._/#-]+",
        "letters, digits and . _ / # -",
        "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html",
    ),
    "waf_log_group": NameLimit(
        "AWS WAF log group name",
        512,
        r"aws-waf-logs-[A-Za-z0-9._/#-]+",
        "aws-waf-logs- followed by letters, digits and . _ / # -",
        "https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html",
    ),
    # The app lets CloudFormation name these; listed for names set by hand.
    "load_balancer": NameLimit(
        "load balancer name",
        32,
        r"[A-Za-z0-9](-?[A-Za-z0-9])*",
        "letters, digits and hyphens, not starting or ending with a hyphen",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html",
    ),
    "target_group": NameLimit(
        "target group name",
        32,
        r"[A-Za-z0-9](-?[A-Za-z0-9])*",
        "letters, digits and hyphens, not starting or ending with a hyphen",
        "https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateTargetGroup.html",
    ),
}

# A vault's name is its stack's name, a hyphen and the first block of the stack's id (8 hex digits), which
# differs per creation (infra/backup.py).
VAULT_SUFFIX = "-" + "x" * 8


def cluster_identifier(stack_name: str) -> str:
    return f"{stack_name.lower()}-storefront"


def postgres_log_group(identifier: str) -> str:
    """The log group RDS writes a cluster's PostgreSQL log to."""
    return f"/aws/rds/cluster/{identifier}/postgresql"


def waf_log_group(stack_name: str, path: str) -> str:
    """A web ACL's log group: its stack's name and the web ACL construct's path in the stack."""
    return f"aws-waf-logs-{stack_name}-{path}"


def backup_plan(stack_name: str) -> str:
    return f"{stack_name}-database"


def regional_stack_names(stack_name: str, *, web_acl_paths: Iterable[str]) -> list[tuple[str, str]]:
    """(kind, name) of every physical name a TapStack stack makes from its stack name."""
    identifier = cluster_identifier(stack_name)
    return [
        ("stack", stack_name),
        ("db_cluster", identifier),
        ("log_group", postgres_log_group(identifier)),
        ("backup_vault", stack_name + VAULT_SUFFIX),
        ("backup_plan", backup_plan(stack_name)),
        *(("waf_log_group", waf_log_group(stack_name, path)) for path in web_acl_paths),
    ]


def name_problem(kind: str, name: str) -> str | None:
    """Why AWS would refuse `name` as a name of `kind`, or None."""
    limit = LIMITS[kind]
    if len(name) > limit.max_length:
        return f"the {limit.what} {name!r} has {len(name)} characters, at most {limit.max_length} allowed ({limit.doc})"
    if re.fullmatch(limit.pattern, name) is None:
        return f"the {limit.what} {name!r} may only hold {limit.characters} ({limit.doc})"
    return None


def name_problems(names: Iterable[tuple[str, str]]) -> list[str]:
    """The problem of each (kind, name) that AWS would refuse."""
    return [problem for kind, name in names if (problem := name_problem(kind, name)) is not None]
