"""infra/config.py: each profile's settings and the errors a wrong value gives."""

from __future__ import annotations

import dataclasses

import pytest

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
