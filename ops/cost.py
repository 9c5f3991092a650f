"""Monthly cost estimate of a synthesized TapStack template: idle, at maximum scale, and per load.

Every number is a resource's properties (NAT count, ACU range, task count and size, rules, alarms...)
times a price from `ops/prices.toml`. A resource type is either priced here (PRICERS), listed free or
listed uncounted (with its reason) in the price file; anything else is reported as unknown, and
`tests/ops/test_cost.py` fails on it, so a new billable type cannot slip in unpriced.

Every stack of the synthesized app is priced at its own region's prices (outside us-east-1 the app has
us-east-1 companions for CloudFront's web ACL and alarms), with a subtotal per stack and their sum.

    python -m ops.cost --environment prod            # every stack in cdk.out/manifest.json
    python -m ops.cost --environment prod --region eu-central-1   # the same, checking the region
    python -m ops.cost --template path/to/template.json --region eu-central-1 --environment prod
"""

from __future__ import annotations

import argparse
import copy
import fnmatch
import json
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tapstack_cli import names

PRICES = Path(__file__).with_name("prices.toml")
CDK_OUT = Path(__file__).resolve().parents[1] / "cdk.out"

Resource = dict[str, Any]

# What the report never includes, whatever the template holds.
NOT_COUNTED_ALWAYS = (
    "free tiers (CloudFront 1 TB and 10M requests, 10 alarms, 3 dashboards, 1M Lambda requests, "
    "20k KMS requests, 1M SNS publishes a month): the figures are upper bounds",
    "data transfer out to the internet and between AZs, NAT and endpoint data processing (usage: see the unit prices)",
    "CloudWatch metrics beyond metric filters and Container Insights (custom application metrics), and Container "
    "Insights' performance log events",
    "container images in the CDK bootstrap ECR repository and assets in its S3 bucket",
    "Aurora backup storage beyond the cluster's size, manual snapshots; tax; AWS Support plan",
)


@dataclass(frozen=True)
class Line:
    """The cost of one resource (or one facet of it, like its public IPv4 address)."""

    kind: str
    count: float
    idle: float  # USD per month with no traffic
    peak: float  # USD per month with every scalable resource at its maximum all month
    per_million: float  # USD for the load of 1M requests (ops/prices.toml [load])
    unit_price: str


@dataclass
class Estimate:
    """The cost lines of one template, with what was left out."""

    lines: list[Line] = field(default_factory=list)
    free: dict[str, int] = field(default_factory=dict)  # type -> resource count
    uncounted: dict[str, str] = field(default_factory=dict)  # type -> reason
    unknown: list[str] = field(default_factory=list)  # types neither priced, free nor uncounted
    notes: list[str] = field(default_factory=list)

    @property
    def idle(self) -> float:
        return sum(line.idle for line in self.lines)

    @property
    def peak(self) -> float:
        return sum(line.peak for line in self.lines)

    @property
    def per_million(self) -> float:
        return sum(line.per_million for line in self.lines)

    def by_kind(self) -> list[Line]:
        """Lines summed per kind, most expensive at idle first (ties by name: deterministic)."""
        kinds: dict[str, Line] = {}
        for line in self.lines:
            seen = kinds.get(line.kind)
            kinds[line.kind] = (
                line
                if seen is None
                else Line(
                    line.kind,
                    seen.count + line.count,
                    seen.idle + line.idle,
                    seen.peak + line.peak,
                    seen.per_million + line.per_million,
                    seen.unit_price,
                )
            )
        return sorted(kinds.values(), key=lambda line: (-round(line.idle, 6), -line.peak, line.kind))


class NoPrices(ValueError):
    """A stack is in a region that ops/prices.toml has no (complete) prices for."""


