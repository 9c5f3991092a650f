"""Typed, validated settings for every concern of the stack, one profile per environment.

The profile table of DESIGN.md "Environments" lives here and nowhere else: constructs read settings
(`settings.deletion_protection`), they never test the environment's name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_logs as logs


class ConfigError(ValueError):
    """A setting has a value the stack cannot deploy with."""


def _fail(setting: str, value: object, allowed: str) -> ConfigError:
    return ConfigError(f"invalid setting {setting}={value!r}: allowed is {allowed}")


ENVIRONMENTS = ("dev", "staging", "prod")
# The seed's README deploys with `-c environment=production`; its users' commands keep working.
ENVIRONMENT_ALIASES = {"production": "prod"}

# CloudWatch Logs accepts only these retention periods (days).
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
_LOG_RETENTION_DAYS = {
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

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


def log_retention(days: int, setting: str) -> logs.RetentionDays:
    """Map a number of days to the CloudWatch Logs retention enum, or fail naming the setting."""
    if days not in _LOG_RETENTION_DAYS:
        raise _fail(setting, days, f"one of the CloudWatch Logs retention periods {sorted(_LOG_RETENTION_DAYS)}")
    return _LOG_RETENTION_DAYS[days]


def _positive(setting: str, value: int | float) -> None:
    if isinstance(value, bool) or value <= 0:
        raise _fail(setting, value, "a positive number")


@dataclass(frozen=True)
class NetworkSettings:
    cidr: str
    availability_zones: tuple[str, ...]
    nat_gateways: int
    flow_log_retention_days: int
    # A NAT instance of this type instead of managed NAT gateways (dev: about 7 USD/month instead of 37).
    nat_instance_type: str | None = None

    def validate(self) -> None:
        if not re.fullmatch(r"10\.\d{1,3}\.0\.0/16", self.cidr):
            raise _fail("network.cidr", self.cidr, "a 10.x.0.0/16 block (room for three tiers of /20 subnets)")
        if not 2 <= len(self.availability_zones) <= 3:
            raise _fail("network.availability_zones", self.availability_zones, "2 or 3 zones")
        if not 1 <= self.nat_gateways <= len(self.availability_zones):
            raise _fail(
                "network.nat_gateways",
                self.nat_gateways,
                f"1 to {len(self.availability_zones)} (one per availability zone at most)",
            )
        log_retention(self.flow_log_retention_days, "network.flow_log_retention_days")
        if self.nat_instance_type is not None and not re.fullmatch(r"t4g\.(nano|micro|small)", self.nat_instance_type):
            raise _fail(
                "network.nat_instance_type",
                self.nat_instance_type,
                "t4g.nano, t4g.micro or t4g.small (Graviton burstable; the AMI is ARM64), or none for NAT gateways",
            )


# Aurora Serverless v2 capacity is set in steps of 0.5 ACU, from 0 (auto-pause) to 256.
# https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.setting-capacity.html
_ACU_MAX = 256


@dataclass(frozen=True)
class DatabaseSettings:
    min_capacity: float
    max_capacity: float
    readers: int
    # Minutes without connections before a 0-ACU writer pauses (only used when min_capacity is 0).
    auto_pause_minutes: int
    backup_retention_days: int
    deletion_protection: bool
    # SNAPSHOT keeps a final snapshot when the stack or the cluster is deleted; DESTROY does not.
    removal_policy: RemovalPolicy
    performance_insights: bool
    log_retention_days: int
    rotation_days: int = 30
    database_name: str = "storefront"

    def validate(self) -> None:
        for name in ("min_capacity", "max_capacity"):
            value = getattr(self, name)
            if not 0 <= value <= _ACU_MAX or (value * 2) % 1:
                raise _fail(f"database.{name}", value, f"0 to {_ACU_MAX} ACU in steps of 0.5")
        if self.max_capacity < 1:
            raise _fail("database.max_capacity", self.max_capacity, "at least 1 ACU")
        if self.min_capacity > self.max_capacity:
            raise _fail(
                "database.min_capacity",
                self.min_capacity,
                f"at most database.max_capacity ({self.max_capacity})",
            )
        if not 0 <= self.readers <= 2:
            raise _fail("database.readers", self.readers, "0 to 2 readers (one per other AZ)")
        # Aurora auto-pause accepts 5 minutes to 24 hours.
        if not 5 <= self.auto_pause_minutes <= 1440:
            raise _fail("database.auto_pause_minutes", self.auto_pause_minutes, "5 to 1440 minutes")
        if not 1 <= self.backup_retention_days <= 35:
            raise _fail("database.backup_retention_days", self.backup_retention_days, "1 to 35 days")
        if self.removal_policy not in (RemovalPolicy.SNAPSHOT, RemovalPolicy.DESTROY):
            raise _fail("database.removal_policy", self.removal_policy, "SNAPSHOT or DESTROY")
        if self.deletion_protection and self.removal_policy is RemovalPolicy.DESTROY:
            raise _fail("database.removal_policy", "DESTROY", "SNAPSHOT when deletion_protection is on")
        if not 1 <= self.rotation_days <= 365:
            raise _fail("database.rotation_days", self.rotation_days, "1 to 365 days")
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", self.database_name):
            raise _fail("database.database_name", self.database_name, "a PostgreSQL identifier: [a-z][a-z0-9_]*")
        log_retention(self.log_retention_days, "database.log_retention_days")


# Fargate task sizes: CPU units and the memory (MiB) each allows.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
_FARGATE_SIZES = {256: (512, 1024, 2048), 512: (1024, 2048, 3072, 4096), 1024: tuple(range(2048, 8193, 1024))}


@dataclass(frozen=True)
class ServiceSettings:
    cpu: int
    memory_mib: int
    min_tasks: int
    max_tasks: int
    cpu_target_percent: int
    memory_target_percent: int
    requests_per_target: int
    log_retention_days: int
    access_log_expiry_days: int
    # Seconds: scale out fast on load, scale in slowly so a dip does not drop capacity twice.
    scale_out_cooldown_seconds: int = 60
    scale_in_cooldown_seconds: int = 300
    # Start-up runs migrations under an advisory lock before /health answers.
    health_check_grace_seconds: int = 120

    def validate(self) -> None:
        if self.cpu not in _FARGATE_SIZES:
            raise _fail("service.cpu", self.cpu, f"one of {sorted(_FARGATE_SIZES)} CPU units")
        if self.memory_mib not in _FARGATE_SIZES[self.cpu]:
            raise _fail("service.memory_mib", self.memory_mib, f"one of {_FARGATE_SIZES[self.cpu]} for cpu={self.cpu}")
        if self.min_tasks < 1:
            raise _fail("service.min_tasks", self.min_tasks, "at least 1")
        if self.max_tasks < self.min_tasks:
            raise _fail("service.max_tasks", self.max_tasks, f"at least service.min_tasks ({self.min_tasks})")
        for name in ("cpu_target_percent", "memory_target_percent"):
            if not 10 <= getattr(self, name) <= 90:
                raise _fail(f"service.{name}", getattr(self, name), "10 to 90 percent")
        _positive("service.requests_per_target", self.requests_per_target)
        _positive("service.access_log_expiry_days", self.access_log_expiry_days)
        _positive("service.scale_out_cooldown_seconds", self.scale_out_cooldown_seconds)
        if self.scale_in_cooldown_seconds <= self.scale_out_cooldown_seconds:
            raise _fail(
                "service.scale_in_cooldown_seconds",
                self.scale_in_cooldown_seconds,
                f"longer than service.scale_out_cooldown_seconds ({self.scale_out_cooldown_seconds})",
            )
        _positive("service.health_check_grace_seconds", self.health_check_grace_seconds)
        log_retention(self.log_retention_days, "service.log_retention_days")


# API Gateway throttles at most 10,000 requests per second per account and Region (burst 5,000 by
# default, raised on request); a usage plan above that is never reached.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
_API_MAX_RATE = 10_000
# A WAF rate-based rule counts requests per IP over 5 minutes; AWS accepts 10 to 2,000,000,000.
# https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-request-limiting.html
_WAF_RATE_LIMIT = (10, 2_000_000_000)


@dataclass(frozen=True)
class ApiSettings:
    """The partner REST API's usage plan, WAF rate limit, logging and tracing (DESIGN.md "Traffic")."""

    # Usage plan and stage throttling: steady requests per second and the token-bucket burst.
    rate_limit: float = 1000
    burst_limit: int = 2000
    # Requests each API key may make per calendar month.
    monthly_quota: int = 1_000_000
    # Requests one client IP may make in any 5-minute window before WAF blocks it.
    waf_rate_limit: int = 2000
    access_log_retention_days: int = 30
    tracing: bool = True

    def validate(self) -> None:
        if isinstance(self.rate_limit, bool) or not 0 < self.rate_limit <= _API_MAX_RATE:
            raise _fail("api.rate_limit", self.rate_limit, f"more than 0 and at most {_API_MAX_RATE} requests/s")
        if isinstance(self.burst_limit, bool) or self.burst_limit < self.rate_limit:
            raise _fail("api.burst_limit", self.burst_limit, f"at least api.rate_limit ({self.rate_limit}) requests")
        _positive("api.monthly_quota", self.monthly_quota)
        low, high = _WAF_RATE_LIMIT
        if isinstance(self.waf_rate_limit, bool) or not low <= self.waf_rate_limit <= high:
            raise _fail("api.waf_rate_limit", self.waf_rate_limit, f"{low} to {high} requests per 5 minutes per IP")
        log_retention(self.access_log_retention_days, "api.access_log_retention_days")


