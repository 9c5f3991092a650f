"""The settings schema: one frozen dataclass per concern, each field with what it allows, validated once.

The values of each profile are in infra/profiles.py; infra/context.py reads `<section>.<field>` context
keys into them. Constructs read settings (`settings.deletion_protection`), never the environment's name.
"""

from __future__ import annotations

import enum
import re
import shlex
import types
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints

from aws_cdk import RemovalPolicy
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs

from tapstack_cli import names
from tapstack_cli.limits import VAULT_SUFFIX, name_problems, regional_stack_names, waf_log_group


class ConfigError(ValueError):
    """A setting has a value the stack cannot deploy with."""


def invalid(setting: str, value: object, allowed: str) -> ConfigError:
    """The one error shape of a wrong setting: which setting, which value, what is allowed."""
    return ConfigError(f"invalid setting {setting}={value!r}: allowed is {allowed}")


@dataclass(frozen=True)
class Allowed:
    """What a setting accepts, as a test and as the sentence errors and docs/configuration.md print."""

    description: str
    test: Callable[[Any], bool]


def between(low: float, high: float, unit: str) -> Allowed:
    return Allowed(f"{low} to {high} {unit}", lambda value: low <= value <= high)


def at_least(low: float, unit: str) -> Allowed:
    return Allowed(f"at least {low} {unit}", lambda value: value >= low)


def positive(unit: str) -> Allowed:
    return Allowed(f"a positive number ({unit})", lambda value: value > 0)


def percentage() -> Allowed:
    return Allowed("a percentage above 0 and at most 100", lambda value: 0 < value <= 100)


def one_of(*values: object) -> Allowed:
    names = ", ".join(value.name if isinstance(value, enum.Enum) else str(value) for value in values)
    return Allowed(f"one of {names}", lambda value: value in values)


def matching(pattern: str, description: str) -> Allowed:
    return Allowed(description, lambda value: re.fullmatch(pattern, value) is not None)


def setting(allowed: Allowed | None = None, default: Any = MISSING, default_factory: Any = MISSING) -> Any:
    """A dataclass field that carries what it allows (read by `Settings.validate` and the docs)."""
    return field(default=default, default_factory=default_factory, metadata={"allowed": allowed})


# CloudWatch Logs accepts only these retention periods (days).
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
RETENTION_DAYS = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}
LOG_RETENTION = Allowed(
    f"one of the CloudWatch Logs retention periods {sorted(RETENTION_DAYS)} (days)",
    lambda value: value in RETENTION_DAYS,
)
# A WAF rate-based rule counts requests per IP over 5 minutes; AWS accepts 10 to 2,000,000,000.
# https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-request-limiting.html
WAF_RATE_LIMIT = between(10, 2_000_000_000, "requests per 5 minutes per IP")
# The AWS managed rule groups a web ACL may run (each is billed as one rule, 1 USD a month); at least the
# baseline (CommonRuleSet) stays in front of every door.
# https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-list.html
WAF_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)
WAF_GROUPS = Allowed(
    f"1 to 3 of {', '.join(WAF_RULE_GROUPS)}, with AWSManagedRulesCommonRuleSet among them",
    lambda groups: (
        1 <= len(groups) <= len(set(groups)) <= 3
        and set(groups) <= set(WAF_RULE_GROUPS)
        and "AWSManagedRulesCommonRuleSet" in groups
    ),
)


def type_name(hint: Any) -> str:
    """How docs and errors name a field's type."""
    if get_origin(hint) in (Union, types.UnionType):
        (inner,) = (arg for arg in get_args(hint) if arg is not type(None))
        return f"{type_name(inner)} or none"
    if get_origin(hint) is tuple:
        return f"list of {type_name(get_args(hint)[0])}"
    if get_origin(hint) is dict:
        return f"map of name to {type_name(get_args(hint)[1])}"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return f"one of {', '.join(member.name for member in hint)}"
    return {int: "integer", float: "number", bool: "true or false", str: "text"}[hint]


def has_type(value: object, hint: Any) -> bool:
    if get_origin(hint) in (Union, types.UnionType):
        return any(has_type(value, arg) for arg in get_args(hint))
    if get_origin(hint) is tuple:
        return isinstance(value, tuple) and all(has_type(item, get_args(hint)[0]) for item in value)
    if get_origin(hint) is dict:
        key_type, value_type = get_args(hint)
        return isinstance(value, dict) and all(
            has_type(name, key_type) and has_type(item, value_type) for name, item in value.items()
        )
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


class Settings:
    """Base of every settings section: each field is checked for its type and what it allows."""

    section: ClassVar[str]

    def validate(self, prefix: str | None = None) -> None:
        """Check every field; `prefix` names the section in errors when it is a map entry (`jobs.<name>`)."""
        hints = get_type_hints(type(self))
        for item in fields(self):  # type: ignore[arg-type]
            value = getattr(self, item.name)
            key = f"{prefix or self.section}.{item.name}"
            if not has_type(value, hints[item.name]):
                raise invalid(key, value, type_name(hints[item.name]))
            allowed: Allowed | None = item.metadata["allowed"]
            if allowed is not None and isinstance(value, dict):
                # A map is judged entry by entry, so that the error names the entry: `service.secrets.X`.
                for name, entry in value.items():
                    if not allowed.test({name: entry}):
                        raise invalid(f"{key}.{name}", entry, allowed.description)
            elif allowed is not None and value is not None and not allowed.test(value):
                raise invalid(key, value, allowed.description)
        self.check()

    def check(self) -> None:
        """Rules between fields of this section."""