class Prices:
    """ops/prices.toml, with typed accessors: its base region's prices, or one of [regions]."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.hours: float = float(data["meta"]["hours_per_month"])

    @classmethod
    def load(cls, path: Path = PRICES) -> Prices:
        with path.open("rb") as f:
            return cls(tomllib.load(f))

    @property
    def region(self) -> str:
        return str(self.data["meta"]["region"])

    @property
    def regions(self) -> list[str]:
        """Every region with prices: the base one and each [regions.<name>]."""
        return [self.data["meta"]["region"], *self.data.get("regions", {})]

    def for_region(self, region: str) -> Prices:
        """The prices of `region`: its [regions.<name>] table in place of every regional section.

        Raises NoPrices when the region has no table, or when its table lacks a key of a regional
        section: a us-east-1 price must never stand in for another region's."""
        base_region = self.data["meta"]["region"]
        tables: dict[str, Any] = self.data.get("regions", {})
        if region == base_region:
            return self
        if region not in tables:
            raise NoPrices(
                f"ops/prices.toml has no prices for region {region} (it has {', '.join(self.regions)}): "
                f"add a [regions.{region}] table from the AWS pricing pages with that region selected"
            )
        table = tables[region]
        data = copy.deepcopy(self.data)
        data["meta"] |= {"region": region, "date": table["date"], "source": table["source"]}
        same_as = table.get("same_as")
        if same_as is not None:
            # Same list prices as another region: that region's tables, under this region's name.
            other = self.for_region(same_as)
            data.update({section: copy.deepcopy(other.data[section]) for section in self.data["meta"]["regional"]})
            return Prices(data)
        for section in self.data["meta"]["regional"]:
            given: dict[str, Any] = table.get(section, {})
            base: dict[str, Any] = self.data[section]
            prices = [key for key, value in base.items() if key != "source" and not isinstance(value, dict)]
            missing = [key for key in prices if key not in given]
            if missing:
                raise NoPrices(
                    f"ops/prices.toml [regions.{region}.{section}] lacks {', '.join(missing)}: "
                    f"every key of [{section}] needs {region}'s own price"
                )
            # A lookup table (instance types, cache sizes) holds only what the region's page was checked for.
            tables_of = {key: dict(given.get(key, {})) for key, value in base.items() if isinstance(value, dict)}
            data[section] = {"source": base.get("source", "")} | copy.deepcopy(given) | tables_of
        return Prices(data)

    def __call__(self, section: str, key: str) -> float:
        return float(self.data[section][key])

    def table(self, section: str, key: str) -> dict[str, float]:
        return {k: float(v) for k, v in self.data[section][key].items()}

    def load_setting(self, key: str) -> float:
        return float(self.data["load"][key])

    def idle_setting(self, key: str) -> float:
        return float(self.data["idle"][key])

    @property
    def free(self) -> dict[str, str]:
        return dict(self.data["free"])

    @property
    def uncounted(self) -> dict[str, str]:
        return dict(self.data["uncounted"])

    @property
    def targets(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.data["targets"].items()}

    def free_reason(self, resource_type: str) -> str | None:
        for pattern, reason in self.free.items():
            if fnmatch.fnmatchcase(resource_type, pattern):
                return reason
        return None


@dataclass
class Context:
    """What a pricer sees: the whole template (to follow Refs), the prices, and a place for notes."""

    resources: dict[str, Resource]
    prices: Prices
    notes: list[str]

    def target(self, value: Any) -> tuple[str, Resource] | None:
        """The resource a {"Ref": id} or {"Fn::GetAtt": [id, attr]} points at."""
        if isinstance(value, dict):
            if "Ref" in value and value["Ref"] in self.resources:
                return value["Ref"], self.resources[value["Ref"]]
            getatt = value.get("Fn::GetAtt")
            if isinstance(getatt, list) and getatt and getatt[0] in self.resources:
                return getatt[0], self.resources[getatt[0]]
        return None

    def monthly(self, hourly: float) -> float:
        return hourly * self.prices.hours

    @property
    def requests(self) -> float:
        return self.prices.load_setting("requests")


def props(resource: Resource) -> dict[str, Any]:
    properties: dict[str, Any] = resource.get("Properties", {})
    return properties


def number(value: Any) -> float | None:
    """A literal number (CloudFormation often writes numbers as strings); None for a token."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def references(value: Any) -> Iterator[str]:
    """Every logical id that `value` points at with Ref or Fn::GetAtt (also inside Fn::Sub strings)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                if isinstance(inner, list) and inner and isinstance(inner[0], str):
                    yield inner[0]
                elif isinstance(inner, str):
                    yield inner.split(".", 1)[0]
            else:
                yield from references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from references(inner)


def _usd(value: float) -> str:
    return f"{value:g} USD"


# --- pricers: one per billable resource type -------------------------------------------------------

Pricer = Callable[[Context, str, Resource], list[Line]]


def _nat_gateway(ctx: Context, _id: str, resource: Resource) -> list[Line]:
    hourly = ctx.prices("ec2", "nat_gateway_hour")
    per_gb = ctx.prices("ec2", "nat_gateway_gb")
    # A private NAT gateway has no Elastic IP; a public one's EIP is its own AWS::EC2::EIP line.
    cost = ctx.monthly(hourly)
    return [Line("NAT gateways", 1, cost, cost, 0.0, f"{_usd(hourly)}/h + {_usd(per_gb)}/GB processed")]


def _public_ipv4(ctx: Context, count: float, kind: str = "public IPv4 addresses") -> Line:
    hourly = ctx.prices("ec2", "public_ipv4_hour")
    cost = ctx.monthly(hourly) * count
    return Line(kind, count, cost, cost, 0.0, f"{_usd(hourly)}/h each")


def _eip(ctx: Context, _id: str, _resource: Resource) -> list[Line]:
    return [_public_ipv4(ctx, 1)]