# A web ACL of scope CLOUDFRONT, and the ACM certificate of a distribution, can only be created in
# us-east-1; the stack requires that region (Config.validate) rather than splitting off a second stack.
# https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html
EDGE_REGION = "us-east-1"

# The id of the AWS-managed prefix list com.amazonaws.global.cloudfront.origin-facing differs per
# region; it is named here so that synth needs no lookup (`aws ec2 describe-managed-prefix-lists`).
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/LocationsOfEdgeServers.html
CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS = {"us-east-1": "pl-3b927c52"}

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_CLOUDFRONT_CERTIFICATE = re.compile(r"^arn:aws:acm:us-east-1:\d{12}:certificate/[0-9a-f-]{36}$")


@dataclass(frozen=True)
class EdgeSettings:
    """The browser front door: CloudFront, its WAF web ACL and the site's buckets."""

    price_class: cloudfront.PriceClass
    # Requests from one IP address in any 5-minute window before the WAF blocks it.
    waf_rate_limit: int
    # Days a replaced or deleted page version stays in the versioned site bucket.
    noncurrent_version_days: int
    # Days CloudFront and S3 access logs stay in the log bucket.
    access_log_days: int
    origin_facing_prefix_list_id: str
    # A custom domain and its us-east-1 ACM certificate: both or neither.
    domain_name: str | None = None
    certificate_arn: str | None = None

    def validate(self) -> None:
        if not isinstance(self.price_class, cloudfront.PriceClass):
            raise _fail("edge.price_class", self.price_class, "a cloudfront.PriceClass")
        # AWS WAF rate-based statements accept 10 to 2,000,000,000 requests per evaluation window.
        # https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html
        if isinstance(self.waf_rate_limit, bool) or not 10 <= self.waf_rate_limit <= 2_000_000_000:
            raise _fail("edge.waf_rate_limit", self.waf_rate_limit, "10 to 2000000000 requests per 5 minutes")
        if not 1 <= self.noncurrent_version_days <= 3650:
            raise _fail("edge.noncurrent_version_days", self.noncurrent_version_days, "1 to 3650 days")
        # Also the retention of the site deployment's log group and the WAF's log group.
        log_retention(self.access_log_days, "edge.access_log_days")
        if not re.fullmatch(r"pl-[0-9a-f]{8,17}", self.origin_facing_prefix_list_id):
            raise _fail(
                "edge.origin_facing_prefix_list_id",
                self.origin_facing_prefix_list_id,
                "the id (pl-...) of com.amazonaws.global.cloudfront.origin-facing in the stack's region",
            )
        if (self.domain_name is None) != (self.certificate_arn is None):
            raise _fail(
                "edge.domain_name/edge.certificate_arn",
                (self.domain_name, self.certificate_arn),
                "both (a custom domain with its us-east-1 ACM certificate) or neither",
            )
        if self.domain_name is not None and not _DOMAIN.fullmatch(self.domain_name):
            raise _fail("edge.domain_name", self.domain_name, "a lower-case DNS name like shop.example.com")
        if self.certificate_arn is not None and not _CLOUDFRONT_CERTIFICATE.fullmatch(self.certificate_arn):
            raise _fail(
                "edge.certificate_arn",
                self.certificate_arn,
                "an ACM certificate ARN in us-east-1 (arn:aws:acm:us-east-1:<account>:certificate/<id>), "
                "the only region CloudFront takes certificates from",
            )


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go and the thresholds of the alarms (infra/monitoring.py, docs/operations.md)."""

    email_address: str | None
    target_5xx_percent: float = 5
    load_balancer_5xx_percent: float = 5
    target_p99_seconds: float = 1.5
    task_cpu_percent: int = 85
    task_memory_percent: int = 85
    database_cpu_percent: int = 80
    database_acu_percent: int = 90
    database_connections: int = 400
    database_freeable_memory_mib: int = 256
    database_free_local_storage_mib: int = 1024
    replica_lag_ms: int = 2000
    api_5xx_percent: float = 1
    api_4xx_percent: float = 25
    api_p99_ms: int = 2500
    cloudfront_5xx_percent: float = 5
    waf_blocked_requests: int = 1000

    def validate(self) -> None:
        if self.email_address is not None and not _EMAIL.fullmatch(self.email_address):
            raise _fail("emailAddress", self.email_address, "an e-mail address like ops@example.com, or no value")
        for name in (
            "target_5xx_percent",
            "load_balancer_5xx_percent",
            "task_cpu_percent",
            "task_memory_percent",
            "database_cpu_percent",
            "database_acu_percent",
            "api_5xx_percent",
            "api_4xx_percent",
            "cloudfront_5xx_percent",
        ):
            value = getattr(self, name)
            if not 0 < value <= 100:
                raise _fail(f"alerts.{name}", value, "a percentage above 0 and at most 100")
        for name in (
            "target_p99_seconds",
            "database_connections",
            "database_freeable_memory_mib",
            "database_free_local_storage_mib",
            "replica_lag_ms",
            "api_p99_ms",
            "waf_blocked_requests",
        ):
            _positive(f"alerts.{name}", getattr(self, name))


@dataclass(frozen=True)
class Config:
    """Everything one deployment of TapStack needs, validated when it is built."""

    environment: str
    region: str
    account: str | None
    # What happens to keys, buckets, secrets and log groups when the stack is deleted.
    removal_policy: RemovalPolicy
    network: NetworkSettings
    database: DatabaseSettings
    service: ServiceSettings
    api: ApiSettings
    edge: EdgeSettings
    alerts: AlertSettings
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def stack_name(self) -> str:
        return f"TapStack-{self.environment}"

    def validate(self) -> Config:
        if self.environment not in ENVIRONMENTS:
            raise _fail("environment", self.environment, f"one of {', '.join(ENVIRONMENTS)} (or 'production')")
        if not _REGION.fullmatch(self.region):
            raise _fail("region", self.region, "an AWS region name like us-east-1")
        if self.account is not None and not re.fullmatch(r"\d{12}", self.account):
            raise _fail("account", self.account, "a 12-digit AWS account id")
        if self.removal_policy not in (RemovalPolicy.RETAIN, RemovalPolicy.DESTROY):
            raise _fail("removal_policy", self.removal_policy, "RETAIN or DESTROY")
        if self.database.readers > len(self.network.availability_zones) - 1:
            raise _fail("database.readers", self.database.readers, "at most one reader per AZ besides the writer's")
        if self.region != EDGE_REGION:
            raise _fail(
                "region",
                self.region,
                f"{EDGE_REGION}: CloudFront's WAF web ACL and certificate can only be created there",
            )
        for settings in (self.network, self.database, self.service, self.api, self.edge, self.alerts):
            settings.validate()
        return self


def _zones(region: str, count: int) -> tuple[str, ...]:
    # Named explicitly so synth needs no account lookup (an account-agnostic stack gets only 2 AZs).
    return tuple(f"{region}{suffix}" for suffix in "abc"[:count])


def _profile(environment: str, region: str) -> dict[str, Any]:
    """The DESIGN.md profile table: what differs between dev, staging and prod."""
    # Empty outside us-east-1; Config.validate rejects such a region before it looks at this.
    prefix_list = CLOUDFRONT_ORIGIN_FACING_PREFIX_LISTS.get(region, "")
    profiles: dict[str, dict[str, Any]] = {
        "dev": {
            "removal_policy": RemovalPolicy.DESTROY,
            "network": NetworkSettings(
                cidr="10.10.0.0/16",
                availability_zones=_zones(region, 3),
                nat_gateways=1,
                flow_log_retention_days=14,
                nat_instance_type="t4g.nano",
            ),
            "database": DatabaseSettings(
                min_capacity=0,
                max_capacity=2,
                readers=0,
                auto_pause_minutes=30,
                backup_retention_days=1,
                deletion_protection=False,
                removal_policy=RemovalPolicy.DESTROY,
                performance_insights=False,
                log_retention_days=7,
            ),
            "service": ServiceSettings(
                cpu=256,
                memory_mib=512,
                min_tasks=1,
                max_tasks=2,
                cpu_target_percent=60,
                memory_target_percent=75,
                requests_per_target=500,
                log_retention_days=14,
                access_log_expiry_days=14,
            ),
            "api": ApiSettings(
                rate_limit=1000,
                burst_limit=2000,
                monthly_quota=1_000_000,
                waf_rate_limit=2000,
                access_log_retention_days=7,
                tracing=True,
            ),
            "edge": EdgeSettings(
                price_class=cloudfront.PriceClass.PRICE_CLASS_100,
                waf_rate_limit=1000,
                noncurrent_version_days=7,
                access_log_days=30,
                origin_facing_prefix_list_id=prefix_list,
            ),
        },
        "staging": {
            "removal_policy": RemovalPolicy.RETAIN,
            "network": NetworkSettings(
                cidr="10.20.0.0/16",
                availability_zones=_zones(region, 3),
                nat_gateways=1,
                flow_log_retention_days=30,
            ),
            "database": DatabaseSettings(
                min_capacity=0.5,
                max_capacity=4,
                readers=0,
                auto_pause_minutes=60,
                backup_retention_days=7,
                deletion_protection=True,
                removal_policy=RemovalPolicy.SNAPSHOT,
                performance_insights=True,
                log_retention_days=30,
            ),
            "service": ServiceSettings(
                cpu=256,
                memory_mib=512,
                min_tasks=2,
                max_tasks=4,
                cpu_target_percent=60,
                memory_target_percent=75,
                requests_per_target=500,
                log_retention_days=30,
                access_log_expiry_days=30,
            ),
            "api": ApiSettings(
                rate_limit=1000,
                burst_limit=2000,
                monthly_quota=1_000_000,
                waf_rate_limit=2000,
                access_log_retention_days=30,
                tracing=True,
            ),
            "edge": EdgeSettings(
                price_class=cloudfront.PriceClass.PRICE_CLASS_100,
                waf_rate_limit=2000,
                noncurrent_version_days=30,
                access_log_days=90,
                origin_facing_prefix_list_id=prefix_list,
            ),
        },
        "prod": {
            "removal_policy": RemovalPolicy.RETAIN,
            "network": NetworkSettings(
                cidr="10.30.0.0/16",
                availability_zones=_zones(region, 3),
                nat_gateways=3,
                flow_log_retention_days=365,
            ),
            "database": DatabaseSettings(
                min_capacity=0.5,
                max_capacity=16,
                readers=1,
                auto_pause_minutes=60,
                backup_retention_days=30,
                deletion_protection=True,
                removal_policy=RemovalPolicy.SNAPSHOT,
                performance_insights=True,
                log_retention_days=365,
            ),
            "service": ServiceSettings(
                cpu=256,
                memory_mib=512,
                min_tasks=2,
                max_tasks=10,
                cpu_target_percent=60,
                memory_target_percent=75,
                requests_per_target=500,
                log_retention_days=365,
                access_log_expiry_days=90,
            ),
            "api": ApiSettings(
                rate_limit=1000,
                burst_limit=2000,
                monthly_quota=1_000_000,
                waf_rate_limit=2000,
                access_log_retention_days=365,
                tracing=True,
            ),
            "edge": EdgeSettings(
                price_class=cloudfront.PriceClass.PRICE_CLASS_ALL,
                waf_rate_limit=2000,
                noncurrent_version_days=90,
                access_log_days=365,
                origin_facing_prefix_list_id=prefix_list,
            ),
        },
    }
    if environment not in profiles:
        raise _fail("environment", environment, f"one of {', '.join(ENVIRONMENTS)} (or 'production')")
    return profiles[environment]


def load_config(
    environment: str = "dev",
    *,
    region: str = "us-east-1",
    account: str | None = None,
    email_address: str | None = None,
    domain_name: str | None = None,
    certificate_arn: str | None = None,
) -> Config:
    """Build and validate the Config of one profile."""
    environment = ENVIRONMENT_ALIASES.get(environment, environment)
    if not _REGION.fullmatch(region):
        raise _fail("region", region, "an AWS region name like us-east-1")
    values = _profile(environment, region)
    values["edge"] = replace(values["edge"], domain_name=domain_name or None, certificate_arn=certificate_arn or None)
    config = Config(
        environment=environment,
        region=region,
        account=account,
        alerts=AlertSettings(email_address=email_address or None),
        tags={
            "Environment": environment,
            "Project": "ECommerce",
            "ManagedBy": "CDK",
            "CostCenter": "Engineering",
        },
        **values,
    )
    return config.validate()


def with_settings(config: Config, **changes: Any) -> Config:
    """A copy of `config` with some settings replaced, validated again (for tests and overrides)."""
    return replace(config, **changes).validate()