@dataclass(frozen=True, kw_only=True)
class NetworkSettings(Settings):
    section: ClassVar[str] = "network"

    cidr: str = setting(matching(r"10\.\d{1,3}\.0\.0/16", "a 10.x.0.0/16 block (room for three tiers of subnets)"))
    # Empty: the region's zones from REGIONS. Named so that synth needs no account lookup.
    availability_zones: tuple[str, ...] = setting(default=())
    nat_gateways: int = setting(at_least(1, "gateways"))
    flow_log_retention_days: int = setting(LOG_RETENTION)
    # A NAT instance of this type instead of managed NAT gateways (about 7 USD/month instead of 37).
    nat_instance_type: str | None = setting(
        matching(
            r"t4g\.(nano|micro|small)",
            "t4g.nano, t4g.micro or t4g.small (Graviton burstable; the AMI is ARM64), or none for NAT gateways",
        ),
        default=None,
    )

    def check(self) -> None:
        if not 2 <= len(self.availability_zones) <= 3:
            raise invalid("network.availability_zones", self.availability_zones, "2 or 3 zones")
        if self.nat_gateways > len(self.availability_zones):
            raise invalid(
                "network.nat_gateways",
                self.nat_gateways,
                f"1 to {len(self.availability_zones)} (one per availability zone at most)",
            )

    @property
    def flow_log_retention(self) -> logs.RetentionDays:
        return RETENTION_DAYS[self.flow_log_retention_days]


# Aurora Serverless v2 capacity is set in steps of 0.5 ACU, from 0 (auto-pause) to 256.
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.setting-capacity.html
ACU = Allowed("0 to 256 ACU in steps of 0.5", lambda value: 0 <= value <= 256 and (value * 2) % 1 == 0)


@dataclass(frozen=True, kw_only=True)
class DatabaseSettings(Settings):
    section: ClassVar[str] = "database"

    min_capacity: float = setting(ACU)
    max_capacity: float = setting(ACU)
    readers: int = setting(between(0, 2, "readers (one per other AZ)"), default=0)
    # Minutes without connections before a 0-ACU writer pauses (only used when min_capacity is 0).
    auto_pause_minutes: int = setting(between(5, 1440, "minutes"), default=60)
    backup_retention_days: int = setting(between(1, 35, "days"))
    deletion_protection: bool = setting(default=True)
    # SNAPSHOT keeps a final snapshot when the stack or the cluster is deleted; DESTROY does not.
    removal_policy: RemovalPolicy = setting(
        one_of(RemovalPolicy.SNAPSHOT, RemovalPolicy.DESTROY), default=RemovalPolicy.SNAPSHOT
    )
    performance_insights: bool = setting(default=True)
    # Enhanced monitoring's interval in seconds, 0 for off (RDS accepts 1, 5, 10, 15, 30, 60).
    # https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_Monitoring.OS.Enabling.html
    enhanced_monitoring_seconds: int = setting(one_of(0, 1, 5, 10, 15, 30, 60), default=0)
    log_retention_days: int = setting(LOG_RETENTION)
    rotation_days: int = setting(between(1, 365, "days"), default=30)
    database_name: str = setting(
        matching(r"[a-z][a-z0-9_]{0,62}", "a PostgreSQL identifier: [a-z][a-z0-9_]*"), default="storefront"
    )
    # Restore: the cluster is created from this cluster snapshot (an AWS Backup recovery point's ARN, or a
    # snapshot's name in the stack's region). Once set, keep it on every later deploy (docs/restore.md).
    snapshot_identifier: str | None = setting(
        matching(
            r"arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:cluster-snapshot:[A-Za-z0-9:_-]{1,255}|[A-Za-z][A-Za-z0-9:_-]{0,254}",
            "a DB cluster snapshot ARN (arn:aws:rds:<region>:<account>:cluster-snapshot:<name>) or name",
        ),
        default=None,
    )

    def check(self) -> None:
        if self.max_capacity < 1:
            raise invalid("database.max_capacity", self.max_capacity, "at least 1 ACU")
        if self.min_capacity > self.max_capacity:
            raise invalid(
                "database.min_capacity", self.min_capacity, f"at most database.max_capacity ({self.max_capacity})"
            )
        if self.deletion_protection and self.removal_policy is RemovalPolicy.DESTROY:
            raise invalid("database.removal_policy", "DESTROY", "SNAPSHOT when deletion_protection is on")

    @property
    def log_retention(self) -> logs.RetentionDays:
        return RETENTION_DAYS[self.log_retention_days]


# Fargate task sizes: CPU units and the memory (MiB) each allows.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
FARGATE_SIZES = {256: (512, 1024, 2048), 512: (1024, 2048, 3072, 4096), 1024: tuple(range(2048, 8193, 1024))}


_REGISTRY_HOST = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:\d+)?"
_IMAGE_PATH = r"[a-z0-9]+([._/-][a-z0-9]+)*"
_IMAGE_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_IMAGE_DIGEST = r"sha256:[0-9a-f]{64}"
# A private ECR repository: <account>.dkr.ecr.<region>.amazonaws.com.
ECR_HOST = r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com"
# Registries that serve public images without credentials (a bare name like nginx:1.27 is Docker Hub's).
PUBLIC_REGISTRIES = ("docker.io", "public.ecr.aws", "ghcr.io", "quay.io", "registry.k8s.io", "mcr.microsoft.com")