def _ec2_instance(ctx: Context, logical_id: str, resource: Resource) -> list[Line]:
    p = props(resource)
    instance_type = p.get("InstanceType", "m1.small")
    table = ctx.prices.table("ec2", "instance_hour")
    # A NAT instance forwards traffic that is not its own, so it turns off the source/dest check.
    nat = ", NAT instance" if p.get("SourceDestCheck") in (False, "false") else ""
    lines: list[Line] = []
    if isinstance(instance_type, str) and instance_type in table:
        cost = ctx.monthly(table[instance_type])
        lines.append(
            Line(f"EC2 instances ({instance_type}{nat})", 1, cost, cost, 0.0, f"{_usd(table[instance_type])}/h")
        )
    else:
        ctx.notes.append(f"{logical_id}: EC2 instance type {instance_type!r} has no price in prices.toml")
    size = ctx.prices.idle_setting("nat_instance_ebs_gb")
    for mapping in p.get("BlockDeviceMappings", []):
        size = number(mapping.get("Ebs", {}).get("VolumeSize")) or size
    gb_month = ctx.prices("ec2", "ebs_gp3_gb_month")
    unit = f"{_usd(gb_month)}/GB-month, {size:g} GB"
    lines.append(Line("EBS volumes (gp3)", 1, size * gb_month, size * gb_month, 0.0, unit))
    if any(ni.get("AssociatePublicIpAddress") in (True, "true") for ni in p.get("NetworkInterfaces", [])):
        lines.append(_public_ipv4(ctx, 1))
    return lines


def _vpc_endpoint(ctx: Context, logical_id: str, resource: Resource) -> list[Line]:
    p = props(resource)
    if p.get("VpcEndpointType", "Gateway") == "Gateway":
        return [Line("VPC gateway endpoints", 1, 0.0, 0.0, 0.0, "free")]
    subnets = p.get("SubnetIds")
    azs = float(len(subnets)) if isinstance(subnets, list) else 1.0
    if not isinstance(subnets, list):
        ctx.notes.append(f"{logical_id}: interface endpoint subnets are not a literal list; counted as 1 AZ")
    hourly = ctx.prices("ec2", "interface_endpoint_az_hour")
    cost = ctx.monthly(hourly) * azs
    return [
        Line(
            "VPC interface endpoints (per AZ)",
            azs,
            cost,
            cost,
            0.0,
            f"{_usd(hourly)}/h per AZ + {_usd(ctx.prices('ec2', 'interface_endpoint_gb'))}/GB",
        )
    ]


def _load_balancer(ctx: Context, _id: str, resource: Resource) -> list[Line]:
    p = props(resource)
    kind = p.get("Type", "application")
    gb = ctx.requests * ctx.prices.load_setting("response_kb") / 1e6
    lcu_hours = gb / ctx.prices.load_setting("lcu_gb_per_hour")
    if kind == "network":
        hourly, lcu, label = ctx.prices("elb", "nlb_hour"), ctx.prices("elb", "nlb_lcu_hour"), "Network"
    elif kind == "gateway":
        hourly, lcu, label = ctx.prices("elb", "gwlb_hour"), 0.0, "Gateway"
    else:
        hourly, lcu, label = ctx.prices("elb", "alb_hour"), ctx.prices("elb", "alb_lcu_hour"), "Application"
    cost = ctx.monthly(hourly)
    lines = [Line(f"{label} load balancers", 1, cost, cost, lcu_hours * lcu, f"{_usd(hourly)}/h + {_usd(lcu)}/LCU-h")]
    if p.get("Scheme") == "internet-facing":
        subnets = p.get("Subnets") or p.get("SubnetMappings") or []
        lines.append(_public_ipv4(ctx, float(len(subnets)) if isinstance(subnets, list) else 1.0))
    return lines


def _scaling_range(ctx: Context, service_id: str) -> tuple[float, float] | None:
    """Min and max task count of the auto scaling target that scales this ECS service."""
    for target in ctx.resources.values():
        if target["Type"] != "AWS::ApplicationAutoScaling::ScalableTarget":
            continue
        p = props(target)
        if service_id in set(references(p.get("ResourceId"))):
            low, high = number(p.get("MinCapacity")), number(p.get("MaxCapacity"))
            if low is not None and high is not None:
                return low, high
    return None


def _spot_tasks(strategy: list[dict[str, Any]], tasks: float) -> float:
    """How many of `tasks` a capacity provider strategy places on FARGATE_SPOT: the one provider with a base
    gets its base first, the rest is shared by weight (ECS's placement; fractions for an estimate).
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html"""
    items = [
        (str(item.get("CapacityProvider")), number(item.get("Base")) or 0.0, number(item.get("Weight")) or 0.0)
        for item in strategy
    ]
    spot, rest = 0.0, tasks
    for provider, base, _weight in items:
        placed = min(base, rest)
        rest -= placed
        spot += placed if provider == "FARGATE_SPOT" else 0.0
    total = sum(weight for _provider, _base, weight in items)
    if total > 0:
        spot += rest * sum(weight for provider, _base, weight in items if provider == "FARGATE_SPOT") / total
    return spot


