"""The three profiles: dev in full, staging as its differences from dev, prod as its differences from staging;
and the preview profile every other environment name gets.

Every value here can still be overridden by a `<section>.<field>` context key (infra/context.py).
"""

from __future__ import annotations

from dataclasses import replace

from aws_cdk import RemovalPolicy
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_ecs as ecs

from infra.config import (
    WAF_RULE_GROUPS,
    AlertSettings,
    ApiSettings,
    BackupSettings,
    Config,
    DatabaseSettings,
    EdgeSettings,
    JobSettings,
    NetworkSettings,
    ServiceSettings,
)

# The baseline rule group alone (OWASP-style common exploits), beside each web ACL's rate limit.
BASELINE_WAF = ("AWSManagedRulesCommonRuleSet",)

DEV = Config(
    environment="dev",
    removal_policy=RemovalPolicy.DESTROY,
    network=NetworkSettings(
        cidr="10.10.0.0/16", nat_gateways=1, flow_log_retention_days=14, nat_instance_type="t4g.nano"
    ),
    database=DatabaseSettings(
        min_capacity=0,
        max_capacity=2,
        auto_pause_minutes=30,
        backup_retention_days=1,
        deletion_protection=False,
        removal_policy=RemovalPolicy.DESTROY,
        performance_insights=False,
        log_retention_days=7,
    ),
    service=ServiceSettings(
        min_tasks=1,
        max_tasks=2,
        log_retention_days=14,
        access_log_expiry_days=14,
        load_balancer_deletion_protection=False,
        # Fargate Spot: interruptions are fine for a disposable environment with one task (docs/operations.md).
        capacity="FARGATE_SPOT",
        # One task: the load balancer's healthy-task alarms already see it missing (docs/operations.md).
        container_insights=False,
    ),
    # Idle cost levers (docs/operations.md, "What a dev or preview environment costs"): partners come in
    # through CloudFront, so one web ACL guards both doors, with the rate limit and the baseline rule group
    # only; and there is no dashboard.
    api=ApiSettings(access_log_retention_days=7, waf_rule_groups=BASELINE_WAF, through_cloudfront=True),
    edge=EdgeSettings(waf_rate_limit=1000, noncurrent_version_days=7, access_log_days=30, waf_rule_groups=BASELINE_WAF),
    alerts=AlertSettings(dashboard=False),
    backup=BackupSettings(daily_retention_days=7),
)

STAGING = replace(
    DEV,
    environment="staging",
    removal_policy=RemovalPolicy.RETAIN,
    network=replace(DEV.network, cidr="10.20.0.0/16", flow_log_retention_days=30, nat_instance_type=None),
    database=replace(
        DEV.database,
        min_capacity=0.5,
        max_capacity=4,
        auto_pause_minutes=60,
        backup_retention_days=7,
        deletion_protection=True,
        removal_policy=RemovalPolicy.SNAPSHOT,
        performance_insights=True,
        log_retention_days=30,
    ),
    service=replace(
        DEV.service,
        min_tasks=2,
        max_tasks=4,
        log_retention_days=30,
        access_log_expiry_days=30,
        # Dev stays ROLLING: one task, no second target group, nobody to protect from a bad minute.
        deployment_strategy=ecs.DeploymentStrategy.BLUE_GREEN,
        bake_time_minutes=10,
        load_balancer_deletion_protection=True,
        # On demand: a Spot interruption would stop a task that customers' requests are on.
        capacity="FARGATE",
        container_insights=True,
    ),
    # Partners call the API's own endpoint, behind its own web ACL, as in prod.
    api=replace(DEV.api, access_log_retention_days=30, waf_rule_groups=WAF_RULE_GROUPS, through_cloudfront=False),
    edge=replace(
        DEV.edge, waf_rate_limit=2000, noncurrent_version_days=30, access_log_days=90, waf_rule_groups=WAF_RULE_GROUPS
    ),
    alerts=replace(DEV.alerts, dashboard=True),
    backup=replace(DEV.backup, daily_retention_days=14, continuous=True, continuous_retention_days=7),
)

PROD = replace(
    STAGING,
    environment="prod",
    network=replace(STAGING.network, cidr="10.30.0.0/16", nat_gateways=3, flow_log_retention_days=365),
    # 35 days of point-in-time restore, the most Aurora and AWS Backup keep.
    database=replace(
        STAGING.database,
        max_capacity=16,
        readers=1,
        backup_retention_days=35,
        log_retention_days=365,
        enhanced_monitoring_seconds=60,
    ),
    service=replace(
        STAGING.service, max_tasks=10, log_retention_days=365, access_log_expiry_days=90, bake_time_minutes=20
    ),
    api=replace(STAGING.api, access_log_retention_days=365),
    edge=replace(
        STAGING.edge,
        price_class=cloudfront.PriceClass.PRICE_CLASS_ALL,
        noncurrent_version_days=90,
        access_log_days=365,
    ),
    backup=replace(
        STAGING.backup,
        daily_retention_days=35,
        continuous_retention_days=35,
        cross_region_copy=True,
        vault_lock=True,
        vault_lock_min_retention_days=7,
    ),
)

# Any other environment name (`-c environment=pr-123`) is a preview: dev's settings under its own name and
# stacks, and nothing kept when `tapstack destroy` removes it (dev keeps its backup vault; a preview has no
# data worth a vault that outlives it). `environment` is replaced by the preview's name.
PREVIEW = replace(DEV, environment="preview", backup=replace(DEV.backup, removal_policy=RemovalPolicy.DESTROY))
# The bundled storefront's jobs, present whenever its image is (a shop's own image brings its own `jobs.*`).
# Carts left open longer than STOREFRONT_CART_TTL_HOURS are expired every hour (docs/your-app.md).
BUNDLED_JOBS = {
    "expire-carts": JobSettings(schedule="rate(1 hour)", command="storefront expire-carts", timeout_minutes=15),
}

PROFILES = {profile.environment: profile for profile in (DEV, STAGING, PROD)}