# The variables the platform sets in the service's container (infra/service.py): a shop's own
# `service.environment` or `service.secrets` may not replace them.
PLATFORM_VARIABLES = frozenset(
    {
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_SECRET_ARN",
        "DB_USERNAME",
        "DB_PASSWORD",
        "STOREFRONT_ADMIN_TOKEN",
        "STOREFRONT_MIGRATE_ON_START",
    }
)
# What ECS and Fargate set in every container: the task role's credentials, the metadata endpoint, the region.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-metadata-endpoint-v4-fargate.html
ECS_VARIABLES = frozenset(
    {
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "ECS_CONTAINER_METADATA_URI",
        "ECS_CONTAINER_METADATA_URI_V4",
        "ECS_AGENT_URI",
    }
)
RESERVED_VARIABLES = PLATFORM_VARIABLES | ECS_VARIABLES
# An environment variable name as ECS and a POSIX shell take it.
VARIABLE_NAME = r"[A-Za-z_][A-Za-z0-9_]{0,254}"
_REGION = r"[a-z]{2}(-[a-z]+)+-\d"
# The `valueFrom` ECS takes for a secret: a Secrets Manager secret ARN, optionally followed by
# `:json-key:version-stage:version-id` (empty parts allowed), or an SSM Parameter Store parameter ARN.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-ssm-paramstore.html
SECRETS_MANAGER_VALUE_FROM = re.compile(
    rf"(?P<arn>arn:(?P<partition>aws[a-z-]*):secretsmanager:(?P<region>{_REGION}):\d{{12}}:secret:"
    # The complete ARN, with the 6 characters Secrets Manager appends to the name: the role is granted it exactly.
    r"(?P<name>[A-Za-z0-9/_+=.@-]{1,505}-[A-Za-z0-9]{6}))"
    r"(:(?P<json_key>[^:]*)(:(?P<version_stage>[^:]*)(:(?P<version_id>[^:]*))?)?)?"
)
SSM_VALUE_FROM = re.compile(
    rf"(?P<arn>arn:(?P<partition>aws[a-z-]*):ssm:(?P<region>{_REGION}):\d{{12}}:parameter/(?P<name>[A-Za-z0-9/_.-]{{1,1011}}))"
)
KMS_KEY_ARN = (
    rf"arn:aws[a-z-]*:kms:{_REGION}:\d{{12}}:key/[0-9a-f-]{{36}}"
    rf"|arn:aws[a-z-]*:kms:{_REGION}:\d{{12}}:key/mrk-[0-9a-f]{{32}}"
)


@dataclass(frozen=True)
class SecretReference:
    """One `service.secrets` value, parsed: where ECS reads it and which part of it."""

    arn: str
    source: str  # "secretsmanager" or "ssm"
    partition: str
    region: str
    json_key: str | None = None
    version_stage: str | None = None
    version_id: str | None = None


def secret_reference(value: str) -> SecretReference | None:
    """The reference a `service.secrets` value makes, or None when it is neither form ECS takes."""
    match = SECRETS_MANAGER_VALUE_FROM.fullmatch(value)
    if match is not None:
        return SecretReference(
            arn=match["arn"],
            source="secretsmanager",
            partition=match["partition"],
            region=match["region"],
            json_key=match["json_key"] or None,
            version_stage=match["version_stage"] or None,
            version_id=match["version_id"] or None,
        )
    match = SSM_VALUE_FROM.fullmatch(value)
    if match is not None:
        return SecretReference(arn=match["arn"], source="ssm", partition=match["partition"], region=match["region"])
    return None