def _ecs_service(ctx: Context, logical_id: str, resource: Resource) -> list[Line]:
    p = props(resource)
    launch = p.get("LaunchType")
    strategy: list[dict[str, Any]] = p.get("CapacityProviderStrategy") or []
    providers = {s.get("CapacityProvider") for s in strategy}
    if launch != "FARGATE" and not providers & {"FARGATE", "FARGATE_SPOT"}:
        ctx.notes.append(f"{logical_id}: ECS service on EC2 capacity; its instances are priced, if at all")
        return []
    if providers - {"FARGATE", "FARGATE_SPOT"}:
        ctx.notes.append(f"{logical_id}: tasks on EC2 capacity providers priced as Fargate on demand")
    found = ctx.target(p.get("TaskDefinition"))
    if found is None:
        ctx.notes.append(f"{logical_id}: task definition not in the template; not priced")
        return []
    task = props(found[1])
    vcpu, memory = number(task.get("Cpu")), number(task.get("Memory"))
    if vcpu is None or memory is None:
        ctx.notes.append(f"{logical_id}: task size is not a literal; not priced")
        return []
    vcpu, gb = vcpu / 1024, memory / 1024
    arch = task.get("RuntimePlatform", {}).get("CpuArchitecture", "X86_64")
    prefix = "arm64" if arch == "ARM64" else "x86"
    desired = number(p.get("DesiredCount"))
    low, high = _scaling_range(ctx, logical_id) or (desired or 1.0, desired or 1.0)
    size = f"{'ARM64' if prefix == 'arm64' else 'x86_64'}, {vcpu:g} vCPU, {gb:g} GB"
    lines = []
    spot_low, spot_high = _spot_tasks(strategy, low), _spot_tasks(strategy, high)
    for label, key, idle_tasks, peak_tasks in (
        (f"Fargate tasks ({size})", prefix, low - spot_low, high - spot_high),
        (f"Fargate Spot tasks ({size})", f"{prefix}_spot", spot_low, spot_high),
    ):
        if peak_tasks <= 0:
            continue
        per_task_hour = vcpu * ctx.prices("fargate", f"{key}_vcpu_hour") + gb * ctx.prices("fargate", f"{key}_gb_hour")
        lines.append(
            Line(
                label,
                idle_tasks,
                ctx.monthly(per_task_hour) * idle_tasks,
                ctx.monthly(per_task_hour) * peak_tasks,
                0.0,
                f"{per_task_hour:.5f} USD/task-h; {idle_tasks:g}..{peak_tasks:g} tasks",
            )
        )
    network = p.get("NetworkConfiguration", {}).get("AwsvpcConfiguration", {})
    if network.get("AssignPublicIp") == "ENABLED":
        ip = _public_ipv4(ctx, 1.0)
        lines.append(Line(ip.kind, low, ip.idle * low, ip.idle * high, 0.0, ip.unit_price))
    return lines


# What Container Insights (enabled, not enhanced) publishes on Fargate, billed as custom metrics and prorated
# by the hour a metric is sent in: 10 resource metrics (CPU, memory, network, storage, ephemeral storage,
# each used and reserved) for the cluster, each service and each task family; the service's 5 task counts;
# the cluster's ServiceCount and TaskCount. (EC2-, EBS- and restart-policy-only metrics left out.)
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-ECS.html
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_billing.html
CONTAINER_INSIGHTS_METRICS = {"cluster": 12, "service": 15, "task family": 10}


def _ecs_cluster(ctx: Context, logical_id: str, resource: Resource) -> list[Line]:
    modes = {s.get("Name"): s.get("Value") for s in props(resource).get("ClusterSettings", [])}
    mode = modes.get("containerInsights")
    if mode == "enhanced":
        ctx.notes.append(f"{logical_id}: Container Insights (enhanced) observations")
    if mode != "enabled":
        return []
    services = [
        r for r in ctx.resources.values() if r["Type"] == "AWS::ECS::Service" and logical_id in references(props(r))
    ]
    # Every task family of the template, as if its tasks ran in every hour: true of the services' and of an
    # hourly job's; a one-off family (a release) costs its hours only, so this is an upper bound.
    families = [r for r in ctx.resources.values() if r["Type"] == "AWS::ECS::TaskDefinition"]
    per = CONTAINER_INSIGHTS_METRICS
    count = float(per["cluster"] + per["service"] * len(services) + per["task family"] * len(families))
    price = ctx.prices("cloudwatch", "custom_metric_month")
    unit = (
        f"{_usd(price)}/metric-month; {per['cluster']} a cluster, {per['service']} a service, "
        f"{per['task family']} a task family ({len(services)} and {len(families)})"
    )
    return [Line("CloudWatch Container Insights metrics", count, price * count, price * count, 0.0, unit)]


def _aurora_cluster_of(ctx: Context, instance: Resource) -> Resource | None:
    found = ctx.target(props(instance).get("DBClusterIdentifier"))
    return found[1] if found else None


def _db_instance(ctx: Context, logical_id: str, resource: Resource) -> list[Line]:
    p = props(resource)
    instance_class = p.get("DBInstanceClass")
    cluster = _aurora_cluster_of(ctx, resource)
    iopt = cluster is not None and props(cluster).get("StorageType") == "aurora-iopt1"
    lines = _enhanced_monitoring(ctx, p)
    if instance_class == "db.serverless" and cluster is not None:
        scaling = props(cluster).get("ServerlessV2ScalingConfiguration", {})
        low, high = number(scaling.get("MinCapacity")), number(scaling.get("MaxCapacity"))
        if low is None or high is None:
            ctx.notes.append(f"{logical_id}: cluster ACU range is not a literal; not priced")
            return lines
        acu = ctx.prices("aurora", "serverless_v2_acu_hour_iopt" if iopt else "serverless_v2_acu_hour")
        if low == 0:
            ctx.notes.append(f"{logical_id}: min 0 ACU, paused when idle (storage only)")
        return [
            Line(
                "Aurora Serverless v2 instances",
                1,
                ctx.monthly(acu) * low,
                ctx.monthly(acu) * high,
                0.0,
                f"{_usd(acu)}/ACU-h; {low:g}..{high:g} ACU",
            ),
            *lines,
        ]
    table = ctx.prices.table("aurora", "instance_hour")
    if isinstance(instance_class, str) and instance_class in table and cluster is not None:
        cost = ctx.monthly(table[instance_class])
        return [
            Line(f"Aurora instances ({instance_class})", 1, cost, cost, 0.0, f"{_usd(table[instance_class])}/h"),
            *lines,
        ]
    ctx.notes.append(f"{logical_id}: DB instance class {instance_class!r} has no price in prices.toml")
    return lines


