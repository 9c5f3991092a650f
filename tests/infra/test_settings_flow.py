"""Settings that flow through more than one resource, checked end to end with the configured values: each
profile's own retention days (they differ per profile), the abroad app's non-default port and health path,
the one key of each stack behind every encrypted resource, and the exact VPC endpoint service name.

Not "some key", "retention above 0" or a substring: the value infra/profiles.py (or the context) sets.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infra.config import Config
from infra.context import load_config
from tests.conftest import ABROAD_CONTEXT
from tests.synthesis import PROFILES, Synthesized

# Every log group by logical-ID prefix, and the setting that gives its retention (days).
LOG_RETENTION: dict[str, Callable[[Config], int]] = {
    "NetworkFlowLogs": lambda c: c.network.flow_log_retention_days,
    "DatabasePostgresLogs": lambda c: c.database.log_retention_days,
    "ServiceLogs": lambda c: c.service.log_retention_days,
    # ECS Exec sessions, the release step and the scheduled jobs: the service's own retention.
    "ServiceExecLogs": lambda c: c.service.log_retention_days,
    "ReleaseStepLogs": lambda c: c.service.log_retention_days,
    "ScheduledJobsLogs": lambda c: c.service.log_retention_days,
    "EdgeWafLogs": lambda c: c.edge.access_log_days,
    "WafLogs": lambda c: c.edge.access_log_days,  # the us-east-1 companion's (outside us-east-1)
    "EdgeDeploymentLogs": lambda c: c.edge.access_log_days,
    "ApiAccessLogs": lambda c: c.api.access_log_retention_days,
    "ApiWafLogs": lambda c: c.api.access_log_retention_days,
}

# Bucket lifecycle: (logical-ID prefix, the rule's field) -> the setting (days).
BUCKET_DAYS: dict[tuple[str, str], Callable[[Config], int]] = {
    ("ServiceAccessLogs", "ExpirationInDays"): lambda c: c.service.access_log_expiry_days,
    ("EdgeAccessLogs", "ExpirationInDays"): lambda c: c.edge.access_log_days,
    ("EdgeAccessLogs", "NoncurrentDays"): lambda c: c.edge.noncurrent_version_days,
    ("EdgeSite", "NoncurrentDays"): lambda c: c.edge.noncurrent_version_days,
}

# Where each resource type names the key that encrypts it.
KEY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::Logs::LogGroup": ("KmsKeyId",),
    "AWS::SNS::Topic": ("KmsMasterKeyId",),
    "AWS::SecretsManager::Secret": ("KmsKeyId",),
    "AWS::RDS::DBCluster": ("KmsKeyId",),
    "AWS::RDS::DBInstance": ("PerformanceInsightsKMSKeyId",),
    "AWS::Backup::BackupVault": ("EncryptionKeyArn",),
    "AWS::S3::Bucket": ("BucketEncryption",),
}
# Encrypted with our key, all of them (a resource with the property but without a key fails). Buckets that
# receive AWS services' access logs use SSE-S3: S3 server access logging and ELB logs cannot write SSE-KMS.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
SSE_S3_BUCKETS = ("ServiceAccessLogs", "EdgeAccessLogs")
MUST_HAVE_KEY = ("AWS::Logs::LogGroup", "AWS::SNS::Topic", "AWS::SecretsManager::Secret", "AWS::RDS::DBCluster")


def _stacks(synthesized: Synthesized) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, path in synthesized.template_paths.items():
        yield name, json.loads(path.read_text())["Resources"]


def _prefixed(logical_id: str, table: dict[str, Any]) -> str:
    (prefix,) = [p for p in table if logical_id.startswith(p) and not logical_id.startswith("Edge" + p)] or [""]
    return prefix


def check_log_retention(synthesized: Synthesized, config: Config) -> None:
    found = {}
    for stack, resources in _stacks(synthesized):
        for logical_id, resource in resources.items():
            if resource["Type"] == "AWS::Logs::LogGroup":
                prefix = _prefixed(logical_id, LOG_RETENTION)
                assert prefix, f"{stack}/{logical_id}: a log group LOG_RETENTION does not name"
                found[f"{stack}/{logical_id}"] = (
                    resource["Properties"]["RetentionInDays"],
                    LOG_RETENTION[prefix](config),
                )
    assert found and all(actual == expected for actual, expected in found.values()), found


@pytest.mark.parametrize("environment", PROFILES)
def test_every_log_group_keeps_its_logs_as_long_as_its_setting_says(
    synth: Callable[[str], Synthesized], environment: str
) -> None:
    """CloudWatch Logs RetentionInDays of every log group of every stack is its profile's setting (dev,
    staging and prod differ: 7/14/30, 30/90, 365 days)."""
    check_log_retention(synth(environment), load_config(environment))


def test_abroad_log_groups_follow_the_settings_in_every_stack(abroad: Synthesized) -> None:
    check_log_retention(abroad, load_config("prod", region="eu-central-1"))


@pytest.mark.parametrize("environment", PROFILES)
def test_bucket_lifecycles_expire_what_the_settings_say(synth: Callable[[str], Synthesized], environment: str) -> None:
    config = load_config(environment)
    seen = set()
    for logical_id, bucket in synth(environment).of_type("AWS::S3::Bucket").items():
        rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        for (prefix, field), setting in BUCKET_DAYS.items():
            if logical_id.startswith(prefix):
                values = [
                    rule.get(field, rule.get("NoncurrentVersionExpiration", {}).get(field))
                    for rule in rules
                    if field in rule or field in rule.get("NoncurrentVersionExpiration", {})
                ]
                assert values == [setting(config)], (logical_id, field)
                seen.add((prefix, field))
    assert seen == set(BUCKET_DAYS)


def _own_key(resources: dict[str, Any]) -> str:
    (key,) = [logical_id for logical_id, resource in resources.items() if resource["Type"] == "AWS::KMS::Key"]
    return key


def check_encryption_with_own_key(synthesized: Synthesized) -> None:
    wrong = {}
    for stack, resources in _stacks(synthesized):
        key = {"Fn::GetAtt": [_own_key(resources), "Arn"]}
        for logical_id, resource in resources.items():
            for name in KEY_PROPERTIES.get(resource["Type"], ()):
                value = resource["Properties"].get(name)
                if resource["Type"] == "AWS::S3::Bucket":
                    (rule,) = value["ServerSideEncryptionConfiguration"]
                    default = rule["ServerSideEncryptionByDefault"]
                    value = "SSE-S3" if default == {"SSEAlgorithm": "AES256"} else default.get("KMSMasterKeyID")
                    expected: object = "SSE-S3" if logical_id.startswith(SSE_S3_BUCKETS) else key
                elif value is None and resource["Type"] not in MUST_HAVE_KEY:
                    continue  # e.g. Performance Insights off (dev): nothing to encrypt
                else:
                    expected = key
                if value != expected:
                    wrong[f"{stack}/{logical_id}.{name}"] = value
    assert wrong == {}, "encrypted with another key than the stack's own (or none)"


@pytest.mark.parametrize("environment", PROFILES)
def test_every_encrypted_resource_uses_its_stacks_own_key(
    synth: Callable[[str], Synthesized], environment: str
) -> None:
    """Log groups, topics, secrets, the cluster, Performance Insights, backup vaults and the site bucket name
    exactly their stack's customer managed key (GetAtt Arn of it), in every stack of the profile."""
    check_encryption_with_own_key(synth(environment))