def partition_of(region: str) -> str:
    """The AWS partition a region belongs to (every region of REGIONS is in `aws`)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


_VARIABLES = Allowed(
    f"environment variable names ({VARIABLE_NAME}) to text, none of the platform's: "
    + ", ".join(sorted(PLATFORM_VARIABLES)),
    lambda variables: all(re.fullmatch(VARIABLE_NAME, name) for name in variables),
)
_SECRETS = Allowed(
    "environment variable names to a complete Secrets Manager secret ARN (with its 6-character suffix), "
    "optionally followed by :json-key:version-stage:version-id "
    "(arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>:<key>::), "
    "or an SSM parameter ARN (arn:aws:ssm:<region>:<account>:parameter/<name>)",
    lambda secrets: all(
        re.fullmatch(VARIABLE_NAME, name) and secret_reference(value) is not None for name, value in secrets.items()
    ),
)


def _splits(command: str) -> bool:
    try:
        return len(shlex.split(command)) > 0 and len(command) <= 1000
    except ValueError:  # an unbalanced quote
        return False


# A command as ECS runs it: split into words like a shell does, but run without one (the image may have
# none); write `sh -c "a && b"` for pipes, `&&` or variables.
COMMAND = Allowed("a command line of at most 1000 characters, quotes balanced (run without a shell)", _splits)
# The command the bundled storefront's release step runs: its schema migrations.
BUNDLED_RELEASE_COMMAND = "storefront migrate"


# The Fargate capacity providers a service's tasks may run on.
FARGATE_CAPACITY = ("FARGATE", "FARGATE_SPOT")


@dataclass(frozen=True, kw_only=True)
class ServiceSettings(Settings):
    section: ClassVar[str] = "service"

    cpu: int = setting(one_of(*FARGATE_SIZES), default=256)
    memory_mib: int = setting(default=512)
    min_tasks: int = setting(at_least(1, "tasks"))
    max_tasks: int = setting(at_least(1, "tasks"))
    cpu_target_percent: int = setting(between(10, 90, "percent"), default=60)
    memory_target_percent: int = setting(between(10, 90, "percent"), default=75)
    requests_per_target: int = setting(positive("requests per task per minute"), default=500)
    log_retention_days: int = setting(LOG_RETENTION)
    access_log_expiry_days: int = setting(positive("days"))
    # Seconds: scale out fast on load, scale in slowly so a dip does not drop capacity twice.
    scale_out_cooldown_seconds: int = setting(positive("seconds"), default=60)
    scale_in_cooldown_seconds: int = setting(positive("seconds"), default=300)
    # The load balancer cannot be deleted (by a stack delete or by hand) until this is turned off.
    load_balancer_deletion_protection: bool = setting(default=True)
    # Seconds a starting task has before failed health checks count (migrations are the release step's).
    health_check_grace_seconds: int = setting(positive("seconds"), default=120)
    # The shop's own image (none: build storefront/ at synth); docs/your-app.md is the contract it meets.
    image: str | None = setting(
        matching(
            # Docker's reference grammar: name[:tag][@digest], here with a tag, a digest or both.
            # https://docs.docker.com/reference/cli/docker/image/tag/
            rf"({_REGISTRY_HOST}/)?{_IMAGE_PATH}(:{_IMAGE_TAG}(@{_IMAGE_DIGEST})?|@{_IMAGE_DIGEST})",
            "an image URI with a tag, a digest or both, like 123456789012.dkr.ecr.eu-central-1.amazonaws.com/"
            "shop:1.4.2 or shop:1.4.2@sha256:<64 hex digits>",
        ),
        default=None,
    )
    # Pull credentials for a private registry outside ECR: a Secrets Manager secret with username/password.
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/private-auth.html
    image_credentials_secret_arn: str | None = setting(
        matching(r"arn:aws:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+", "a Secrets Manager secret ARN"), default=None
    )
    container_port: int = setting(between(1, 65535, "(a TCP port)"), default=8000)
    health_check_path: str = setting(matching(r"/[A-Za-z0-9/_.-]*", "a URL path like /health"), default="/health")
    # Paths the load balancer forwards to the service, besides the health check path and what is under it.
    paths: tuple[str, ...] = setting(
        Allowed(
            "1 to 4 path patterns like /api/* (a listener rule takes 5 values, one is the health path)",
            lambda paths: 1 <= len(paths) <= 4 and all(re.fullmatch(r"/[A-Za-z0-9/_.*?-]*", path) for path in paths),
        ),
        default=("/api/*",),
    )
    # A shell command that exits 0 when the container is healthy (none: the load balancer's check decides).
    # The bundled storefront has its own; a foreign image may have no Python to run it with.
    container_health_command: str | None = setting(default=None)
    # ECS Exec into running tasks (`tapstack exec`): session output logged to an encrypted log group, the
    # session encrypted with the stack's key, every session in CloudTrail (ExecuteCommand).
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html
    execute_command: bool = setting(default=True)
    # CloudWatch Container Insights on the cluster: running, desired and pending tasks and the resources they
    # use, per cluster, service and task family, billed as custom metrics (make cost prices them); the
    # TasksBelowDesired alarm reads them. Off, the service keeps ECS's own CPU and memory metrics and the
    # load balancer's healthy-task alarms. https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-ECS.html
    container_insights: bool = setting(default=True)
    # Where the service's tasks run: FARGATE (on demand) or FARGATE_SPOT (spare capacity, up to 70% off,
    # stopped with a two-minute warning when AWS needs it back, and not started while none is free).
    # FARGATE_SPOT runs Linux ARM64 tasks on platform version 1.4.0 or later.
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html
    capacity: str = setting(one_of(*FARGATE_CAPACITY), default="FARGATE")
    # ROLLING replaces tasks in place; BLUE_GREEN starts a full second set on the alternate target group,
    # shifts all traffic at once and keeps the old set for the bake time, so a rollback is instant.
    deployment_strategy: ecs.DeploymentStrategy = setting(
        one_of(ecs.DeploymentStrategy.ROLLING, ecs.DeploymentStrategy.BLUE_GREEN),
        default=ecs.DeploymentStrategy.ROLLING,
    )
    # Minutes both sets run after the shift while the deployment alarms watch (ECS allows 0 to 1440).
    bake_time_minutes: int = setting(between(0, 1440, "minutes"), default=10)
    # The deployment alarms: a release whose targets answer worse than this is rolled back by ECS.
    deployment_5xx_percent: float = setting(percentage(), default=5)
    deployment_p99_seconds: float = setting(positive("seconds"), default=1.5)
    # Requests per minute below which the 5xx rate is not judged (one failed request of two is not a trend).
    deployment_min_requests: int = setting(positive("requests per minute"), default=10)
    # The app's own settings, as plain environment variables of its container (and of its release and jobs).
    environment: dict[str, str] = setting(_VARIABLES, default_factory=dict)
    # The app's secrets, injected by ECS at task start; the execution role may read exactly these.
    secrets: dict[str, str] = setting(_SECRETS, default_factory=dict)
    # Customer-managed KMS keys the secrets above are encrypted with (none needed for the AWS managed key):
    # the execution role may decrypt with exactly these, and only through Secrets Manager or SSM.
    secrets_kms_key_arns: tuple[str, ...] = setting(
        Allowed(
            "KMS key ARNs (arn:aws:kms:<region>:<account>:key/<id>)",
            lambda arns: all(re.fullmatch(KMS_KEY_ARN, arn) for arn in arns),
        ),
        default=(),
    )
    # Runs once per deployment, as a one-off task of the new task definition, before any new task gets
    # traffic (docs/your-app.md). None: the bundled storefront's `storefront migrate`; nothing for your image.
    release_command: str | None = setting(COMMAND, default=None)
    # The release step fails (and the deployment stops) when its task runs longer than this.
    release_timeout_minutes: int = setting(between(1, 50, "minutes"), default=15)

    def check(self) -> None:
        if self.image is not None and self.image_registry == "private" and self.image_credentials_secret_arn is None:
            raise invalid(
                "service.image",
                self.image,
                "an ECR image, a public registry's (" + ", ".join(PUBLIC_REGISTRIES) + "), or a private registry's "
                "with service.image_credentials_secret_arn",
            )
        if self.memory_mib not in FARGATE_SIZES[self.cpu]:
            raise invalid("service.memory_mib", self.memory_mib, f"one of {FARGATE_SIZES[self.cpu]} for cpu={self.cpu}")
        if self.max_tasks < self.min_tasks:
            raise invalid("service.max_tasks", self.max_tasks, f"at least service.min_tasks ({self.min_tasks})")
        if self.scale_in_cooldown_seconds <= self.scale_out_cooldown_seconds:
            raise invalid(
                "service.scale_in_cooldown_seconds",
                self.scale_in_cooldown_seconds,
                f"longer than service.scale_out_cooldown_seconds ({self.scale_out_cooldown_seconds})",
            )
        for section, variables in (("environment", self.environment), ("secrets", self.secrets)):
            for name in sorted(set(variables) & RESERVED_VARIABLES):
                raise invalid(
                    f"service.{section}.{name}",
                    variables[name],
                    f"a name the platform does not set itself (it sets {', '.join(sorted(RESERVED_VARIABLES))})",
                )
        for name in sorted(set(self.environment) & set(self.secrets)):
            raise invalid(f"service.environment.{name}", self.environment[name], "a name not also in service.secrets")

    @property
    def release(self) -> tuple[str, ...]:
        """The release step's command as ECS runs it (split like a shell, no shell), or () for none."""
        command = self.release_command or (BUNDLED_RELEASE_COMMAND if self.image is None else None)
        return tuple(shlex.split(command)) if command else ()

    @property
    def secret_references(self) -> dict[str, SecretReference]:
        references = {name: secret_reference(value) for name, value in self.secrets.items()}
        return {name: reference for name, reference in references.items() if reference is not None}

    @property
    def log_retention(self) -> logs.RetentionDays:
        return RETENTION_DAYS[self.log_retention_days]

    @property
    def image_reference(self) -> tuple[str, str | None, str | None]:
        """`image` as (name, tag, digest); with both, the digest is what ECS pulls and the tag a label."""
        assert self.image is not None
        rest, _, digest = self.image.partition("@")
        host, slash, path = rest.rpartition("/")
        path, colon, tag = path.partition(":")
        return f"{host}{slash}{path}", (tag if colon else None), (digest or None)

    @property
    def image_registry(self) -> str:
        """Where `image` comes from: "ecr" (a private ECR repository), "public", or "private"."""
        host = self.image.split("/")[0] if self.image and "/" in self.image else ""
        if re.fullmatch(ECR_HOST, host):
            return "ecr"
        if self.image_credentials_secret_arn is None and ("." not in host or host in PUBLIC_REGISTRIES):
            return "public"
        return "private"