def _enhanced_monitoring(ctx: Context, p: Resource) -> list[Line]:
    """RDS Enhanced Monitoring: one OS-metrics document per interval, ingested and kept in CloudWatch Logs."""
    interval = number(p.get("MonitoringInterval"))
    if not interval:
        return []
    samples = ctx.prices.hours * 3600 / interval
    gb = samples * ctx.prices("rds", "enhanced_monitoring_kb_per_sample") / 1e6
    ingest, storage = ctx.prices("cloudwatch", "logs_ingest_gb"), ctx.prices("cloudwatch", "logs_storage_gb_month")
    months = ctx.prices("rds", "enhanced_monitoring_retention_days") / 30
    cost = gb * ingest + gb * months * storage
    unit = f"{gb:.2f} GB/month of OS metrics at {interval:g} s, {_usd(ingest)}/GB ingested"
    return [Line("RDS enhanced monitoring", 1, cost, cost, 0.0, unit)]


def _db_cluster(ctx: Context, _id: str, resource: Resource) -> list[Line]:
    iopt = props(resource).get("StorageType") == "aurora-iopt1"
    gb = ctx.prices.idle_setting("aurora_storage_gb")
    per_gb = ctx.prices("aurora", "storage_gb_month_iopt" if iopt else "storage_gb_month")
    io = 0.0 if iopt else ctx.prices("aurora", "io_per_million")
    per_million = ctx.requests * ctx.prices.load_setting("db_io_per_request") / 1e6 * io
    unit = f"{_usd(per_gb)}/GB-month" + ("" if iopt else f" + {_usd(io)}/1M I/O")
    return [Line("Aurora storage", gb, gb * per_gb, gb * per_gb, per_million, unit)]


def _web_acl(ctx: Context, _id: str, resource: Resource) -> list[Line]:
    rules = props(resource).get("Rules", [])
    acl, rule = ctx.prices("waf", "web_acl_month"), ctx.prices("waf", "rule_month")
    per_million = ctx.requests / 1e6 * ctx.prices("waf", "requests_per_million")
    lines = [
        Line(
            "WAF web ACLs",
            1,
            acl,
            acl,
            per_million,
            f"{_usd(acl)}/ACL-month + {_usd(ctx.prices('waf', 'requests_per_million'))}/1M requests",
        ),
        Line(
            "WAF rules and rule groups",
            len(rules),
            len(rules) * rule,
            len(rules) * rule,
            0.0,
            f"{_usd(rule)}/rule-month",
        ),
    ]
    if "AWSManagedRulesBotControlRuleSet" in json.dumps(rules):
        bot = ctx.prices("waf", "bot_control_month")
        lines.append(Line("WAF Bot Control subscriptions", 1, bot, bot, 0.0, f"{_usd(bot)}/month + requests"))
    return lines


def _fixed(kind: str, section: str, key: str, unit: str) -> Pricer:
    def pricer(ctx: Context, _id: str, _resource: Resource) -> list[Line]:
        monthly = ctx.prices(section, key)
        return [Line(kind, 1, monthly, monthly, 0.0, f"{_usd(monthly)}/{unit}")]

    return pricer


def _usage_only(kind: str, unit: Callable[[Prices], str], per_million: Callable[[Context], float]) -> Pricer:
    def pricer(ctx: Context, _id: str, _resource: Resource) -> list[Line]:
        return [Line(kind, 1, 0.0, 0.0, per_million(ctx), unit(ctx.prices))]

    return pricer


def _alarm(ctx: Context, _id: str, resource: Resource) -> list[Line]:
    p = props(resource)
    metrics = p.get("Metrics")
    if isinstance(metrics, list):  # metric math or anomaly detection: priced per metric evaluated
        stats = [m["MetricStat"] for m in metrics if "MetricStat" in m]
        count = max(len(stats), 1) * (3 if "ThresholdMetricId" in p else 1)
        periods = [number(s.get("Period")) for s in stats]
    else:
        count, periods = 1, [number(p.get("Period"))]
    high_res = any(period is not None and period < 60 for period in periods)
    price = ctx.prices("cloudwatch", "alarm_high_resolution_month" if high_res else "alarm_standard_month")
    kind = "CloudWatch alarms (high resolution)" if high_res else "CloudWatch alarms (standard)"
    return [Line(kind, 1, price * count, price * count, 0.0, f"{_usd(price)}/metric-month")]


