"""infra/config.py, infra/profiles.py and infra/context.py: what each setting allows, how a context key
sets it, and the error a wrong key or value gives (setting, value, what is allowed)."""

from __future__ import annotations

import dataclasses
import enum
import re

import pytest

from infra.config import REGIONS, Config, ConfigError, backup_copy_regions
from infra.context import config_from_context, load_config, setting_types
from infra.profiles import PROFILES
from tapstack_cli.limits import VAULT_SUFFIX, name_problems

CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:shop/django-AbCdEf"  # noqa: S105 - an ARN

# (profile, context overrides, the error's pattern): one row per rule of the schema.
REJECTED = [
    ("dev", {"environment": "QA_1"}, r"environment='QA_1'.*one of dev, staging, prod, or a preview name"),
    ("dev", {"environment": "pr-1-edge"}, r"environment='pr-1-edge'.*not ending like a companion stack"),
    ("dev", {"environment": "p" * 33}, r"at most 32 characters"),
    ("dev", {"region": "useast1"}, r"region='useast1'.*us-east-1"),
    ("dev", {"emailAddress": "ops-at-example"}, r"alerts.email_address='ops-at-example'.*e-mail address"),
    ("prod", {"network.nat_gateways": "4"}, r"network.nat_gateways=4.*1 to 3"),
    ("dev", {"network.flow_log_retention_days": "0"}, r"network.flow_log_retention_days=0.*retention periods"),
    ("dev", {"network.cidr": "192.168.0.0/24"}, r"network.cidr='192.168.0.0/24'.*10.x.0.0/16"),
    ("dev", {"network.availability_zones": "us-east-1a"}, r"network.availability_zones=\('us-east-1a',\).*2 or 3"),
    ("dev", {"network.nat_instance_type": "m5.large"}, r"network.nat_instance_type='m5.large'.*t4g.nano"),
    ("prod", {"database.min_capacity": "20"}, r"database.min_capacity=20.*at most database.max_capacity"),
    ("prod", {"database.max_capacity": "8.3"}, r"database.max_capacity=8.3.*steps of 0.5"),
    ("prod", {"database.max_capacity": "0.5", "database.min_capacity": "0"}, r"database.max_capacity=0.5.*1 ACU"),
    ("prod", {"database.readers": "3"}, r"database.readers=3.*0 to 2"),
    ("prod", {"database.backup_retention_days": "0"}, r"database.backup_retention_days=0.*1 to 35"),
    ("prod", {"database.removal_policy": "DESTROY"}, r"database.removal_policy='DESTROY'.*SNAPSHOT when deletion"),
    ("prod", {"database.removal_policy": "RETAIN"}, r"database.removal_policy=.*one of SNAPSHOT, DESTROY"),
    ("prod", {"database.auto_pause_minutes": "2"}, r"database.auto_pause_minutes=2.*5 to 1440"),
    ("prod", {"database.database_name": "Shop"}, r"database.database_name='Shop'.*PostgreSQL identifier"),
    ("prod", {"database.snapshot_identifier": "my snapshot"}, r"database.snapshot_identifier='my snapshot'.*snapshot"),
    ("prod", {"database.enhanced_monitoring_seconds": "45"}, r"database.enhanced_monitoring_seconds=45.*one of 0, 1"),
    ("prod", {"backup.copy_region": "us-east-1"}, r"backup.copy_region='us-east-1'.*other than us-east-1"),
    ("prod", {"backup.copy_region": "mars-north-1"}, r"backup.copy_region='mars-north-1'.*us-west-2"),
    ("prod", {"backup.vault_lock_min_retention_days": "60"}, r"backup.daily_retention_days=35.*at least backup.vault"),
    ("prod", {"backup.continuous_retention_days": "36"}, r"backup.continuous_retention_days=36.*1 to 35"),
    ("prod", {"backup.continuous_retention_days": "30"}, r"backup.continuous_retention_days=30.*database.backup_re"),
    ("dev", {"backup.daily_start_hour_utc": "24"}, r"backup.daily_start_hour_utc=24.*0 to 23"),
    ("dev", {"service.memory_mib": "4096"}, r"service.memory_mib=4096.*for cpu=256"),
    ("dev", {"service.cpu": "300"}, r"service.cpu=300.*one of 256, 512, 1024"),
    ("prod", {"service.max_tasks": "1"}, r"service.max_tasks=1.*at least service.min_tasks"),
    ("prod", {"service.scale_in_cooldown_seconds": "30"}, r"service.scale_in_cooldown_seconds=30.*longer than"),
    ("dev", {"service.cpu_target_percent": "95"}, r"service.cpu_target_percent=95.*10 to 90"),
    ("dev", {"api.rate_limit": "0"}, r"api.rate_limit=0.*more than 0"),
    ("dev", {"api.rate_limit": "20000", "api.burst_limit": "20000"}, r"api.rate_limit=20000.*at most 10000"),
    ("dev", {"api.burst_limit": "500"}, r"api.burst_limit=500.*at least api.rate_limit"),
    ("dev", {"api.monthly_quota": "0"}, r"api.monthly_quota=0.*positive"),
    ("dev", {"api.waf_rate_limit": "5"}, r"api.waf_rate_limit=5.*10 to 2000000000"),
    ("dev", {"api.access_log_retention_days": "10"}, r"api.access_log_retention_days=10.*retention periods"),
    ("dev", {"edge.waf_rate_limit": "5"}, r"edge.waf_rate_limit=5.*10 to 2000000000"),
    ("dev", {"edge.noncurrent_version_days": "0"}, r"edge.noncurrent_version_days=0.*1 to 3650"),
    ("dev", {"edge.access_log_days": "45"}, r"edge.access_log_days=45.*CloudWatch Logs retention"),
    ("dev", {"edge.price_class": "PriceClass_999"}, r"edge.price_class='PriceClass_999'.*PRICE_CLASS_100"),
    ("dev", {"edge.origin_facing_prefix_list_id": "cloudfront"}, r"edge.origin_facing_prefix_list_id='cloudfront'"),
    ("dev", {"certificateArn": CERTIFICATE}, r"edge.certificate_arn=.*only with edge.domain_name"),
    ("dev", {"region": "ap-northeast-3"}, r"region='ap-northeast-3'.*one of us-east-1, .*eu-central-1"),
    (
        "dev",
        {"region": "eu-central-1", "network.availability_zones": "us-east-1a,us-east-1b"},
        r"zones of eu-central-1",
    ),
    ("dev", {"service.image": "shop"}, r"service.image='shop'.*tag, a digest or both"),
    ("dev", {"service.image": "registry.acme.com/shop:1.0"}, r"service.image=.*image_credentials_secret_arn"),
    ("dev", {"service.image": "nginx@sha256:abc"}, r"service.image='nginx@sha256:abc'.*tag, a digest or both"),
    ("dev", {"service.image": "nginx@1.27:sha256"}, r"service.image=.*tag, a digest or both"),
    ("dev", {"service.container_port": "70000"}, r"service.container_port=70000.*1 to 65535"),
    ("dev", {"service.health_check_path": "health"}, r"service.health_check_path='health'.*URL path"),
    ("dev", {"service.paths": "/a/*,/b/*,/c/*,/d/*,/e/*"}, r"service.paths=.*1 to 4 path patterns"),
    ("dev", {"domainName": "Shop_Example", "certificateArn": CERTIFICATE}, r"edge.domain_name='Shop_Example'"),
    (
        "dev",
        {"domainName": "shop.example.com", "certificateArn": CERTIFICATE.replace("us-east-1", "eu-west-1")},
        r"edge.certificate_arn='arn:aws:acm:eu-west-1.*us-east-1",
    ),
    ("dev", {"alerts.target_5xx_percent": "150"}, r"alerts.target_5xx_percent=150.*percentage"),
    ("dev", {"alerts.api_p99_ms": "0"}, r"alerts.api_p99_ms=0.*positive"),
    ("dev", {"removal_policy": "SNAPSHOT"}, r"removal_policy=.*one of RETAIN, DESTROY"),
    # Values of the wrong type, as `-c` passes them (text) or as cdk.json holds them (JSON).
    ("dev", {"service.max_tasks": "many"}, r"service.max_tasks='many': allowed is integer"),
    ("dev", {"service.max_tasks": 2.5}, r"service.max_tasks=2.5: allowed is integer"),
    ("dev", {"service.max_tasks": True}, r"service.max_tasks=True: allowed is integer"),
    ("dev", {"database.performance_insights": "yes"}, r"database.performance_insights='yes': allowed is true or false"),
    ("dev", {"database.max_capacity": "lots"}, r"database.max_capacity='lots': allowed is number"),
    ("dev", {"edge.price_class": "cheap"}, r"edge.price_class='cheap': allowed is one of PRICE_CLASS_100"),
    # The app's own settings, secrets, release step and jobs (docs/your-app.md).
    ("dev", {"service.environment.DB_HOST": "db"}, r"service.environment.DB_HOST='db'.*platform does not set"),
    ("dev", {"service.environment.AWS_REGION": "x"}, r"service.environment.AWS_REGION='x'.*platform does not set"),
    ("dev", {"service.environment.1BAD": "x"}, r"service.environment.1BAD='x'.*environment variable names"),
    ("dev", {"service.environment": "[1]"}, r"service.environment='\[1\]'.*JSON object"),
    ("dev", {"service.secrets.KEY": f"{SECRET}:k::", "service.environment.KEY": "v"}, r"KEY='v'.*not also in"),
    ("dev", {"service.secrets.KEY": SECRET.rsplit("-", 1)[0]}, r"service.secrets.KEY=.*complete Secrets Manager"),
    ("dev", {"service.secrets.KEY": "my-secret"}, r"service.secrets.KEY='my-secret'.*SSM parameter ARN"),
    ("dev", {"service.secrets.KEY": "arn:aws-cn:ssm:cn-north-1:123456789012:parameter/k"}, r"partition \(aws\)"),
    ("dev", {"service.secrets_kms_key_arns": "alias/shop"}, r"service.secrets_kms_key_arns=.*KMS key ARNs"),
    ("dev", {"service.release_command": 'sh -c "migrate'}, r"service.release_command=.*quotes balanced"),
    ("dev", {"service.release_timeout_minutes": "90"}, r"service.release_timeout_minutes=90.*1 to 50"),
    ("dev", {"service.capacity": "SPOT"}, r"service.capacity='SPOT': allowed is one of FARGATE, FARGATE_SPOT"),
    ("dev", {"jobs.cleanup.schedule": "every hour", "jobs.cleanup.command": "x"}, r"jobs.cleanup.schedule=.*rate\("),
    ("dev", {"jobs.cleanup.schedule": "rate(0 hours)", "jobs.cleanup.command": "x"}, r"jobs.cleanup.schedule="),
    ("dev", {"jobs.cleanup.schedule": "cron(0 3 * * * *)", "jobs.cleanup.command": "x"}, r"\? in one of the day"),
    ("dev", {"jobs.cleanup.schedule": "rate(1 hour)"}, r"jobs.cleanup.command=None.*a new job needs"),
    ("dev", {"jobs.Clean.schedule": "rate(1 hour)", "jobs.Clean.command": "x"}, r"jobs.Clean='Clean'.*job name"),
    ("dev", {"jobs.expire-carts.timeout_minutes": "0"}, r"jobs.expire-carts.timeout_minutes=0.*1 to 1440"),
    ("dev", {"jobs.expire-carts.retries": "many"}, r"jobs.expire-carts.retries='many': allowed is integer"),
]