@dataclass(frozen=True, kw_only=True)
class ApiSettings(Settings):
    """The partner REST API's usage plan, WAF rate limit, logging and tracing."""

    section: ClassVar[str] = "api"

    # Usage plan and stage throttling: steady requests per second and the token-bucket burst. API Gateway
    # throttles at most 10,000 requests per second per account and Region; more is never reached.
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
    rate_limit: float = setting(
        Allowed("more than 0 and at most 10000 requests/s", lambda value: 0 < value <= 10_000), default=1000
    )
    burst_limit: int = setting(default=2000)
    # Requests each API key may make per calendar month.
    monthly_quota: int = setting(positive("requests per month"), default=1_000_000)
    # Requests one client IP may make in any 5-minute window before WAF blocks it.
    waf_rate_limit: int = setting(WAF_RATE_LIMIT, default=2000)
    # The AWS managed rule groups of the API's web ACL, beside the rate limit (1 USD a month each).
    waf_rule_groups: tuple[str, ...] = setting(WAF_GROUPS, default=WAF_RULE_GROUPS)
    # Partners call the API through the storefront's CloudFront distribution (<CloudFrontURL>/v1/...), whose
    # web ACL inspects their requests, and the API refuses a call that did not come through it: one web ACL
    # for both doors, 8 USD a month less. api.waf_rate_limit and api.waf_rule_groups then apply to nothing.
    through_cloudfront: bool = setting(default=False)
    access_log_retention_days: int = setting(LOG_RETENTION, default=30)
    tracing: bool = setting(default=True)

    def check(self) -> None:
        if self.burst_limit < self.rate_limit:
            raise invalid("api.burst_limit", self.burst_limit, f"at least api.rate_limit ({self.rate_limit}) requests")

    @property
    def access_log_retention(self) -> logs.RetentionDays:
        return RETENTION_DAYS[self.access_log_retention_days]


_CLOUDFRONT_CERTIFICATE = r"arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}"


@dataclass(frozen=True, kw_only=True)
class EdgeSettings(Settings):
    """The browser front door: CloudFront, its WAF web ACL and the site's buckets."""

    section: ClassVar[str] = "edge"

    price_class: cloudfront.PriceClass = setting(default=cloudfront.PriceClass.PRICE_CLASS_100)
    # Requests from one IP address in any 5-minute window before the WAF blocks it.
    waf_rate_limit: int = setting(WAF_RATE_LIMIT, default=2000)
    # The AWS managed rule groups of CloudFront's web ACL, beside the rate limit (1 USD a month each).
    waf_rule_groups: tuple[str, ...] = setting(WAF_GROUPS, default=WAF_RULE_GROUPS)
    # Days a replaced or deleted page version stays in the versioned site bucket.
    noncurrent_version_days: int = setting(between(1, 3650, "days"))
    # Days CloudFront and S3 access logs stay in the log bucket; also the edge's log groups' retention.
    access_log_days: int = setting(LOG_RETENTION)
    # Empty: the region's id from REGIONS (com.amazonaws.global.cloudfront.origin-facing).
    origin_facing_prefix_list_id: str = setting(
        matching(
            r"pl-[0-9a-f]{8,17}",
            "the id (pl-...) of com.amazonaws.global.cloudfront.origin-facing in the stack's region",
        ),
        default="",
    )
    # A custom domain, with its us-east-1 ACM certificate or without (then the app requests one in
    # us-east-1, validated by DNS: add the CNAME that ACM shows to the domain's zone while it deploys).
    domain_name: str | None = setting(
        matching(
            r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", "a DNS name like shop.example.com"
        ),
        default=None,
    )
    certificate_arn: str | None = setting(
        matching(
            _CLOUDFRONT_CERTIFICATE,
            "an ACM certificate ARN in us-east-1 (arn:aws:acm:us-east-1:<account>:certificate/<id>), "
            "the only region CloudFront takes certificates from",
        ),
        default=None,
    )

    def check(self) -> None:
        if self.certificate_arn is not None and self.domain_name is None:
            raise invalid("edge.certificate_arn", self.certificate_arn, "a certificate only with edge.domain_name")

    @property
    def log_retention(self) -> logs.RetentionDays:
        return RETENTION_DAYS[self.access_log_days]