def _metric_filter(ctx: Context, _id: str, resource: Resource) -> list[Line]:
    count = float(len(props(resource).get("MetricTransformations", [])) or 1)
    price = ctx.prices("cloudwatch", "custom_metric_month")
    return [
        Line(
            "CloudWatch custom metrics (metric filters)",
            count,
            price * count,
            price * count,
            0.0,
            f"{_usd(price)}/metric-month",
        )
    ]


def _log_group(ctx: Context, _id: str, resource: Resource) -> list[Line]:
    ingest = ctx.prices.idle_setting("log_ingest_gb_per_group")
    days = number(props(resource).get("RetentionInDays"))
    months = days / 30 if days is not None else ctx.prices.idle_setting("log_months_kept_when_never_expire")
    ingest_price = ctx.prices("cloudwatch", "logs_ingest_gb")
    storage_price = ctx.prices("cloudwatch", "logs_storage_gb_month")
    monthly = ingest * ingest_price + ingest * months * storage_price
    per_million = ctx.requests * ctx.prices.load_setting("log_kb_per_request") / 1e6 * ingest_price
    unit = f"{_usd(ingest_price)}/GB ingested + {_usd(storage_price)}/GB-month stored"
    return [Line("CloudWatch log groups", 1, monthly, monthly, per_million, unit)]


def _bucket(ctx: Context, _id: str, _resource: Resource) -> list[Line]:
    gb = ctx.prices.idle_setting("s3_storage_gb_per_bucket")
    price = ctx.prices("s3", "storage_gb_month")
    unit = f"{_usd(price)}/GB-month + {_usd(ctx.prices('s3', 'get_per_1k'))}/1k GET"
    return [Line("S3 buckets", 1, gb * price, gb * price, 0.0, unit)]


def _distribution(ctx: Context, _id: str, _resource: Resource) -> list[Line]:
    requests = ctx.requests / 1e4 * ctx.prices("cloudfront", "https_requests_per_10k")
    data = ctx.requests * ctx.prices.load_setting("response_kb") / 1e6 * ctx.prices("cloudfront", "data_out_gb")
    unit = (
        f"{_usd(ctx.prices('cloudfront', 'https_requests_per_10k'))}/10k HTTPS requests"
        f" + {_usd(ctx.prices('cloudfront', 'data_out_gb'))}/GB out"
    )
    return [Line("CloudFront distributions", 1, 0.0, 0.0, requests + data, unit)]


def _api_stage(ctx: Context, logical_id: str, resource: Resource) -> list[Line]:
    p = props(resource)
    if p.get("CacheClusterEnabled") not in (True, "true"):
        return []
    size = str(p.get("CacheClusterSize", "0.5"))
    table = ctx.prices.table("apigateway", "cache_hour")
    if size not in table:
        ctx.notes.append(f"{logical_id}: API cache size {size} GB has no price in prices.toml")
        return []
    cost = ctx.monthly(table[size])
    return [Line("API Gateway caches", 1, cost, cost, 0.0, f"{_usd(table[size])}/h ({size} GB)")]


PRICERS: dict[str, Pricer] = {
    "AWS::EC2::NatGateway": _nat_gateway,
    "AWS::EC2::EIP": _eip,
    "AWS::EC2::Instance": _ec2_instance,
    "AWS::EC2::VPCEndpoint": _vpc_endpoint,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _load_balancer,
    "AWS::ECS::Service": _ecs_service,
    "AWS::ECS::Cluster": _ecs_cluster,
    "AWS::RDS::DBInstance": _db_instance,
    "AWS::RDS::DBCluster": _db_cluster,
    "AWS::WAFv2::WebACL": _web_acl,
    "AWS::KMS::Key": _fixed("KMS keys", "kms", "key_month", "key-month"),
    "AWS::SecretsManager::Secret": _fixed("Secrets Manager secrets", "secretsmanager", "secret_month", "secret-month"),
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::CloudWatch::CompositeAlarm": _fixed(
        "CloudWatch composite alarms", "cloudwatch", "composite_alarm_month", "alarm-month"
    ),
    "AWS::CloudWatch::Dashboard": _fixed("CloudWatch dashboards", "cloudwatch", "dashboard_month", "dashboard-month"),
    "AWS::CloudWatch::InsightRule": _fixed(
        "Contributor Insights rules", "cloudwatch", "contributor_insights_rule_month", "rule-month"
    ),
    "AWS::Logs::MetricFilter": _metric_filter,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::S3::Bucket": _bucket,
    "AWS::Route53::HostedZone": _fixed("Route 53 hosted zones", "route53", "hosted_zone_month", "zone-month"),
    "AWS::CloudFront::Distribution": _distribution,
    "AWS::CloudFront::Function": _usage_only(
        "CloudFront functions",
        lambda p: f"{_usd(p('cloudfront', 'functions_per_million'))}/1M invocations",
        lambda ctx: ctx.requests / 1e6 * ctx.prices("cloudfront", "functions_per_million"),
    ),
    "AWS::ApiGateway::RestApi": _usage_only(
        "API Gateway REST APIs",
        lambda p: f"{_usd(p('apigateway', 'rest_requests_per_million'))}/1M requests",
        lambda ctx: ctx.requests / 1e6 * ctx.prices("apigateway", "rest_requests_per_million"),
    ),
    "AWS::ApiGateway::Stage": _api_stage,
    "AWS::ApiGatewayV2::Api": _usage_only(
        "API Gateway HTTP APIs",
        lambda p: f"{_usd(p('apigateway', 'http_requests_per_million'))}/1M requests",
        lambda ctx: ctx.requests / 1e6 * ctx.prices("apigateway", "http_requests_per_million"),
    ),
    # Functions here run on deploys, rotations and events, not per storefront request.
    "AWS::Lambda::Function": _usage_only(
        "Lambda functions",
        lambda p: f"{_usd(p('lambda', 'requests_per_million'))}/1M invocations + duration",
        lambda _: 0.0,
    ),
    "AWS::SNS::Topic": _usage_only(
        "SNS topics", lambda p: f"{_usd(p('sns', 'publishes_per_million'))}/1M publishes", lambda _: 0.0
    ),
    "AWS::SQS::Queue": _usage_only(
        "SQS queues", lambda p: f"{_usd(p('sqs', 'requests_per_million'))}/1M requests", lambda _: 0.0
    ),
}