def test_abroad_companion_stacks_use_their_own_key(abroad: Synthesized) -> None:
    """The us-east-1 companions and the backup copy region's stack each encrypt with the key they hold."""
    check_encryption_with_own_key(abroad)


def test_s3_gateway_endpoint_is_the_regions_s3_service_on_the_private_route_tables(profile: Synthesized) -> None:
    """VPC gateway endpoints: com.amazonaws.<region>.s3, routed from the subnets whose tasks pull image layers.
    https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html"""
    (endpoint,) = profile.of_type("AWS::EC2::VPCEndpoint").values()
    properties = endpoint["Properties"]
    assert properties["VpcEndpointType"] == "Gateway"
    assert properties["ServiceName"] == {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".s3"]]}
    private = {
        logical_id
        for logical_id, table in profile.of_type("AWS::EC2::RouteTable").items()
        if "PrivateSubnet" in logical_id
    }
    assert private and private <= {table["Ref"] for table in properties["RouteTableIds"]}


def _port_and_path(synthesized: Synthesized) -> tuple[dict[str, object], dict[str, object]]:
    """Every place the container port and the health check path appear."""
    resources = synthesized.resources
    ports: dict[str, object] = {}
    paths: dict[str, object] = {}
    # The service's task definition (the release step and the scheduled jobs run others, with no port).
    (service,) = synthesized.of_type("AWS::ECS::Service").values()
    service_task = service["Properties"]["TaskDefinition"]["Ref"]
    for logical_id, resource in resources.items():
        properties = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::ECS::TaskDefinition" and logical_id == service_task:
            (container,) = properties["ContainerDefinitions"]
            ports[f"{logical_id} port mapping"] = [m["ContainerPort"] for m in container["PortMappings"]]
        elif kind == "AWS::ECS::Service":
            ports[f"{logical_id} load balancers"] = sorted({lb["ContainerPort"] for lb in properties["LoadBalancers"]})
        elif kind == "AWS::ElasticLoadBalancingV2::TargetGroup":
            ports[f"{logical_id} port"] = properties["Port"]
            ports[f"{logical_id} health check port"] = int(properties["HealthCheckPort"])
            paths[f"{logical_id} health check path"] = properties["HealthCheckPath"]
        elif kind == "AWS::EC2::SecurityGroupIngress" and logical_id.startswith("ServiceSecurityGroupfrom"):
            ports[f"{logical_id} ingress"] = (properties["FromPort"], properties["ToPort"])
        elif (
            kind == "AWS::EC2::SecurityGroupEgress"
            and "toTapStack" in logical_id
            and "ServiceSecurityGroup" in logical_id
        ):
            ports[f"{logical_id} egress"] = (properties["FromPort"], properties["ToPort"])
        elif kind == "AWS::ElasticLoadBalancingV2::ListenerRule":
            (condition,) = properties["Conditions"]
            paths[f"{logical_id} rule"] = condition["PathPatternConfig"]["Values"][-1]
    return ports, paths