@dataclass(frozen=True, kw_only=True)
class AlertSettings(Settings):
    """Where alerts go and the thresholds of the alarms (infra/monitoring, docs/operations.md)."""

    section: ClassVar[str] = "alerts"

    email_address: str | None = setting(
        matching(
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
            "an e-mail address like ops@example.com, or no value",
        ),
        default=None,
    )
    target_5xx_percent: float = setting(percentage(), default=5)
    load_balancer_5xx_percent: float = setting(percentage(), default=5)
    target_p99_seconds: float = setting(positive("seconds"), default=1.5)
    task_cpu_percent: int = setting(percentage(), default=85)
    task_memory_percent: int = setting(percentage(), default=85)
    database_cpu_percent: int = setting(percentage(), default=80)
    database_acu_percent: int = setting(percentage(), default=90)
    database_connections: int = setting(positive("connections"), default=400)
    database_freeable_memory_mib: int = setting(positive("MiB"), default=256)
    database_free_local_storage_mib: int = setting(positive("MiB"), default=1024)
    replica_lag_ms: int = setting(positive("milliseconds"), default=2000)
    api_5xx_percent: float = setting(percentage(), default=1)
    api_4xx_percent: float = setting(percentage(), default=25)
    api_p99_ms: int = setting(positive("milliseconds"), default=2500)
    cloudfront_5xx_percent: float = setting(percentage(), default=5)
    waf_blocked_requests: int = setting(positive("requests per 5 minutes"), default=1000)
    # The CloudWatch dashboard of golden signals per tier (3 USD a month; the alarms do not need it).
    dashboard: bool = setting(default=True)