def classify(resource_type: str, prices: Prices) -> tuple[str, str]:
    """("priced" | "free" | "uncounted" | "unknown", reason) for one resource type."""
    if resource_type in PRICERS:
        return "priced", "ops/cost.py"
    reason = prices.free_reason(resource_type)
    if reason is not None:
        return "free", reason
    if resource_type in prices.uncounted:
        return "uncounted", prices.uncounted[resource_type]
    return "unknown", "neither priced in ops/cost.py nor listed free or uncounted in ops/prices.toml"


def estimate(template: dict[str, Any], prices: Prices) -> Estimate:
    """Price every resource of a CloudFormation template."""
    resources: dict[str, Resource] = template.get("Resources", {})
    result = Estimate()
    ctx = Context(resources, prices, result.notes)
    for logical_id in sorted(resources):
        resource = resources[logical_id]
        resource_type = resource["Type"]
        status, reason = classify(resource_type, prices)
        if status == "priced":
            result.lines.extend(PRICERS[resource_type](ctx, logical_id, resource))
        elif status == "free":
            result.free[resource_type] = result.free.get(resource_type, 0) + 1
        elif status == "uncounted":
            result.uncounted[resource_type] = reason
        elif resource_type not in result.unknown:
            result.unknown.append(resource_type)
    return result


@dataclass(frozen=True)
class StackCost:
    """One stack of the app, priced at its region's prices."""

    name: str
    region: str
    estimate: Estimate
    prices: Prices


def stacks_of(cdk_out: Path) -> list[tuple[str, str, Path]]:
    """(name, region, template path) of every stack in a cloud assembly, from its manifest."""
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    stacks = []
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        # aws://<account>/<region>, as CDK writes a stack's environment.
        region = artifact["environment"].rsplit("/", 1)[-1]
        stacks.append((name, region, cdk_out / artifact["properties"]["templateFile"]))
    return stacks


def estimate_app(stacks: list[tuple[str, str, Path]], prices: Prices) -> list[StackCost]:
    """Every stack priced at its own region's prices; raises NoPrices for a region without them."""
    costs = []
    for name, region, path in stacks:
        regional = prices.for_region(region)
        costs.append(StackCost(name, region, estimate(json.loads(path.read_text()), regional), regional))
    return costs


def _dates(costs: list[StackCost]) -> str:
    seen: dict[str, str] = {}
    for cost in costs:
        seen.setdefault(cost.region, str(cost.prices.data["meta"]["date"]))
    return ", ".join(f"{region} of {date}" for region, date in seen.items())


