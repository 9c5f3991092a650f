"""ops/cost.py: the arithmetic on a hand-made template, and that no resource type escapes pricing."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ops.cost import (
    PRICERS,
    Estimate,
    NoPrices,
    Prices,
    StackCost,
    classify,
    estimate,
    estimate_app,
    main,
    merge,
    render,
    render_app,
    stacks_of,
)
from tests.synthesis import PROFILES, Synthesized

REPO = Path(__file__).resolve().parents[2]
PRICES = Prices.load()


def _template(min_acu: float = 0.5) -> dict[str, Any]:
    """A small prod-like stack: 2 NAT gateways, Aurora writer + reader, 2..10 ARM tasks, ALB, WAF..."""
    resources: dict[str, Any] = {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        "Eip1": {"Type": "AWS::EC2::EIP"},
        "Eip2": {"Type": "AWS::EC2::EIP"},
        "Nat1": {
            "Type": "AWS::EC2::NatGateway",
            "Properties": {"AllocationId": {"Fn::GetAtt": ["Eip1", "AllocationId"]}},
        },
        "Nat2": {
            "Type": "AWS::EC2::NatGateway",
            "Properties": {"AllocationId": {"Fn::GetAtt": ["Eip2", "AllocationId"]}},
        },
        "Endpoint": {
            "Type": "AWS::EC2::VPCEndpoint",
            "Properties": {"VpcEndpointType": "Interface", "SubnetIds": ["a", "b", "c"]},
        },
        "S3Endpoint": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": "Gateway"}},
        "Cluster": {
            "Type": "AWS::RDS::DBCluster",
            "Properties": {
                "Engine": "aurora-postgresql",
                "ServerlessV2ScalingConfiguration": {"MinCapacity": min_acu, "MaxCapacity": 8},
            },
        },
        "Writer": {
            "Type": "AWS::RDS::DBInstance",
            "Properties": {"DBInstanceClass": "db.serverless", "DBClusterIdentifier": {"Ref": "Cluster"}},
        },
        "Reader": {
            "Type": "AWS::RDS::DBInstance",
            "Properties": {"DBInstanceClass": "db.serverless", "DBClusterIdentifier": {"Ref": "Cluster"}},
        },
        "TaskDef": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {"Cpu": "512", "Memory": "1024", "RuntimePlatform": {"CpuArchitecture": "ARM64"}},
        },
        "Service": {
            "Type": "AWS::ECS::Service",
            "Properties": {"LaunchType": "FARGATE", "DesiredCount": 2, "TaskDefinition": {"Ref": "TaskDef"}},
        },
        "Scaling": {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Properties": {
                "MinCapacity": 2,
                "MaxCapacity": 10,
                "ServiceNamespace": "ecs",
                "ResourceId": {"Fn::Join": ["", ["service/", {"Fn::GetAtt": ["Service", "Name"]}]]},
            },
        },
        "Alb": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {"Scheme": "internal", "Type": "application"},
        },
        "Acl": {
            "Type": "AWS::WAFv2::WebACL",
            "Properties": {"Scope": "REGIONAL", "Rules": [{"Name": "a"}, {"Name": "b"}, {"Name": "c"}]},
        },
        "Key": {"Type": "AWS::KMS::Key"},
        "Secret": {"Type": "AWS::SecretsManager::Secret"},
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Period": 60}},
        "FastAlarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Period": 10}},
        "MathAlarm": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "Metrics": [
                    {"Id": "e", "Expression": "m1/m2"},
                    {"Id": "m1", "MetricStat": {"Period": 60}},
                    {"Id": "m2", "MetricStat": {"Period": 60}},
                ]
            },
        },
        "Composite": {"Type": "AWS::CloudWatch::CompositeAlarm"},
        "Dashboard": {"Type": "AWS::CloudWatch::Dashboard"},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 30}},
    }
    return {"Resources": resources}


def _kinds(result: Estimate) -> dict[str, tuple[float, float, float, float]]:
    return {line.kind: (line.count, line.idle, line.peak, line.per_million) for line in result.by_kind()}


def test_idle_max_and_per_load_costs_follow_the_properties_of_a_small_template() -> None:
    """Counts come from properties: EIPs, AZs of an endpoint, ACU range x instances, task range x size."""
    kinds = _kinds(estimate(_template(), PRICES))
    expected = {
        # kind: (count, idle USD/month, max scale USD/month, USD per 1M requests)
        "NAT gateways": (2, 2 * 0.045 * 730, 2 * 0.045 * 730, 0),
        "public IPv4 addresses": (2, 2 * 0.005 * 730, 2 * 0.005 * 730, 0),
        "VPC interface endpoints (per AZ)": (3, 3 * 0.01 * 730, 3 * 0.01 * 730, 0),
        "VPC gateway endpoints": (1, 0, 0, 0),
        "Aurora Serverless v2 instances": (2, 2 * 0.5 * 0.12 * 730, 2 * 8 * 0.12 * 730, 0),
        "Aurora storage": (1, 0.10, 0.10, 5 * 0.20),
        "Fargate tasks (ARM64, 0.5 vCPU, 1 GB)": (
            2,
            2 * (0.5 * 0.03238 + 1 * 0.00356) * 730,
            10 * (0.5 * 0.03238 + 1 * 0.00356) * 730,
            0,
        ),
        "Application load balancers": (1, 0.0225 * 730, 0.0225 * 730, 20 * 0.008),
        "WAF web ACLs": (1, 5, 5, 0.60),
        "WAF rules and rule groups": (3, 3 * 1, 3 * 1, 0),
        "KMS keys": (1, 1, 1, 0),
        "Secrets Manager secrets": (1, 0.40, 0.40, 0),
        "CloudWatch alarms (standard)": (2, 0.10 + 2 * 0.10, 0.30, 0),
        "CloudWatch alarms (high resolution)": (1, 0.30, 0.30, 0),
        "CloudWatch composite alarms": (1, 0.50, 0.50, 0),
        "CloudWatch dashboards": (1, 3, 3, 0),
        "CloudWatch log groups": (1, 0.2 * 0.50 + 0.2 * 1 * 0.03, 0.106, 0.5 * 0.50),
    }
    assert kinds.keys() == expected.keys()
    for kind, values in expected.items():
        assert kinds[kind] == pytest.approx(values, abs=1e-6), kind


def test_totals_are_the_sum_of_the_lines_and_name_the_target_verdict() -> None:
    result = estimate(_template(), PRICES)
    assert result.idle == pytest.approx(241.466, abs=1e-3)
    report = render(result, PRICES, "prod")
    assert "**241.47**" in report
    assert "Idle target for prod: <= 260.00 USD/month: meets it." in report
    assert "misses it by" in render(result, PRICES, "dev")


def test_a_paused_aurora_cluster_costs_only_its_storage_when_idle() -> None:
    """Min 0 ACU (Aurora auto-pause): no compute at idle, still the max ACU at full scale."""
    result = estimate(_template(min_acu=0), PRICES)
    kinds = _kinds(result)
    assert kinds["Aurora Serverless v2 instances"][1:3] == pytest.approx((0, 2 * 8 * 0.12 * 730))
    assert kinds["Aurora storage"][1] == pytest.approx(0.10)
    assert any("paused when idle" in note for note in result.notes)


def test_enhanced_monitoring_is_priced_as_log_ingestion_per_instance() -> None:
    """60 s samples of 10 KB for 730 h: 0.438 GB ingested at 0.50 USD/GB and kept 30 days at 0.03 USD/GB."""
    template = _template()
    for instance in ("Writer", "Reader"):
        template["Resources"][instance]["Properties"]["MonitoringInterval"] = 60
    count, idle, peak, _ = _kinds(estimate(template, PRICES))["RDS enhanced monitoring"]
    gb = 730 * 60 * 10 / 1e6
    assert (count, idle, peak) == pytest.approx((2, 2 * gb * 0.53, 2 * gb * 0.53))


def test_the_stacks_of_one_deployment_are_priced_together() -> None:
    """prod's backup copy stack (a KMS key, a vault) adds its lines to the main stack's report."""
    copy = {"Resources": {"Key": {"Type": "AWS::KMS::Key"}, "Vault": {"Type": "AWS::Backup::BackupVault"}}}
    main_stack = estimate(_template(), PRICES)
    merged = merge([main_stack, estimate(copy, PRICES)])
    assert merged.idle == pytest.approx(main_stack.idle + 1.0)
    assert "AWS::Backup::BackupVault" in merged.uncounted


def test_fargate_spot_tasks_are_priced_at_spot_rates_after_the_on_demand_base() -> None:
    """A capacity provider strategy places its base first, then shares the rest by weight (AWS rule:
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html); each
    share is priced at its provider's rate ([fargate] arm64_spot_* for FARGATE_SPOT)."""
    template = _template()
    service = template["Resources"]["Service"]["Properties"]
    del service["LaunchType"]
    service["CapacityProviderStrategy"] = [
        {"CapacityProvider": "FARGATE", "Base": 1, "Weight": 1},
        {"CapacityProvider": "FARGATE_SPOT", "Weight": 3},
    ]
    kinds = _kinds(estimate(template, PRICES))
    on_demand = (0.5 * 0.03238 + 1 * 0.00356) * 730
    spot = (0.5 * 0.009714 + 1 * 0.001068) * 730
    # Idle 2 tasks: the base on demand, then 1 shared 1:3. Max 10: 1 + 9 shared 1:3.
    assert kinds["Fargate tasks (ARM64, 0.5 vCPU, 1 GB)"] == pytest.approx(
        (1.25, 1.25 * on_demand, 3.25 * on_demand, 0)
    )
    assert kinds["Fargate Spot tasks (ARM64, 0.5 vCPU, 1 GB)"] == pytest.approx((0.75, 0.75 * spot, 6.75 * spot, 0))
    # All on Spot (dev's strategy): no on-demand line at all.
    service["CapacityProviderStrategy"] = [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]
    kinds = _kinds(estimate(template, PRICES))
    assert "Fargate tasks (ARM64, 0.5 vCPU, 1 GB)" not in kinds
    assert kinds["Fargate Spot tasks (ARM64, 0.5 vCPU, 1 GB)"] == pytest.approx((2, 2 * spot, 10 * spot, 0))


