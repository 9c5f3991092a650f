"""infra/config.py: each profile's settings and the errors a wrong value gives."""

from __future__ import annotations

import dataclasses

import pytest
from aws_cdk import RemovalPolicy

from infra.config import ConfigError, load_config, with_settings


def test_production_is_the_seeds_name_for_prod() -> None:
    assert load_config("production").environment == "prod"


def test_unknown_environment_names_the_setting_and_the_allowed_values() -> None:
    with pytest.raises(ConfigError, match=r"environment='qa'.*dev, staging, prod"):
        load_config("qa")


def test_malformed_email_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"emailAddress='ops-at-example'"):
        load_config("dev", email_address="ops-at-example")


def test_malformed_region_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"region='useast1'"):
        load_config("dev", region="useast1")


def test_malformed_account_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"account='12345'.*12-digit"):
        load_config("dev", account="12345")


def test_more_nat_gateways_than_zones_is_rejected() -> None:
    config = load_config("prod")
    with pytest.raises(ConfigError, match=r"network.nat_gateways=4.*1 to 3"):
        with_settings(config, network=dataclasses.replace(config.network, nat_gateways=4))


def test_non_positive_flow_log_retention_is_rejected() -> None:
    config = load_config("dev")
    with pytest.raises(ConfigError, match=r"network.flow_log_retention_days=0"):
        with_settings(config, network=dataclasses.replace(config.network, flow_log_retention_days=0))


def test_vpc_cidr_must_be_a_private_16() -> None:
    config = load_config("dev")
    with pytest.raises(ConfigError, match=r"network.cidr='192.168.0.0/24'"):
        with_settings(config, network=dataclasses.replace(config.network, cidr="192.168.0.0/24"))


def test_settings_are_frozen() -> None:
    config = load_config("dev")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.network.nat_gateways = 2  # type: ignore[misc]


def test_database_min_capacity_above_max_is_rejected() -> None:
    config = load_config("prod")
    with pytest.raises(ConfigError, match=r"database.min_capacity=20.*at most database.max_capacity"):
        with_settings(config, database=dataclasses.replace(config.database, min_capacity=20))


def test_database_capacity_must_be_in_half_acu_steps() -> None:
    config = load_config("prod")
    with pytest.raises(ConfigError, match=r"database.max_capacity=8.3.*steps of 0.5"):
        with_settings(config, database=dataclasses.replace(config.database, max_capacity=8.3))


def test_database_readers_need_a_zone_of_their_own() -> None:
    config = load_config("prod")
    with pytest.raises(ConfigError, match=r"database.readers=3"):
        with_settings(config, database=dataclasses.replace(config.database, readers=3))


def test_database_backup_retention_is_limited_to_35_days() -> None:
    config = load_config("prod")
    with pytest.raises(ConfigError, match=r"database.backup_retention_days=0.*1 to 35"):
        with_settings(config, database=dataclasses.replace(config.database, backup_retention_days=0))


def test_deletion_protection_requires_a_final_snapshot() -> None:
    config = load_config("prod")
    with pytest.raises(ConfigError, match=r"database.removal_policy='DESTROY'.*SNAPSHOT"):
        with_settings(config, database=dataclasses.replace(config.database, removal_policy=RemovalPolicy.DESTROY))


def test_fargate_memory_must_fit_the_cpu_size() -> None:
    config = load_config("dev")
    with pytest.raises(ConfigError, match=r"service.memory_mib=4096.*for cpu=256"):
        with_settings(config, service=dataclasses.replace(config.service, memory_mib=4096))


def test_max_tasks_below_min_tasks_is_rejected() -> None:
    config = load_config("prod")
    with pytest.raises(ConfigError, match=r"service.max_tasks=1.*at least service.min_tasks"):
        with_settings(config, service=dataclasses.replace(config.service, max_tasks=1))


def test_scale_in_must_be_slower_than_scale_out() -> None:
    config = load_config("prod")
    with pytest.raises(ConfigError, match=r"service.scale_in_cooldown_seconds=30.*longer than"):
        with_settings(config, service=dataclasses.replace(config.service, scale_in_cooldown_seconds=30))


def test_api_profiles_default_to_the_partner_usage_plan() -> None:
    for environment in ("dev", "staging", "prod"):
        api = load_config(environment).api
        assert (api.rate_limit, api.burst_limit, api.monthly_quota) == (1000, 2000, 1_000_000)


def test_non_positive_api_rate_limit_is_rejected() -> None:
    config = load_config("dev")
    with pytest.raises(ConfigError, match=r"api.rate_limit=0.*more than 0"):
        with_settings(config, api=dataclasses.replace(config.api, rate_limit=0))