def render_app(costs: list[StackCost], environment: str | None = None, title: str = "") -> str:
    """The report: per stack a Markdown table per kind, the subtotals and total, the target verdict, and
    what is not counted."""
    prices = costs[0].prices
    currency = prices.data["meta"]["currency"]
    requests = prices.load_setting("requests")
    per = f"per {requests / 1e6:g}M requests"
    idle, peak, load = (sum(getattr(c.estimate, a) for c in costs) for a in ("idle", "peak", "per_million"))
    out = [
        f"### {title or 'Cost estimate'}",
        "",
        f"{currency} per month, on-demand list prices of each stack's region ({_dates(costs)}; ops/prices.toml), "
        f"{prices.hours:g} h a month. *Idle*: no traffic, every scalable resource at its minimum. *Max scale*: "
        f"every scalable resource at its maximum all month. *Per {requests / 1e6:g}M requests*: what that load adds "
        "(assumptions in prices.toml [load]).",
        "",
    ]
    if len(costs) > 1:
        out += [f"| stack | region | idle | max scale | {per} |", "|---|---|--:|--:|--:|"]
        for cost in costs:
            e = cost.estimate
            out.append(f"| {cost.name} | {cost.region} | {e.idle:.2f} | {e.peak:.2f} | {e.per_million:.2f} |")
        out += [f"| **total** | | **{idle:.2f}** | **{peak:.2f}** | **{load:.2f}** |", ""]
    for cost in costs:
        if len(costs) > 1:
            out += [f"#### {cost.name} ({cost.region})", ""]
        out += [f"| kind | count | idle | max scale | {per} | unit price |", "|---|--:|--:|--:|--:|---|"]
        for line in cost.estimate.by_kind():
            out.append(
                f"| {line.kind} | {line.count:g} | {line.idle:.2f} | {line.peak:.2f} | "
                f"{line.per_million:.2f} | {line.unit_price} |"
            )
        e = cost.estimate
        label = "**total**" if len(costs) == 1 else "**subtotal**"
        out += [f"| {label} | | **{e.idle:.2f}** | **{e.peak:.2f}** | **{e.per_million:.2f}** | |", ""]
    # A preview (any environment name but a profile's) is held to the previews' target.
    target = prices.targets.get(environment or "") or (
        prices.targets.get("preview") if environment and names.is_preview(environment) else None
    )
    if target is None:
        out.append(f"Idle target: none set for {environment or 'this template'}.")
    else:
        verdict = "meets it" if idle <= target else f"misses it by {idle - target:.2f}"
        out.append(f"Idle target for {environment}: <= {target:.2f} {currency}/month: {verdict}.")
    out.append("")
    whole = merge([cost.estimate for cost in costs])
    free = ", ".join(f"{t} x{n}" for t, n in sorted(whole.free.items()))
    out.append(f"Free ({sum(whole.free.values())} resources): {free or 'none'}.")
    out.append("")
    out.append("Not counted:")
    for resource_type, reason in sorted(whole.uncounted.items()):
        out.append(f"- {resource_type}: {reason}")
    for note in whole.notes:
        out.append(f"- {note}")
    for resource_type in whole.unknown:
        out.append(f"- UNKNOWN TYPE {resource_type}: add it to ops/cost.py PRICERS or ops/prices.toml")
    out.extend(f"- {item}" for item in NOT_COUNTED_ALWAYS)
    return "\n".join(out) + "\n"


def render(result: Estimate, prices: Prices, environment: str | None = None, title: str = "") -> str:
    """The report of one template priced with `prices`."""
    return render_app([StackCost(title or "template", prices.region, result, prices)], environment, title)


def merge(estimates: list[Estimate]) -> Estimate:
    """One estimate of several templates (the stacks of one deployment)."""
    merged = Estimate()
    for part in estimates:
        merged.lines += part.lines
        for resource_type, count in part.free.items():
            merged.free[resource_type] = merged.free.get(resource_type, 0) + count
        merged.uncounted |= part.uncounted
        merged.unknown += [t for t in part.unknown if t not in merged.unknown]
        merged.notes += part.notes
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--environment", "-e", default="dev", help="profile name (target, default stacks)")
    parser.add_argument("--template", type=Path, help="price this one template instead of the app in --cdk-out")
    parser.add_argument("--cdk-out", type=Path, default=CDK_OUT, help="the cloud assembly (default cdk.out)")
    parser.add_argument(
        "--region", help="the template's region (default us-east-1); with the app, the region its main stack must be in"
    )
    parser.add_argument("--prices", type=Path, default=PRICES)
    args = parser.parse_args(argv)
    # infra/config.py's alias, repeated: importing infra would start the CDK's node runtime.
    args.environment = {"production": "prod"}.get(args.environment, args.environment)
    prices = Prices.load(args.prices)
    main_stack = f"TapStack-{args.environment}"
    synth_hint = f"make synth ENVIRONMENT={args.environment}" + (f" REGION={args.region}" if args.region else "")
    if args.template is not None:
        if not args.template.exists():
            print(f"{args.template} not found", file=sys.stderr)
            return 2
        stacks = [(args.template.stem.removesuffix(".template"), args.region or prices.region, args.template)]
    else:
        if not (args.cdk_out / "manifest.json").exists():
            print(f"{args.cdk_out}/manifest.json not found: run `{synth_hint}` first", file=sys.stderr)
            return 2
        stacks = stacks_of(args.cdk_out)
        regions = {name: region for name, region, _ in stacks}
        if main_stack not in regions or (args.region and regions[main_stack] != args.region):
            found = ", ".join(f"{name} ({region})" for name, region in regions.items()) or "no stack"
            print(f"{args.cdk_out} holds {found}: run `{synth_hint}` first", file=sys.stderr)
            return 2
        # The main stack first, then its companions.
        stacks.sort(key=lambda stack: (stack[0] != main_stack, stack[0]))
    try:
        costs = estimate_app(stacks, prices)
    except NoPrices as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    title = main_stack if args.template is None else stacks[0][0]
    if len(costs) > 1:
        title += f" in {costs[0].region}, with {len(costs) - 1} companion stack{'s' if len(costs) > 2 else ''}"
    sys.stdout.write(render_app(costs, args.environment, title=title))
    return 1 if any(cost.estimate.unknown for cost in costs) else 0


if __name__ == "__main__":
    raise SystemExit(main())