def test_container_insights_is_priced_per_metric_it_publishes_for_the_cluster_its_services_and_families() -> None:
    """Container Insights (enabled) is billed as custom metrics (0.30 USD a metric-month): 12 for the cluster,
    15 for each of its services, 10 for each task family (CloudWatch's Container-Insights-metrics-ECS page);
    a disabled cluster publishes none."""
    template = _template()
    resources = template["Resources"]
    resources["EcsCluster"] = {
        "Type": "AWS::ECS::Cluster",
        "Properties": {"ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]},
    }
    resources["Service"]["Properties"]["Cluster"] = {"Ref": "EcsCluster"}
    resources["JobTaskDef"] = dict(resources["TaskDef"])
    kinds = _kinds(estimate(template, PRICES))
    metrics = 12 + 15 * 1 + 10 * 2
    assert kinds["CloudWatch Container Insights metrics"] == pytest.approx((metrics, 0.30 * metrics, 0.30 * metrics, 0))
    resources["EcsCluster"]["Properties"]["ClusterSettings"][0]["Value"] = "disabled"
    assert "CloudWatch Container Insights metrics" not in _kinds(estimate(template, PRICES))


def test_x86_tasks_and_a_nat_instance_are_priced_from_their_properties() -> None:
    template = _template()
    del template["Resources"]["TaskDef"]["Properties"]["RuntimePlatform"]
    del template["Resources"]["Scaling"]
    template["Resources"]["NatInstance"] = {
        "Type": "AWS::EC2::Instance",
        "Properties": {"InstanceType": "t4g.nano", "NetworkInterfaces": [{"AssociatePublicIpAddress": True}]},
    }
    kinds = _kinds(estimate(template, PRICES))
    per_task = (0.5 * 0.04048 + 1 * 0.004445) * 730
    assert kinds["Fargate tasks (x86_64, 0.5 vCPU, 1 GB)"] == pytest.approx((2, 2 * per_task, 2 * per_task, 0))
    assert kinds["EC2 instances (t4g.nano)"][1] == pytest.approx(0.0042 * 730)
    assert kinds["EBS volumes (gp3)"][1] == pytest.approx(8 * 0.08)
    assert kinds["public IPv4 addresses"][0] == 3  # 2 EIPs of the NAT gateways + the instance's


def test_an_unknown_resource_type_is_reported_and_fails_the_command(tmp_path: Path) -> None:
    template = {"Resources": {"Thing": {"Type": "AWS::NewService::Thing"}}}
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    assert estimate(template, PRICES).unknown == ["AWS::NewService::Thing"]
    assert main(["--template", str(path), "--environment", "dev"]) == 1


def test_the_price_file_names_region_currency_source_and_date_and_a_source_per_service() -> None:
    meta = PRICES.data["meta"]
    assert (meta["region"], meta["currency"]) == ("us-east-1", "USD")
    assert meta["source"] and meta["date"]
    services = [
        k for k, v in PRICES.data.items() if isinstance(v, dict) and k not in ("meta", "free", "uncounted", "regions")
    ]
    priced = [s for s in services if s not in ("targets", "load", "idle")]
    assert all(PRICES.data[s].get("source", "").startswith("https://aws.amazon.com/") for s in priced), priced


def test_no_type_is_both_priced_and_listed_and_every_listing_has_a_reason() -> None:
    listed = set(PRICES.free) | set(PRICES.uncounted)
    assert not listed & set(PRICERS)
    assert not set(PRICES.free) & set(PRICES.uncounted)
    assert all(reason.strip() for reason in [*PRICES.free.values(), *PRICES.uncounted.values()])


@pytest.mark.parametrize("environment", PROFILES)
def test_every_resource_type_of_each_profile_is_priced_free_or_uncounted_with_a_reason(
    synth: Callable[[str], Synthesized], environment: str
) -> None:
    """A new billable resource type must get a price (or a reason it has none) before it lands."""
    types = sorted({resource["Type"] for resource in synth(environment).resources.values()})
    unknown = [t for t in types if classify(t, PRICES)[0] == "unknown"]
    assert unknown == [], (
        f"{environment}: resource types with no price: {unknown}. Add a pricer to ops/cost.py PRICERS, or "
        "list the type under [free] or [uncounted] in ops/prices.toml with the reason."
    )


def test_make_cost_prints_the_report_of_a_synthesized_profile(prod: Synthesized) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ops.cost", "--environment", "prod", "--template", str(prod.template_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "| **total** |" in result.stdout
    assert "Idle target for prod" in result.stdout


@pytest.fixture(scope="module")
def abroad_costs(abroad: Synthesized) -> list[StackCost]:
    """Every stack of prod in eu-central-1 (the session's synth), priced at its own region's prices."""
    return estimate_app(stacks_of(abroad.template_path.parent), PRICES)


def _stack(costs: list[StackCost], name: str) -> StackCost:
    (cost,) = [cost for cost in costs if cost.name == name]
    return cost


def test_a_regional_stack_outside_us_east_1_is_priced_at_its_regions_prices(
    abroad: Synthesized, abroad_costs: list[StackCost]
) -> None:
    """NAT gateways and Aurora ACUs cost more in Frankfurt than in N. Virginia: each line takes
    eu-central-1's list price, not us-east-1's."""
    regional = _stack(abroad_costs, "TapStack-prod")
    frankfurt = PRICES.for_region("eu-central-1")
    kinds = _kinds(regional.estimate)
    assert regional.region == "eu-central-1"
    assert frankfurt("ec2", "nat_gateway_hour") > PRICES("ec2", "nat_gateway_hour")
    assert kinds["NAT gateways"][1] == pytest.approx(3 * frankfurt("ec2", "nat_gateway_hour") * 730)
    acu_hour = frankfurt("aurora", "serverless_v2_acu_hour")
    assert kinds["Aurora Serverless v2 instances"][1] == pytest.approx(2 * 0.5 * acu_hour * 730)
    assert regional.estimate.idle > estimate(abroad.template.to_json(), PRICES).idle


def test_the_us_east_1_companions_are_priced_at_us_east_1_prices_and_summed_with_subtotals(
    abroad_costs: list[StackCost],
) -> None:
    """CloudFront's web ACL, its log group and alarms live in us-east-1 stacks; they cost too."""
    regions = {cost.name: cost.region for cost in abroad_costs}
    assert regions == {
        "TapStack-prod": "eu-central-1",
        "TapStack-prod-edge": "us-east-1",
        "TapStack-prod-edge-alarms": "us-east-1",
        "TapStack-prod-backup-eu-west-1": "eu-west-1",
    }
    edge = _stack(abroad_costs, "TapStack-prod-edge")
    assert edge.prices.region == "us-east-1"
    assert "WAF web ACLs" in _kinds(edge.estimate)
    report = render_app(abroad_costs, "prod")
    total = sum(cost.estimate.idle for cost in abroad_costs)
    assert f"| **total** | | **{total:.2f}** |" in report
    for cost in abroad_costs:
        assert f"| {cost.name} | {cost.region} | {cost.estimate.idle:.2f} |" in report


def test_every_resource_type_of_the_companion_stacks_is_priced_free_or_uncounted(
    abroad_costs: list[StackCost],
) -> None:
    """A new billable type in a us-east-1 companion must get a price too."""
    assert {cost.name: cost.estimate.unknown for cost in abroad_costs} == {cost.name: [] for cost in abroad_costs}


def test_a_region_without_prices_fails_naming_it_and_the_regions_that_have_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(NoPrices, match=r"no prices for region ap-northeast-1 \(it has us-east-1, .*eu-central-1"):
        PRICES.for_region("ap-northeast-1")
    path = tmp_path / "template.json"
    path.write_text(json.dumps(_template()))
    assert main(["--template", str(path), "--region", "ap-northeast-1", "--environment", "prod"]) == 2
    assert "[regions.ap-northeast-1]" in capsys.readouterr().err


def test_a_region_table_missing_a_regional_price_fails_rather_than_use_us_east_1s() -> None:
    data = json.loads(json.dumps(PRICES.data))
    del data["regions"]["eu-central-1"]["fargate"]["arm64_vcpu_hour"]
    with pytest.raises(NoPrices, match=r"\[regions.eu-central-1.fargate\] lacks arm64_vcpu_hour"):
        Prices(data).for_region("eu-central-1")


@pytest.mark.parametrize("region", [r for r in PRICES.regions if r != PRICES.region])
def test_every_priced_region_gives_every_regional_price_and_no_same_everywhere_one(region: str) -> None:
    """Each section is either priced per region or the same everywhere (WAF, KMS, Secrets Manager,
    CloudFront, Route 53 list one price for all regions); a region's table names its date and source."""
    meta = PRICES.data["meta"]
    sections = {k for k, v in PRICES.data.items() if isinstance(v, dict) and "source" in v and k != "meta"}
    assert sections == set(meta["regional"]) | set(meta["same_in_every_region"])
    table = PRICES.data["regions"][region]
    assert table["date"] and table["source"] and table["name"]
    assert not set(table) & set(meta["same_in_every_region"])
    regional = PRICES.for_region(region)  # raises NoPrices on a missing key
    assert regional.region == region
    assert all(regional("waf", key) == PRICES("waf", key) for key in ("web_acl_month", "rule_month"))


def test_make_cost_refuses_an_assembly_of_another_region(
    abroad: Synthesized, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stale cdk.out (synthesized for another region) is not priced as if it were the asked one."""
    cdk_out = str(abroad.template_path.parent)
    assert main(["--cdk-out", cdk_out, "--environment", "prod", "--region", "us-east-1"]) == 2
    assert "TapStack-prod (eu-central-1)" in capsys.readouterr().err