def check_port_and_path(synthesized: Synthesized, port: int, path: str) -> None:
    ports, paths = _port_and_path(synthesized)
    # Two target groups (blue/green): port and health check port each, mapping, binding, ingress, egress.
    assert len(ports) == 8, ports
    expected_ports = {
        where: ([port] if "mapping" in where or "balancers" in where else (port, port) if "gress" in where else port)
        for where in ports
    }
    assert ports == expected_ports
    assert len(paths) == 3, paths
    assert paths == {where: f"{path}*" if where.endswith("rule") else path for where in paths}


def test_the_default_port_and_health_path_reach_every_resource(prod: Synthesized) -> None:
    """ELB target health: the container's port mapping, the service's load balancer binding, both blue/green
    target groups (traffic and health check port), the tasks' ingress and the load balancer's egress all
    carry the one configured port; the health checks and the listener rule the one configured path.
    https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html"""
    check_port_and_path(prod, 8000, "/health")
    (service,) = prod.of_type("AWS::ECS::Service").values()
    task = prod.resources[service["Properties"]["TaskDefinition"]["Ref"]]
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert container["HealthCheck"]["Command"] == [
        "CMD",
        "python",
        "-c",
        "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=3)",
    ]


def test_a_non_default_port_and_health_path_reach_every_resource(abroad: Synthesized) -> None:
    """The same with service.container_port=3000 and service.health_check_path=/healthz (the abroad app):
    no resource keeps the default 8000 or /health."""
    check_port_and_path(
        abroad, int(ABROAD_CONTEXT["service.container_port"]), ABROAD_CONTEXT["service.health_check_path"]
    )