@pytest.mark.parametrize(("environment", "context", "message"), REJECTED, ids=[str(row[1]) for row in REJECTED])
def test_a_wrong_value_names_the_setting_the_value_and_what_is_allowed(
    environment: str, context: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        config_from_context({"environment": environment, **context})


@pytest.mark.parametrize(
    ("key", "closest"),
    [
        ("service.max_task", "service.max_tasks"),
        ("databse.max_capacity", "database.max_capacity"),
        ("enviroment", "environment"),
        ("alerts.email", "alerts.email_address"),
        # Keys of three or more parts are settings too, never ignored.
        ("service.image.uri", "service.image"),
        ("network.cidr.block", "network.cidr"),
        ("jobs.cleanup.comand", "jobs.cleanup.command"),
        ("jobs.cleanup.schedule.cron", "jobs.cleanup.schedule"),
        ("Service.max_tasks", "service.max_tasks"),
    ],
)
def test_a_key_that_names_no_setting_fails_with_the_closest_keys(key: str, closest: str) -> None:
    with pytest.raises(ConfigError, match=rf"unknown setting '{key}'.*closest: .*{closest}"):
        config_from_context({key: "1"})


def test_cdk_s_own_context_keys_are_not_settings() -> None:
    """Feature flags and the CLI's own keys (`@aws-cdk/...`, `aws:cdk:...`) pass through untouched."""
    config = config_from_context({"@aws-cdk/core:checkSecretUsage": True, "aws:cdk:enable-path-metadata": True})
    assert config == load_config("dev")


def _as_cli_text(value: object) -> str:
    """How a user would type the value after `-c key=`."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return "" if value is None else str(value)


def _current(config: object, key: str) -> object:
    for part in key.split("."):
        config = getattr(config, part)
    return config


@pytest.mark.parametrize("key", sorted(set(setting_types()) - {"environment"}))
def test_every_setting_is_reachable_by_its_context_key(key: str) -> None:
    """`-c <section>.<field>=<text>` with dev's value, on prod, reads back as dev's value."""
    value = _current(load_config("dev"), key)
    # DESTROY needs deletion protection off; continuous backup keeps the cluster's retention (both keys
    # move together); every other dev value is valid on prod alone.
    together = {
        "database.removal_policy": {"database.deletion_protection": "false"},
        "database.backup_retention_days": {"backup.continuous": "false"},
        "backup.continuous_retention_days": {"database.backup_retention_days": _as_cli_text(value)},
    }
    extra = together.get(key, {})
    config = config_from_context({"environment": "prod", key: _as_cli_text(value), **extra})
    assert _current(config, key) == value


def test_overrides_change_only_what_they_name() -> None:
    config = config_from_context({"environment": "prod", "service.max_tasks": "20", "database.max_capacity": "32"})
    expected = load_config("prod")
    assert config.service == dataclasses.replace(expected.service, max_tasks=20)
    assert config.database == dataclasses.replace(expected.database, max_capacity=32)
    assert (config.network, config.api, config.edge, config.alerts) == (
        expected.network,
        expected.api,
        expected.edge,
        expected.alerts,
    )


def test_cdk_json_values_keep_their_json_types() -> None:
    """cdk.json and cdk.context.json hold JSON: numbers, booleans and lists are taken as they are."""
    config = config_from_context(
        {
            "environment": "prod",
            "service.max_tasks": 12,
            "database.performance_insights": False,
            "network.availability_zones": ["us-east-1a", "us-east-1b"],
            "network.nat_gateways": 2,
        }
    )
    assert config.service.max_tasks == 12
    assert config.database.performance_insights is False
    assert config.network.availability_zones == ("us-east-1a", "us-east-1b")


def test_an_empty_value_clears_an_optional_setting() -> None:
    config = config_from_context({"environment": "dev", "network.nat_instance_type": ""})
    assert config.network.nat_instance_type is None


def test_production_is_the_seeds_name_for_prod() -> None:
    assert load_config("production").environment == "prod"


def test_seed_email_key_and_section_key_set_the_same_setting() -> None:
    seed = config_from_context({"emailAddress": "ops@example.com"})
    assert seed == config_from_context({"alerts.email_address": "ops@example.com"})
    assert seed.alerts.email_address == "ops@example.com"


def test_settings_are_frozen() -> None:
    config = load_config("dev")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.network.nat_gateways = 2  # type: ignore[misc]


def test_every_profile_uses_the_partner_usage_plan() -> None:
    for environment in PROFILES:
        api = load_config(environment).api
        assert (api.rate_limit, api.burst_limit, api.monthly_quota) == (1000, 2000, 1_000_000)


@pytest.mark.parametrize("region", ["eu-central-1", "eu-west-1", "ap-southeast-2", "us-west-2"])
def test_a_region_takes_its_zones_and_prefix_list_from_the_region_table(region: str) -> None:
    """Synth looks nothing up: the zones and CloudFront's origin-facing prefix list come from REGIONS."""
    config = load_config("prod", region=region)
    assert config.network.availability_zones == REGIONS[region].availability_zones
    assert len(config.network.availability_zones) == 3
    assert config.edge.origin_facing_prefix_list_id == REGIONS[region].origin_facing_prefix_list_id


@pytest.mark.parametrize(
    ("image", "registry"),
    [
        ("123456789012.dkr.ecr.eu-central-1.amazonaws.com/shop:1.4.2", "ecr"),
        ("nginx:1.27", "public"),
        ("public.ecr.aws/acme/shop@sha256:" + "a" * 64, "public"),
        ("123456789012.dkr.ecr.eu-central-1.amazonaws.com/shop:1.4.2@sha256:" + "b" * 64, "ecr"),
        ("nginx:1.27@sha256:" + "c" * 64, "public"),
    ],
)
def test_the_image_s_registry_decides_how_it_is_pulled(image: str, registry: str) -> None:
    assert config_from_context({"service.image": image}).service.image_registry == registry


DIGEST = "sha256:" + "d" * 64


@pytest.mark.parametrize(
    ("image", "reference"),
    [
        ("nginx:1.27", ("nginx", "1.27", None)),
        (f"nginx@{DIGEST}", ("nginx", None, DIGEST)),
        (f"nginx:1.27@{DIGEST}", ("nginx", "1.27", DIGEST)),
        (
            f"public.ecr.aws/docker/library/python:3.11-slim@{DIGEST}",
            ("public.ecr.aws/docker/library/python", "3.11-slim", DIGEST),
        ),
        (f"ghcr.io/team/shop:2@{DIGEST}", ("ghcr.io/team/shop", "2", DIGEST)),
    ],
)
def test_an_image_pinned_by_tag_and_digest_is_accepted(
    image: str, reference: tuple[str, str | None, str | None]
) -> None:
    """Docker's reference form name[:tag][@digest]: with both, the tag is a label and the digest decides.
    https://docs.docker.com/reference/cli/docker/image/tag/ and ECS's `image` parameter:
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_image"""
    assert config_from_context({"service.image": image}).service.image_reference == reference


def test_a_private_registry_is_allowed_with_a_credentials_secret() -> None:
    credentials = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:registry-AbCdEf"
    config = config_from_context(
        {"service.image": "registry.acme.com/shop:1.0", "service.image_credentials_secret_arn": credentials}
    )
    assert config.service.image_registry == "private"


def test_domain_name_without_certificate_is_accepted_the_app_requests_one() -> None:
    assert config_from_context({"domainName": "shop.example.com"}).edge.certificate_arn is None


def test_domain_name_with_certificate_is_accepted() -> None:
    config = config_from_context(
        {"environment": "prod", "domainName": "shop.example.com", "certificateArn": CERTIFICATE}
    )
    assert (config.edge.domain_name, config.edge.certificate_arn) == ("shop.example.com", CERTIFICATE)


def test_every_region_has_a_default_backup_copy_region_elsewhere() -> None:
    """AWS Backup copies to another region's vault: each region of the table has its pair."""
    from infra.config import BACKUP_REGION_PAIRS

    assert set(BACKUP_REGION_PAIRS) == set(REGIONS)
    assert all(source != target for source, target in BACKUP_REGION_PAIRS.items())


OTHER_COPY_REGIONS = (
    "ap-northeast-1, ap-northeast-3, ap-southeast-1, ap-southeast-2, eu-central-1, eu-north-1, eu-west-1, "
    "eu-west-2, us-east-2, us-west-2"
)
PUBLIC = "docker.io, public.ecr.aws, ghcr.io, quay.io, registry.k8s.io, mcr.microsoft.com"
CONNECTION = "arn:aws:codeconnections:us-east-1:123456789012:connection/0f3a1c2e-1111-2222-3333-444455556666"
TWO_ZONES = {"network.availability_zones": "us-east-1a,us-east-1b", "network.nat_gateways": "2"}

# One row per rule between settings (each `check` of infra/config.py and Config.validate), with a value
# that only that rule refuses, and the whole message: a rule removed, or one that stops checking its
# bound, changes the outcome of its own row (not only "some error").
CROSS_SETTING_REJECTED = [
    (
        "dev",
        {"network.availability_zones": "us-east-1a"},
        "network.availability_zones=('us-east-1a',): allowed is 2 or 3 zones",
    ),
    (
        "dev",
        {"network.availability_zones": "us-east-1a,us-east-1b,us-east-1c,us-east-1d"},
        "network.availability_zones=('us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d'): allowed is 2 or 3 zones",
    ),
    (
        "prod",
        {"network.nat_gateways": "4"},
        "network.nat_gateways=4: allowed is 1 to 3 (one per availability zone at most)",
    ),
    (
        "prod",
        {**TWO_ZONES, "network.nat_gateways": "3"},
        "network.nat_gateways=3: allowed is 1 to 2 (one per availability zone at most)",
    ),
    (
        "prod",
        {"database.max_capacity": "0.5", "database.min_capacity": "0"},
        "database.max_capacity=0.5: allowed is at least 1 ACU",
    ),
    (
        "prod",
        {"database.min_capacity": "20"},
        "database.min_capacity=20: allowed is at most database.max_capacity (16)",
    ),
    (
        "prod",
        {"database.removal_policy": "DESTROY"},
        "database.removal_policy='DESTROY': allowed is SNAPSHOT when deletion_protection is on",
    ),
    (
        "dev",
        {"service.image": "registry.acme.com/shop:1.0"},
        f"service.image='registry.acme.com/shop:1.0': allowed is an ECR image, a public registry's ({PUBLIC}), "
        "or a private registry's with service.image_credentials_secret_arn",
    ),
    ("dev", {"service.memory_mib": "4096"}, "service.memory_mib=4096: allowed is one of (512, 1024, 2048) for cpu=256"),
    ("prod", {"service.max_tasks": "1"}, "service.max_tasks=1: allowed is at least service.min_tasks (2)"),
    (
        "prod",
        {"service.scale_in_cooldown_seconds": "60"},
        "service.scale_in_cooldown_seconds=60: allowed is longer than service.scale_out_cooldown_seconds (60)",
    ),
    ("dev", {"api.burst_limit": "999"}, "api.burst_limit=999: allowed is at least api.rate_limit (1000) requests"),
    (
        "dev",
        {"certificateArn": CERTIFICATE},
        f"edge.certificate_arn='{CERTIFICATE}': allowed is a certificate only with edge.domain_name",
    ),
    (
        "dev",
        {"pipeline.repository": "acme/shop"},
        "pipeline.connection_arn/pipeline.repository=(None, 'acme/shop'): allowed is both (the connection and "
        "the owner/name it reads) or neither (no pipeline)",
    ),
    (
        "dev",
        {"pipeline.connection_arn": CONNECTION},
        f"pipeline.connection_arn/pipeline.repository=('{CONNECTION}', None): allowed is both (the connection and "
        "the owner/name it reads) or neither (no pipeline)",
    ),
    (
        "prod",
        {"backup.vault_lock_min_retention_days": "36"},
        "backup.daily_retention_days=35: allowed is at least backup.vault_lock_min_retention_days (36)",
    ),
    (
        "prod",
        {
            "backup.vault_lock_min_retention_days": "20",
            "database.backup_retention_days": "14",
            "backup.continuous_retention_days": "14",
        },
        "backup.continuous_retention_days=14: allowed is at least backup.vault_lock_min_retention_days (20)",
    ),
    (
        "dev",
        {"region": "eu-central-1", "network.availability_zones": "us-east-1a,us-east-1b"},
        "network.availability_zones=('us-east-1a', 'us-east-1b'): allowed is zones of eu-central-1",
    ),
    (
        "prod",
        {**TWO_ZONES, "database.readers": "2"},
        "database.readers=2: allowed is at most one reader per AZ besides the writer's",
    ),
    (
        "prod",
        {"backup.copy_region": "us-east-1"},
        f"backup.copy_region='us-east-1': allowed is a region other than us-east-1: one of {OTHER_COPY_REGIONS}",
    ),
    (
        "prod",
        {"backup.copy_region": ""},
        "backup.copy_region='': allowed is a region other than us-east-1 when backup.cross_region_copy is on",
    ),
    (
        "prod",
        {"backup.continuous_retention_days": "30"},
        "backup.continuous_retention_days=30: allowed is database.backup_retention_days (35) when "
        "backup.continuous is on",
    ),
]


@pytest.mark.parametrize(
    ("environment", "context", "message"),
    CROSS_SETTING_REJECTED,
    ids=[row[2].split(":")[0] for row in CROSS_SETTING_REJECTED],
)
def test_each_rule_between_settings_refuses_its_own_row(
    environment: str, context: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        config_from_context({"environment": environment, **context})
    assert str(error.value) == f"invalid setting {message}"


# The edge of each rule between settings, accepted: a rule that refuses one value too many fails here.
CROSS_SETTING_ACCEPTED = [
    ("prod", {"database.max_capacity": "1", "database.min_capacity": "1"}),
    ("dev", {"api.burst_limit": "1000"}),
    ("prod", {**TWO_ZONES, "database.readers": "1"}),
    ("prod", {"backup.vault_lock_min_retention_days": "35"}),
    ("prod", {"service.scale_in_cooldown_seconds": "61"}),
    ("prod", {"network.availability_zones": "us-east-1a,us-east-1b,us-east-1c", "network.nat_gateways": "3"}),
    ("dev", {"service.cpu": "512", "service.memory_mib": "4096"}),
    ("dev", {"domainName": "shop.example.com", "certificateArn": CERTIFICATE}),
    ("dev", {"pipeline.connection_arn": CONNECTION, "pipeline.repository": "acme/shop"}),
]


@pytest.mark.parametrize(
    ("environment", "context"), CROSS_SETTING_ACCEPTED, ids=[str(row[1]) for row in CROSS_SETTING_ACCEPTED]
)
def test_each_rule_between_settings_accepts_its_edge(environment: str, context: dict[str, object]) -> None:
    config = config_from_context({"environment": environment, **context})
    assert config.environment == environment


# --- Physical names within AWS's limits (tapstack_cli/limits.py) ---


@pytest.mark.parametrize(
    ("kind", "name", "problem"),
    [
        # The case: the copy stack's vault as a pipeline stage named it before stacks had their names.
        (
            "backup_vault",
            "Staging-TapStack-staging-backup-ap-southeast-2" + VAULT_SUFFIX,
            r"has 55 characters, at most 50",
        ),
        ("backup_plan", "TapStack-" + "p" * 40 + "-database", r"AWS Backup plan name .* at most 50"),
        ("db_cluster", "tapstack-" + "p" * 45 + "-storefront", r"DB cluster identifier .* at most 63"),
        ("db_cluster", "tapstack-pr--7-storefront", r"without two hyphens in a row"),
        ("stack", "TapStack-" + "p" * 120, r"stack name .* at most 128"),
        ("stack", "TapStack-pr_7", r"letters, digits and hyphens"),
        ("waf_log_group", "aws-waf-logs-" + "p" * 500, r"AWS WAF log group name .* at most 512"),
        ("log_group", "/aws/rds/cluster/" + "p" * 500, r"log group name .* at most 512"),
        ("load_balancer", "TapStack-preview-feature-branch-alb", r"load balancer name .* at most 32"),
        ("target_group", "-tg", r"not starting or ending with a hyphen"),
    ],
)
def test_a_name_past_its_aws_limit_is_refused_with_the_limit_and_its_page(kind: str, name: str, problem: str) -> None:
    """Each limit as its API reference states it (the page is in the message): a stack name 128, a Backup vault
    or plan name 50, an Aurora cluster identifier 63, a log group name 512, load balancer and target group 32."""
    (message,) = name_problems([(kind, name)])
    assert re.search(problem, message)
    assert "https://docs.aws.amazon.com/" in message


def test_every_profile_region_and_copy_region_makes_names_aws_accepts() -> None:
    """Every Config the settings allow today validates, names included: the longest copy stack vault
    (TapStack-staging-backup-ap-southeast-2-<8 hex>) has 47 of the 50 characters AWS Backup allows.
    https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupVault.html"""
    longest = 0
    for environment in ("dev", "staging", "prod"):
        for copy_region in sorted(backup_copy_regions()):
            # The copy stack's name depends on the profile and the copy region only.
            region = next(region for region in REGIONS if region != copy_region)
            overrides = {"backup.cross_region_copy": "true", "backup.copy_region": copy_region}
            config = load_config(environment, region=region, overrides=overrides)
            longest = max(longest, len(config.stack_names["backup_copy"] + VAULT_SUFFIX))
        for region in REGIONS:
            load_config(environment, region=region)
    assert longest == 47


def test_a_stack_name_that_makes_a_name_past_its_limit_fails_synth_naming_the_setting() -> None:
    """A name derived from a setting (here a longer environment name, as a preview environment would give)
    fails when the Config is built, with the setting, its value, the name and AWS's limit."""
    config = load_config("staging")

    class LongerName(Config):
        @property
        def stack_name(self) -> str:
            return "TapStack-pr-1234-" + "x" * 30

    longer = LongerName(**{item.name: getattr(config, item.name) for item in dataclasses.fields(config)})
    with pytest.raises(
        ConfigError,
        match=r"invalid setting environment='staging': allowed is a value that makes names AWS accepts, but the "
        r"AWS Backup vault name 'TapStack-pr-1234-x{30}-x{8}' has 56 characters, at most 50 allowed",
    ):
        longer.validate()


def test_any_other_valid_name_is_a_preview_with_devs_settings_keeping_nothing() -> None:
    """A preview: dev's settings under its own stack name, nothing retained, deletable in one go."""
    from aws_cdk import RemovalPolicy

    config = load_config("pr-123", overrides={"created_at": "2026-12-06T05:00Z"})
    dev = load_config("dev")
    assert config.stack_name == "TapStack-pr-123" and config.preview and not dev.preview
    assert config.service == dev.service and config.network == dev.network and config.database == dev.database
    assert config.removal_policy is RemovalPolicy.DESTROY
    assert config.database.removal_policy is RemovalPolicy.DESTROY and not config.database.deletion_protection
    assert not config.service.load_balancer_deletion_protection
    assert config.backup.removal_policy is RemovalPolicy.DESTROY and dev.backup.removal_policy is RemovalPolicy.RETAIN
    assert config.tags["Preview"] == "pr-123" and config.tags["CreatedAt"] == "2026-12-06T05:00Z"


def test_a_preview_is_tagged_with_the_day_it_was_created_by_default() -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", load_config("pr-7").tags["CreatedAt"])


def test_a_locked_vault_cannot_be_destroyed() -> None:
    """AWS Backup Vault Lock: no recovery point of a locked vault is deleted before its minimum retention,
    so a vault deleted with its stack cannot be locked. https://docs.aws.amazon.com/aws-backup/latest/devguide/vault-lock.html"""
    with pytest.raises(ConfigError, match=r"backup.removal_policy='DESTROY'.*RETAIN when backup.vault_lock is on"):
        load_config("prod", overrides={"backup.removal_policy": "DESTROY"})


@pytest.mark.parametrize("name", ["pr-123", "feature-x1", "p" * 32])
def test_preview_names_fit_every_name_aws_derives_from_them(name: str) -> None:
    """The longest names derived from a preview's (backup plan and vault: 50 characters, Aurora cluster
    identifier: 63) fit their limits. https://docs.aws.amazon.com/aws-backup/latest/devguide/API_CreateBackupPlan.html"""
    config = load_config(name)
    assert len(f"{config.stack_name}-database") <= 50 and len(f"{config.stack_name}-12345678") <= 50
    assert len(f"{config.stack_name.lower()}-storefront") <= 63


def test_dev_and_previews_trim_the_web_acls_to_the_baseline_and_drop_the_dashboard() -> None:
    """Idle cost levers as settings (docs/operations.md): each door keeps its web ACL with the rate limit and
    AWSManagedRulesCommonRuleSet; staging and prod keep all three managed groups and the dashboard."""
    everything = (
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
    )
    for name in ("dev", "pr-1"):
        config = load_config(name)
        assert config.edge.waf_rule_groups == config.api.waf_rule_groups == ("AWSManagedRulesCommonRuleSet",)
        assert not config.alerts.dashboard
    for name in ("staging", "prod"):
        config = load_config(name)
        assert config.edge.waf_rule_groups == config.api.waf_rule_groups == everything
        assert config.alerts.dashboard


@pytest.mark.parametrize("groups", ["AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesBotControlRuleSet"])
def test_a_web_acl_keeps_the_baseline_rule_group(groups: str) -> None:
    with pytest.raises(ConfigError, match=r"edge.waf_rule_groups=.*with AWSManagedRulesCommonRuleSet among them"):
        load_config("dev", overrides={"edge.waf_rule_groups": groups})


def test_a_map_takes_one_entry_per_key_or_a_json_object() -> None:
    """`-c service.environment.NAME=value` per entry, or the whole map as JSON (cdk.json or `-c key='{...}'`)."""
    by_key = config_from_context(
        {
            "service.environment.SHOP_CURRENCY": "EUR",
            "service.environment.ALLOWED_HOSTS": "shop.example.com",
            "service.secrets.SECRET_KEY": f"{SECRET}:SECRET_KEY::",
        }
    )
    by_object = config_from_context(
        {
            "service.environment": {"SHOP_CURRENCY": "EUR", "ALLOWED_HOSTS": "shop.example.com"},
            "service.secrets": f'{{"SECRET_KEY": "{SECRET}:SECRET_KEY::"}}',
        }
    )
    assert by_key == by_object
    assert by_key.service.environment == {"SHOP_CURRENCY": "EUR", "ALLOWED_HOSTS": "shop.example.com"}
    # cdk.json's numbers and booleans are text in the environment, as a shell would pass them.
    typed = config_from_context({"service.environment": {"WORKERS": 4, "DEBUG": False, "RATIO": 0.5}})
    assert typed.service.environment == {"WORKERS": "4", "DEBUG": "false", "RATIO": "0.5"}
    assert config_from_context({"service.environment.WORKERS": 4}).service.environment == {"WORKERS": "4"}
    # An entry key adds to the map a JSON object gave.
    both = config_from_context({"service.environment": {"A": "1"}, "service.environment.B": "2"})
    assert both.service.environment == {"A": "1", "B": "2"}


def test_a_job_from_keys_equals_the_same_job_from_a_json_object() -> None:
    keys = {"jobs.cleanup.schedule": "cron(0 3 * * ? *)", "jobs.cleanup.command": "python manage.py clearsessions"}
    by_key = config_from_context(keys)
    job = {"schedule": "cron(0 3 * * ? *)", "command": "python manage.py clearsessions"}
    assert by_key == config_from_context({"jobs.cleanup": job}) == config_from_context({"jobs": {"cleanup": job}})
    assert by_key.jobs["cleanup"].argv == ("python", "manage.py", "clearsessions")
    with pytest.raises(ConfigError, match=r"unknown setting 'jobs.cleanup.comand'.*jobs.cleanup.command"):
        config_from_context({"jobs.cleanup": {"schedule": "rate(1 hour)", "comand": "x"}})


def test_the_bundled_job_can_be_rescheduled_or_turned_off() -> None:
    assert load_config("prod").jobs["expire-carts"].schedule == "rate(1 hour)"
    rescheduled = config_from_context({"jobs.expire-carts.schedule": "rate(15 minutes)"})
    assert rescheduled.jobs["expire-carts"].schedule == "rate(15 minutes)"
    assert rescheduled.jobs["expire-carts"].command == "storefront expire-carts"
    assert config_from_context({"jobs.expire-carts.enabled": "false"}).active_jobs == {}


@pytest.mark.parametrize(
    "expression",
    ["rate(1 minute)", "rate(5 minutes)", "rate(1 day)", "cron(0 3 * * ? *)", "cron(0/15 8-18 ? * MON-FRI *)"],
)
def test_eventbridge_scheduler_expressions_are_accepted(expression: str) -> None:
    config = config_from_context({"jobs.j.schedule": expression, "jobs.j.command": "true"})
    assert config.jobs["j"].schedule == expression


def test_a_secret_names_its_json_key_and_version_the_way_ecs_reads_them() -> None:
    """ECS's valueFrom: `<secret ARN>:<json-key>:<version-stage>:<version-id>`, empty parts allowed.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html"""
    config = config_from_context(
        {
            "service.secrets.WHOLE": SECRET,
            "service.secrets.FIELD": f"{SECRET}:password::",
            "service.secrets.STAGED": f"{SECRET}:password:AWSPREVIOUS:",
            "service.secrets.PARAMETER": "arn:aws:ssm:us-east-1:123456789012:parameter/shop/dsn",
        }
    )
    references = config.service.secret_references
    assert (references["WHOLE"].arn, references["WHOLE"].json_key) == (SECRET, None)
    assert references["FIELD"].json_key == "password" and references["FIELD"].version_stage is None
    assert references["STAGED"].version_stage == "AWSPREVIOUS"
    assert (references["PARAMETER"].source, references["PARAMETER"].arn) == (
        "ssm",
        "arn:aws:ssm:us-east-1:123456789012:parameter/shop/dsn",
    )


# --- Types and context parsing, each with its whole message (tests/infra/test_config.py's mutation run) ---

CONTEXT_REJECTED = [
    ({"network.nat_instance_type": 5}, "invalid setting network.nat_instance_type=5: allowed is text"),
    (
        {"network.availability_zones": ["us-east-1a", 5]},
        "invalid setting network.availability_zones=5: allowed is text",
    ),
    ({"network.availability_zones": 5}, "invalid setting network.availability_zones=5: allowed is list of text"),
    ({"database.performance_insights": 1}, "invalid setting database.performance_insights=1: allowed is true or false"),
    (
        {"edge.price_class": 5},
        "invalid setting edge.price_class=5: allowed is one of PRICE_CLASS_100, PRICE_CLASS_200, PRICE_CLASS_ALL",
    ),
    (
        {"removal_policy": "SNAPSHOT"},
        "invalid setting removal_policy=<RemovalPolicy.SNAPSHOT: 'SNAPSHOT'>: allowed is one of RETAIN, DESTROY",
    ),
    (
        {"service.max_task": "1"},
        "unknown setting 'service.max_task': no setting has this name; closest: service.max_tasks, "
        "service.min_tasks, service.paths (docs/configuration.md lists them)",
    ),
    (
        {"emailAdress": "ops@example.com"},
        "unknown setting 'emailAdress': no setting has this name; closest: emailAddress "
        "(docs/configuration.md lists them)",
    ),
]


@pytest.mark.parametrize(("context", "message"), CONTEXT_REJECTED, ids=[str(row[0]) for row in CONTEXT_REJECTED])
def test_a_context_value_of_the_wrong_type_or_key_gives_its_whole_message(
    context: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        config_from_context(context)
    assert str(error.value) == message


@pytest.mark.parametrize("empty", ["", "none", "None", "NULL", " null "])
def test_none_null_or_nothing_clears_an_optional_setting(empty: str) -> None:
    assert config_from_context({"network.nat_instance_type": empty}).network.nat_instance_type is None


def test_empty_items_of_a_list_are_skipped() -> None:
    zones = config_from_context({"network.availability_zones": "us-east-1a,,us-east-1b,"}).network.availability_zones
    assert zones == ("us-east-1a", "us-east-1b")


def test_a_bare_key_that_is_no_typo_of_ours_passes_through() -> None:
    """CDK's and other tools' own context keys are not ours to refuse."""
    assert config_from_context({"verbose": True, "json": "true"}) == load_config("dev")


def test_region_and_account_reach_the_config() -> None:
    config = config_from_context({"region": "eu-central-1"}, account="123456789012")
    assert (config.region, config.account) == ("eu-central-1", "123456789012")
    assert config.network.availability_zones == REGIONS["eu-central-1"].availability_zones
    assert config.backup.copy_region == "eu-west-1"
    assert load_config().environment == "dev"
    assert load_config("prod", account="210987654321").account == "210987654321"


def _direct_type_errors() -> list[tuple[object, str]]:
    """Sections built in code (not through the context), with a value of the wrong type."""
    from infra.profiles import DEV

    return [
        (dataclasses.replace(DEV.network, nat_instance_type=5), "network.nat_instance_type=5: allowed is text or none"),
        (
            dataclasses.replace(DEV.network, availability_zones=("us-east-1a", 5)),
            "network.availability_zones=('us-east-1a', 5): allowed is list of text",
        ),
        (
            dataclasses.replace(DEV.network, availability_zones="us-east-1a"),
            "network.availability_zones='us-east-1a': allowed is list of text",
        ),
        (dataclasses.replace(DEV.database, max_capacity=True), "database.max_capacity=True: allowed is number"),
        (dataclasses.replace(DEV.service, max_tasks=2.0), "service.max_tasks=2.0: allowed is integer"),
        (
            dataclasses.replace(DEV.edge, price_class="PRICE_CLASS_100"),
            "edge.price_class='PRICE_CLASS_100': allowed is one of PRICE_CLASS_100, PRICE_CLASS_200, PRICE_CLASS_ALL",
        ),
        (
            dataclasses.replace(DEV.database, performance_insights="yes"),
            "database.performance_insights='yes': allowed is true or false",
        ),
    ]


@pytest.mark.parametrize("row", range(7))
def test_a_section_built_in_code_checks_each_fields_type(row: int) -> None:
    section, message = _direct_type_errors()[row]
    with pytest.raises(ConfigError) as error:
        section.validate()  # type: ignore[attr-defined]
    assert str(error.value) == f"invalid setting {message}"


def test_a_setting_shaped_key_with_no_close_name_says_so_without_suggestions() -> None:
    with pytest.raises(ConfigError) as error:
        config_from_context({"zzzz.qqqq": "1"})
    assert (
        str(error.value) == "unknown setting 'zzzz.qqqq': no setting has this name (docs/configuration.md lists them)"
    )


def test_a_bare_key_only_loosely_like_ours_passes_through() -> None:
    """Only a near typo (similarity 0.8 and up) of a bare key of ours is refused: `environ` is another tool's."""
    assert config_from_context({"environ": "x"}) == load_config("dev")


# The bounds of the shared rules (between, at_least, positive, percentage, matching, one_of): built while the
# settings classes are defined, so `make mutate` cannot change them; pinned here at their edges instead.
EDGES_ACCEPTED = [
    {"alerts.target_5xx_percent": "100"},
    {"alerts.target_5xx_percent": "0.5"},
    {"service.min_tasks": "1", "service.max_tasks": "1"},
    {"database.readers": "0", "backup.daily_start_hour_utc": "0"},
    {"backup.daily_start_hour_utc": "23"},
    {"api.monthly_quota": "1"},
    {"network.nat_instance_type": "t4g.small"},
    {"database.enhanced_monitoring_seconds": "60"},
]
EDGES_REJECTED = [
    (
        {"alerts.target_5xx_percent": "0"},
        "alerts.target_5xx_percent=0: allowed is a percentage above 0 and at most 100",
    ),
    ({"service.min_tasks": "0"}, "service.min_tasks=0: allowed is at least 1 tasks"),
    ({"api.monthly_quota": "0"}, "api.monthly_quota=0: allowed is a positive number (requests per month)"),
    ({"backup.daily_start_hour_utc": "-1"}, "backup.daily_start_hour_utc=-1: allowed is 0 to 23 hours UTC"),
    (
        {"network.nat_instance_type": "t4g.nanos"},
        "network.nat_instance_type='t4g.nanos': allowed is t4g.nano, t4g.micro or t4g.small (Graviton burstable; "
        "the AMI is ARM64), or none for NAT gateways",
    ),
    (
        {"database.enhanced_monitoring_seconds": "2"},
        "database.enhanced_monitoring_seconds=2: allowed is one of 0, 1, 5, 10, 15, 30, 60",
    ),
]


@pytest.mark.parametrize("context", EDGES_ACCEPTED, ids=[str(row) for row in EDGES_ACCEPTED])
def test_a_bound_itself_is_allowed(context: dict[str, object]) -> None:
    config_from_context({"environment": "dev", **context})


@pytest.mark.parametrize(("context", "message"), EDGES_REJECTED, ids=[str(row[0]) for row in EDGES_REJECTED])
def test_just_past_a_bound_is_refused_with_the_whole_rule(context: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        config_from_context({"environment": "dev", **context})
    assert str(error.value) == f"invalid setting {message}"