def test_api_rate_limit_above_the_account_limit_is_rejected() -> None:
    config = load_config("dev")
    with pytest.raises(ConfigError, match=r"api.rate_limit=20000.*at most 10000"):
        with_settings(config, api=dataclasses.replace(config.api, rate_limit=20000, burst_limit=20000))


def test_api_burst_below_rate_is_rejected() -> None:
    config = load_config("dev")
    with pytest.raises(ConfigError, match=r"api.burst_limit=500.*at least api.rate_limit"):
        with_settings(config, api=dataclasses.replace(config.api, burst_limit=500))


def test_non_positive_api_monthly_quota_is_rejected() -> None:
    config = load_config("dev")
    with pytest.raises(ConfigError, match=r"api.monthly_quota=0.*positive"):
        with_settings(config, api=dataclasses.replace(config.api, monthly_quota=0))


def test_waf_rate_limit_outside_the_waf_range_is_rejected() -> None:
    config = load_config("dev")
    with pytest.raises(ConfigError, match=r"api.waf_rate_limit=5.*10 to 2000000000"):
        with_settings(config, api=dataclasses.replace(config.api, waf_rate_limit=5))


def test_api_access_log_retention_must_be_a_cloudwatch_period() -> None:
    config = load_config("dev")
    with pytest.raises(ConfigError, match=r"api.access_log_retention_days=10.*retention periods"):
        with_settings(config, api=dataclasses.replace(config.api, access_log_retention_days=10))


def _edge(**changes: object) -> None:
    config = load_config("dev")
    with_settings(config, edge=dataclasses.replace(config.edge, **changes))


def test_edge_requires_us_east_1() -> None:
    """AWS WAF: a web ACL of scope CLOUDFRONT (and CloudFront's certificate) exists only in us-east-1."""
    with pytest.raises(ConfigError, match=r"region='eu-west-1'.*us-east-1"):
        load_config("dev", region="eu-west-1")


def test_waf_rate_limit_out_of_range_is_rejected() -> None:
    """AWS WAF rate-based statements accept a limit of 10 to 2,000,000,000."""
    with pytest.raises(ConfigError, match=r"edge.waf_rate_limit=5.*10 to 2000000000"):
        _edge(waf_rate_limit=5)


def test_non_positive_noncurrent_version_days_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"edge.noncurrent_version_days=0"):
        _edge(noncurrent_version_days=0)


def test_non_positive_access_log_days_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"edge.access_log_days=0"):
        _edge(access_log_days=0)


def test_price_class_must_be_a_cloudfront_price_class() -> None:
    with pytest.raises(ConfigError, match=r"edge.price_class='PriceClass_100'"):
        _edge(price_class="PriceClass_100")


def test_malformed_origin_facing_prefix_list_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"edge.origin_facing_prefix_list_id='cloudfront'"):
        _edge(origin_facing_prefix_list_id="cloudfront")


def test_domain_name_without_certificate_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"edge.domain_name/edge.certificate_arn=.*both .* or neither"):
        _edge(domain_name="shop.example.com")


def test_certificate_without_domain_name_is_rejected() -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    with pytest.raises(ConfigError, match=r"edge.domain_name/edge.certificate_arn="):
        _edge(certificate_arn=arn)


def test_malformed_domain_name_is_rejected() -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    with pytest.raises(ConfigError, match=r"edge.domain_name='Shop_Example'"):
        _edge(domain_name="Shop_Example", certificate_arn=arn)


def test_certificate_outside_us_east_1_is_rejected() -> None:
    """CloudFront only uses ACM certificates requested or imported in us-east-1."""
    arn = "arn:aws:acm:eu-west-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    with pytest.raises(ConfigError, match=r"edge.certificate_arn='arn:aws:acm:eu-west-1.*us-east-1"):
        _edge(domain_name="shop.example.com", certificate_arn=arn)


def test_domain_name_with_certificate_is_accepted() -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012"
    config = load_config("prod", domain_name="shop.example.com", certificate_arn=arn)
    assert (config.edge.domain_name, config.edge.certificate_arn) == ("shop.example.com", arn)


def test_access_log_days_must_be_a_cloudwatch_retention() -> None:
    """The same days set the retention of the edge's CloudWatch log groups, which accept fixed values."""
    with pytest.raises(ConfigError, match=r"edge.access_log_days=45.*CloudWatch Logs retention"):
        _edge(access_log_days=45)