# A CodeConnections connection (or its former name, CodeStar Connections) to GitHub, GitLab or Bitbucket.
# https://docs.aws.amazon.com/dtconsole/latest/userguide/welcome-connections.html
_CONNECTION_ARN = (
    r"arn:aws(-[a-z]+)*:(codeconnections|codestar-connections):[a-z]{2}(-[a-z]+)+-\d:\d{12}:"
    r"connection/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
_ACCOUNT = matching(r"\d{12}", "a 12-digit AWS account id, or no value for the pipeline's account")


@dataclass(frozen=True, kw_only=True)
class PipelineSettings(Settings):
    """The delivery pipeline (infra/pipeline.py): synthesized only when its source is set."""

    section: ClassVar[str] = "pipeline"

    connection_arn: str | None = setting(
        matching(
            _CONNECTION_ARN,
            "a connection ARN: arn:aws:codeconnections:<region>:<account>:connection/<uuid> "
            "(or arn:aws:codestar-connections:...)",
        ),
        default=None,
    )
    repository: str | None = setting(
        matching(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", "owner/name of the repository, like acme/shop-platform"),
        default=None,
    )
    branch: str = setting(matching(r"[A-Za-z0-9._/-]+", "a branch name like main or release/2026"), default="main")
    # Where the pipeline runs; none: the connection's account (a connection serves its own account only).
    account: str | None = setting(_ACCOUNT, default=None)
    # Where each stage deploys; none: the pipeline's account.
    staging_account: str | None = setting(_ACCOUNT, default=None)
    prod_account: str | None = setting(_ACCOUNT, default=None)
    # Retention of the CodeBuild logs (synth, asset publishing, checks).
    log_retention_days: int = setting(LOG_RETENTION, default=90)
    # Days a pipeline artifact (source zip, cloud assembly) and an artifact-bucket access log are kept.
    artifact_days: int = setting(between(1, 3650, "days"), default=30)
    # The key, artifact bucket and build logs when the pipeline stack is deleted.
    removal_policy: RemovalPolicy = setting(
        one_of(RemovalPolicy.RETAIN, RemovalPolicy.DESTROY), default=RemovalPolicy.RETAIN
    )

    def check(self) -> None:
        if (self.connection_arn is None) != (self.repository is None):
            raise invalid(
                "pipeline.connection_arn/pipeline.repository",
                (self.connection_arn, self.repository),
                "both (the connection and the owner/name it reads) or neither (no pipeline)",
            )

    @property
    def enabled(self) -> bool:
        return self.connection_arn is not None

    @property
    def home_account(self) -> str | None:
        """The pipeline's account: as set, else the connection's. CodePipeline's cross-region stages (the
        us-east-1 companions, prod's backup copy region) need it named."""
        return self.account or (self.connection_arn.split(":")[4] if self.connection_arn else None)

    @property
    def cross_account(self) -> bool:
        """A stage deploys into an account that is not known to be the pipeline's."""
        return any(
            account is not None and account != self.home_account
            for account in (self.staging_account, self.prod_account)
        )

    @property
    def log_retention(self) -> logs.RetentionDays:
        return RETENTION_DAYS[self.log_retention_days]


@dataclass(frozen=True, kw_only=True)
class BackupSettings(Settings):
    """AWS Backup of the database: daily snapshots, continuous backup, a copy in a second region, vault lock."""

    section: ClassVar[str] = "backup"

    # Days each daily snapshot is kept (AWS Backup accepts 1 day and up).
    daily_retention_days: int = setting(between(1, 3650, "days"))
    # Hour (UTC) the daily snapshot starts: after Aurora's own backup window (03:00-04:00) and the
    # Sunday maintenance window (04:30-05:30).
    daily_start_hour_utc: int = setting(between(0, 23, "hours UTC"), default=6)
    # Continuous backup for point-in-time restore: AWS Backup keeps it 1 to 35 days.
    # https://docs.aws.amazon.com/aws-backup/latest/devguide/point-in-time-recovery-retention-period.html
    continuous: bool = setting(default=False)
    continuous_retention_days: int = setting(between(1, 35, "days"), default=7)
    # Copy each daily snapshot to a vault in `copy_region` (created by the app in a stack there).
    cross_region_copy: bool = setting(default=False)
    # Empty: the stack region's pair from BACKUP_REGION_PAIRS.
    copy_region: str = setting(default="")
    # Vault lock in governance mode: no one without the vault-lock permissions can delete a recovery
    # point, or shorten its retention, before `vault_lock_min_retention_days`.
    vault_lock: bool = setting(default=False)
    vault_lock_min_retention_days: int = setting(between(1, 36500, "days"), default=7)
    # The vaults and the copy region's key when their stack is deleted. RETAIN keeps the recovery points
    # (their lifecycle expires them); DESTROY (previews) deletes them: `tapstack destroy` empties the vault.
    removal_policy: RemovalPolicy = setting(
        one_of(RemovalPolicy.RETAIN, RemovalPolicy.DESTROY), default=RemovalPolicy.RETAIN
    )

    def check(self) -> None:
        if self.vault_lock and self.removal_policy is RemovalPolicy.DESTROY:
            # A locked vault refuses to delete a recovery point before its minimum retention.
            raise invalid("backup.removal_policy", "DESTROY", "RETAIN when backup.vault_lock is on")
        if self.vault_lock:
            kept = {"backup.daily_retention_days": self.daily_retention_days}
            if self.continuous:
                kept["backup.continuous_retention_days"] = self.continuous_retention_days
            for key, days in kept.items():
                # A locked vault refuses a backup whose retention is shorter than its minimum.
                if days < self.vault_lock_min_retention_days:
                    raise invalid(
                        key,
                        days,
                        f"at least backup.vault_lock_min_retention_days ({self.vault_lock_min_retention_days})",
                    )


# Environments, regions and stack names live in tapstack_cli/src/tapstack_cli/names.py, free of aws_cdk,
# so that the `tapstack` command line reads the same names without importing CDK; re-exported here.
ENVIRONMENTS = names.ENVIRONMENTS
EDGE_REGION = names.EDGE_REGION
RegionFacts = names.RegionFacts
REGIONS = names.REGIONS
BACKUP_REGION_PAIRS = names.BACKUP_REGION_PAIRS
_CRON_FIELD = r"[0-9A-Za-z*?,/#LW-]+"


def _schedule_expression(expression: str) -> bool:
    """An EventBridge Scheduler rate() or cron() expression: rate(<n> minute[s]|hour[s]|day[s]), or cron()
    of six fields (minutes hours day-of-month month day-of-week year) with `?` in exactly one day field.
    https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html"""
    rate = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression)
    if rate is not None:
        return int(rate.group(1)) > 0
    cron = re.fullmatch(r"cron\(([^()]*)\)", expression)
    if cron is None:
        return False
    parts = cron.group(1).split()
    return (
        len(parts) == 6
        and all(re.fullmatch(_CRON_FIELD, part) for part in parts)
        and (parts[2] == "?") != (parts[4] == "?")
    )


SCHEDULE = Allowed(
    "an EventBridge Scheduler expression: rate(<n> minutes, hours or days) or cron(<minutes> <hours> "
    "<day-of-month> <month> <day-of-week> <year>) with ? in one of the day fields",
    _schedule_expression,
)
# A job's name, as it appears in `jobs.<name>.<field>` and in its resources' names.
JOB_NAME = r"[a-z][a-z0-9_-]{0,31}"


@dataclass(frozen=True, kw_only=True)
class JobSettings(Settings):
    """A scheduled job: the service's image, network, settings and secrets, running `command` on `schedule`."""

    section: ClassVar[str] = "jobs.<name>"

    schedule: str = setting(SCHEDULE)
    command: str = setting(COMMAND)
    # The run is stopped and counted as failed after this long.
    timeout_minutes: int = setting(between(1, 1440, "minutes"), default=30)
    # Runs again this many times after a failed run (a non-zero exit or the timeout), a minute apart and longer.
    retries: int = setting(between(0, 5, "retries"), default=1)
    # The time zone the schedule's cron() is read in (an IANA name).
    time_zone: str = setting(
        matching(r"[A-Za-z_]+(/[A-Za-z0-9_+-]+){0,2}", "an IANA time zone like Europe/Berlin"), default="UTC"
    )
    # Off: no schedule is created (how to turn off a bundled job).
    enabled: bool = setting(default=True)

    @property
    def argv(self) -> tuple[str, ...]:
        """The command as ECS runs it: split like a shell, run without one."""
        return tuple(shlex.split(self.command))


def _environment_name(name: str) -> bool:
    try:
        return names.check_environment(name) == name
    except names.InvalidName:
        return False


def backup_copy_regions() -> set[str]:
    """The regions a backup copy may go to: the stack's regions and every region of the pairing table."""
    return set(REGIONS) | set(BACKUP_REGION_PAIRS) | set(BACKUP_REGION_PAIRS.values())


@dataclass(frozen=True, kw_only=True)
class Config:
    """Everything one deployment of TapStack needs, validated when it is built."""

    # A profile's name, or any other valid name for a preview (dev's settings, nothing kept; names.py).
    environment: str = setting(
        Allowed(
            f"one of {', '.join(ENVIRONMENTS)}, or a preview name (lower-case letters, digits and single hyphens, "
            f"at most {names.longest_preview_name()} characters, like pr-123)",
            _environment_name,
        )
    )
    # What happens to keys, buckets, secrets and log groups when the stack is deleted.
    removal_policy: RemovalPolicy = setting(one_of(RemovalPolicy.RETAIN, RemovalPolicy.DESTROY))
    network: NetworkSettings
    database: DatabaseSettings
    service: ServiceSettings
    edge: EdgeSettings
    api: ApiSettings = ApiSettings()
    alerts: AlertSettings = AlertSettings()
    pipeline: PipelineSettings = PipelineSettings()
    backup: BackupSettings = BackupSettings(daily_retention_days=7)
    # Scheduled jobs by name (`jobs.<name>.<field>`); the bundled storefront brings its own (infra/profiles.py).
    jobs: dict[str, JobSettings] = setting(default_factory=dict)
    region: str = setting(
        Allowed(f"one of {', '.join(REGIONS)}", lambda region: region in REGIONS), default=EDGE_REGION
    )
    account: str | None = setting(matching(r"\d{12}", "a 12-digit AWS account id"), default=None)
    # When a preview was created (its CreatedAt tag): the CI job passes the pull request's creation time.
    created_at: str | None = setting(
        matching(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?Z)?", "a UTC date or time like 2026-12-06T05:00Z"),
        default=None,
    )

    @property
    def stack_name(self) -> str:
        return names.stack_name(self.environment)

    @property
    def preview(self) -> bool:
        """A throw-away environment (any name but a profile's): dev's settings, its own stacks, nothing kept."""
        return names.is_preview(self.environment)

    @property
    def stack_names(self) -> dict[str, str]:
        """Every stack of this deployment by role. Each stack is given its name (`stack_name`), so a pipeline
        stage deploys the very stacks `make deploy` does: CDK would otherwise prefix the stage's name to
        every stack outside the stage's own environment (the copy region's, us-east-1's companions)."""
        stacks = {"main": self.stack_name}
        if self.region != EDGE_REGION:
            stacks["edge"] = names.edge_stack_name(self.environment)
            stacks["edge_alarms"] = names.edge_alarms_stack_name(self.environment)
        if self.backup.cross_region_copy:
            stacks["backup_copy"] = names.backup_stack_name(self.environment, self.backup.copy_region)
        return stacks

    @property
    def tags(self) -> dict[str, str]:
        tags = {
            "Environment": self.environment,
            "Project": "ECommerce",
            "ManagedBy": "CDK",
            "CostCenter": "Engineering",
        }
        # A preview says what it is and since when, so that a forgotten one is found and removed.
        if self.preview:
            tags["Preview"] = self.environment
        if self.created_at is not None:
            tags["CreatedAt"] = self.created_at
        return tags

    @property
    def sections(self) -> tuple[Settings, ...]:
        return tuple(
            getattr(self, item.name) for item in fields(self) if isinstance(getattr(self, item.name), Settings)
        )

    def validate(self) -> Config:
        for item in fields(self):
            value = getattr(self, item.name)
            allowed: Allowed | None = item.metadata.get("allowed")
            if not is_dataclass(value) and allowed is not None and value is not None and not allowed.test(value):
                raise invalid(item.name, value, allowed.description)
        if any(not zone.startswith(self.region) for zone in self.network.availability_zones):
            raise invalid("network.availability_zones", self.network.availability_zones, f"zones of {self.region}")
        for section in self.sections:
            section.validate()
        for name, job in self.jobs.items():
            if not re.fullmatch(JOB_NAME, name):
                raise invalid(f"jobs.{name}", name, f"a job name: {JOB_NAME} (lowercase, digits, - and _)")
            job.validate(f"jobs.{name}")
        self._check_secrets()
        self._check_backup()
        self._check_names()
        if self.database.readers > len(self.network.availability_zones) - 1:
            raise invalid("database.readers", self.database.readers, "at most one reader per AZ besides the writer's")
        return self

    def _check_names(self) -> None:
        """Every physical name the deployment makes from its settings is one AWS accepts: at synth, naming the
        setting that made it, rather than at deploy, half-way through a stack's create."""
        names = self.stack_names
        main_web_acls = ("Edge-Waf", "Api-Waf") if "edge" not in names else ("Api-Waf",)
        checks: list[tuple[str, object, list[tuple[str, str]]]] = [
            ("environment", self.environment, regional_stack_names(names["main"], web_acl_paths=main_web_acls))
        ]
        if "edge" in names:
            edge = [("stack", names["edge"]), ("stack", names["edge_alarms"])]
            checks.append(
                ("environment", self.environment, [*edge, ("waf_log_group", waf_log_group(names["edge"], "Waf"))])
            )
        if "backup_copy" in names:
            copy = names["backup_copy"]
            checks.append(
                (
                    "backup.copy_region",
                    self.backup.copy_region,
                    [("stack", copy), ("backup_vault", copy + VAULT_SUFFIX)],
                )
            )
        for setting, value, generated in checks:
            problems = name_problems(generated)
            if problems:
                raise invalid(setting, value, f"a value that makes names AWS accepts, but {problems[0]}")

    def _check_secrets(self) -> None:
        """A secret or key of another partition cannot be read by this stack's roles."""
        partition = partition_of(self.region)
        for name, reference in self.service.secret_references.items():
            if reference.partition != partition:
                raise invalid(
                    f"service.secrets.{name}", reference.arn, f"an ARN in the stack's partition ({partition})"
                )
        for arn in self.service.secrets_kms_key_arns:
            if arn.split(":")[1] != partition:
                raise invalid("service.secrets_kms_key_arns", arn, f"an ARN in the stack's partition ({partition})")

    @property
    def active_jobs(self) -> dict[str, JobSettings]:
        return {name: job for name, job in self.jobs.items() if job.enabled}

    def _check_backup(self) -> None:
        backup = self.backup
        if backup.copy_region and (
            backup.copy_region == self.region or backup.copy_region not in backup_copy_regions()
        ):
            others = ", ".join(sorted(backup_copy_regions() - {self.region}))
            raise invalid(
                "backup.copy_region", backup.copy_region, f"a region other than {self.region}: one of {others}"
            )
        if backup.cross_region_copy and not backup.copy_region:
            raise invalid(
                "backup.copy_region", "", f"a region other than {self.region} when backup.cross_region_copy is on"
            )
        # Continuous backup of Aurora is its automated backups, whose retention AWS Backup then sets:
        # a different value in the template would drift and be set back on every deploy.
        # https://docs.aws.amazon.com/aws-backup/latest/devguide/point-in-time-recovery.html
        if backup.continuous and backup.continuous_retention_days != self.database.backup_retention_days:
            raise invalid(
                "backup.continuous_retention_days",
                backup.continuous_retention_days,
                f"database.backup_retention_days ({self.database.backup_retention_days}) when backup.continuous is on",
            )
