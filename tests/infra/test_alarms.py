"""Every alarm of every stack, read back from the templates and compared with one table: the runbook's
(docs/operations.md) alarms with what each watches, when it fires, what missing data means and whom it tells.

A row is what a reader of the runbook relies on. An alarm that is in a template but not in the table, a row
whose alarm no longer exists, or an alarm whose threshold, comparison, statistic, periods or missing-data
treatment differ from its row fails here. Thresholds are AlertSettings' defaults (infra/config.py), the same
in every profile. CloudWatch alarm semantics:
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.context import load_config
from tests.synthesis import PROFILES, Synthesized

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "operations.md"

TOPIC = "the alert topic"  # AlarmActions and OKActions: the stack's own SNS topic, on ALARM and on OK
ROLLBACK = "ECS rolls the release back"  # no action: the ECS service's deployment alarms name it
ELB = "AWS/ApplicationELB"
RDS = "AWS/RDS"
TG = "LoadBalancer,TargetGroup"


@dataclass(frozen=True)
class Row:
    """One alarm as the runbook reads it."""

    watches: frozenset[str]  # "<namespace> <metric>[<dimension names>] <statistic> <period>s", each metric used
    comparison: str  # ">" or "<"
    threshold: float
    periods: int  # evaluation periods
    datapoints: int  # of those, in breach to fire
    missing: str  # TreatMissingData
    action: str = TOPIC
    # The math expression that turns the metrics into the alarmed value (none: the metric itself; a sum or
    # maximum over the blue/green target groups counts as the metric itself).
    expression: str | None = None


def watch(*metrics: str) -> frozenset[str]:
    return frozenset(metrics)


ALARMS: dict[str, Row] = {
    # Load balancer and tasks (infra/monitoring/service.py)
    "NoHealthyTasks": Row(watch(f"{ELB} HealthyHostCount[{TG}] Minimum 60s"), "<", 1, 3, 3, "breaching"),
    "UnhealthyTasks": Row(watch(f"{ELB} UnHealthyHostCount[{TG}] Maximum 60s"), ">", 0, 3, 3, "notBreaching"),
    "TargetErrorRate": Row(
        watch(f"{ELB} HTTPCode_Target_5XX_Count[{TG}] Sum 300s", f"{ELB} RequestCount[{TG}] Sum 300s"),
        ">",
        5,
        3,
        3,
        "notBreaching",
        expression="IF(requests > 0, 100 * errors / requests, 0)",
    ),
    "LoadBalancer5xxRate": Row(
        watch(f"{ELB} HTTPCode_ELB_5XX_Count[LoadBalancer] Sum 300s", f"{ELB} RequestCount[LoadBalancer] Sum 300s"),
        ">",
        5,
        3,
        3,
        "notBreaching",
        expression=(
            "IF(FILL(requests, 0) + FILL(errors, 0) > 0, "
            "100 * FILL(errors, 0) / (FILL(requests, 0) + FILL(errors, 0)), 0)"
        ),
    ),
    "TargetLatencyP99": Row(watch(f"{ELB} TargetResponseTime[{TG}] p99 300s"), ">", 1.5, 3, 3, "notBreaching"),
    "TaskCpuHigh": Row(
        watch("AWS/ECS CPUUtilization[ClusterName,ServiceName] Average 300s"), ">", 85, 3, 3, "notBreaching"
    ),
    "TaskMemoryHigh": Row(
        watch("AWS/ECS MemoryUtilization[ClusterName,ServiceName] Average 300s"), ">", 85, 3, 3, "notBreaching"
    ),
    "TasksBelowDesired": Row(
        watch(
            "ECS/ContainerInsights DesiredTaskCount[ClusterName,ServiceName] Maximum 60s",
            "ECS/ContainerInsights RunningTaskCount[ClusterName,ServiceName] Minimum 60s",
        ),
        ">",
        0,
        5,
        5,
        "breaching",
        expression="desired - running",
    ),
    # Database (infra/monitoring/database.py)
    "DatabaseCpuHigh": Row(
        watch(f"{RDS} CPUUtilization[DBClusterIdentifier] Average 300s"), ">", 80, 3, 3, "notBreaching"
    ),
    "DatabaseCapacityNearMax": Row(
        watch(f"{RDS} ACUUtilization[DBClusterIdentifier] Maximum 300s"), ">", 90, 3, 3, "notBreaching"
    ),
    "DatabaseFreeableMemoryLow": Row(
        watch(f"{RDS} FreeableMemory[DBClusterIdentifier] Minimum 300s"), "<", 256 * 2**20, 3, 3, "notBreaching"
    ),
    "DatabaseLocalStorageLow": Row(
        watch(f"{RDS} FreeLocalStorage[DBClusterIdentifier] Minimum 300s"), "<", 1024 * 2**20, 3, 3, "notBreaching"
    ),
    "DatabaseConnectionsHigh": Row(
        watch(f"{RDS} DatabaseConnections[DBClusterIdentifier] Maximum 300s"), ">", 400, 3, 3, "notBreaching"
    ),
    "DatabaseDeadlocks": Row(watch(f"{RDS} Deadlocks[DBClusterIdentifier] Sum 300s"), ">", 0, 1, 1, "notBreaching"),
    "ReplicaLagHigh": Row(
        watch(f"{RDS} AuroraReplicaLagMaximum[DBClusterIdentifier] Maximum 300s"), ">", 2000, 3, 3, "notBreaching"
    ),
    # Browser front door (infra/monitoring/edge.py): in us-east-1, where CloudFront publishes
    "CloudFront5xxRate": Row(
        watch("AWS/CloudFront 5xxErrorRate[DistributionId,Region] Average 300s"), ">", 5, 3, 3, "notBreaching"
    ),
    "EdgeWafBlockedSpike": Row(
        watch("AWS/WAFV2 BlockedRequests[Rule,WebACL] Sum 300s"), ">", 1000, 1, 1, "notBreaching"
    ),
    # Partner API (infra/monitoring/api.py): API Gateway's 4XXError/5XXError averaged are rates (0 to 1)
    "Api5xxRate": Row(watch("AWS/ApiGateway 5XXError[ApiName] Average 300s"), ">", 0.01, 3, 3, "notBreaching"),
    "Api4xxSpike": Row(watch("AWS/ApiGateway 4XXError[ApiName] Average 300s"), ">", 0.25, 3, 3, "notBreaching"),
    "ApiLatencyP99": Row(watch("AWS/ApiGateway Latency[ApiName] p99 300s"), ">", 2500, 3, 3, "notBreaching"),
    "ApiWafBlockedSpike": Row(
        watch("AWS/WAFV2 BlockedRequests[Region,Rule,WebACL] Sum 300s"), ">", 1000, 1, 1, "notBreaching"
    ),
    # Network (infra/monitoring/network.py): one per NAT gateway, numbered
    "NatPortAllocationErrors": Row(
        watch("AWS/NATGateway ErrorPortAllocation[NatGatewayId] Sum 300s"), ">", 0, 1, 1, "notBreaching"
    ),
    # Scheduled jobs (issue 24): a schedule that cannot start its run leaves a message in the dead-letter queue.
    "JobStartFailed": Row(
        watch("AWS/SQS ApproximateNumberOfMessagesVisible[QueueName] Maximum 300s"), ">", 0, 1, 1, "notBreaching"
    ),
    # The release's own alarms (infra/deployment.py): ECS watches them during a deployment and rolls
    # back; they page nobody (the DeploymentFailed rule below does). Judged only at 10 requests/min or more.
    "DeploymentTarget5xxRate": Row(
        watch(f"{ELB} HTTPCode_Target_5XX_Count[{TG}] Sum 60s", f"{ELB} RequestCount[{TG}] Sum 60s"),
        ">",
        5,
        3,
        2,
        "notBreaching",
        ROLLBACK,
        "IF(SUM(r) >= 10, 100 * SUM(e) / SUM(r), 0)",
    ),
    "DeploymentTargetP99Latency": Row(
        watch(f"{ELB} TargetResponseTime[{TG}] p99 60s"), ">", 1.5, 3, 2, "notBreaching", ROLLBACK
    ),
}

# EventBridge rules whose events reach the alert topic: (source, detail-type) -> what they report.
RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "DeploymentFailed": ("aws.ecs", ("ECS Deployment State Change",)),
    "RotationFailed": ("aws.secretsmanager", ("AWS Service Event via CloudTrail",)),
    "DatabaseEvents": ("aws.rds", ("RDS DB Cluster Event",)),
    "BackupJobFailed": ("aws.backup", ("Backup Job State Change", "Copy Job State Change")),
    # Scheduled jobs (issue 24): a run whose container exits non-zero, a failed workflow execution.
    "ScheduledJobsFailedRun": ("aws.ecs", ("ECS Task State Change",)),
    "ScheduledJobsFailedExecution": ("aws.states", ("Step Functions Execution Status Change",)),
}


def expected_alarms(environment: str, region: str = "us-east-1") -> dict[str, set[str]]:
    """Which alarms each kind of stack of a profile holds, from its settings: the regional stack, and
    outside us-east-1 the edge-alarms companion (CloudFront's alarms)."""
    config = load_config(environment, region=region)
    edge = {"CloudFront5xxRate", "EdgeWafBlockedSpike"}
    regional = set(ALARMS) - edge - {"ReplicaLagHigh", "NatPortAllocationErrors"}
    if config.database.readers:
        regional.add("ReplicaLagHigh")
    if not config.service.container_insights:
        # Running and desired task counts are Container Insights metrics.
        regional.remove("TasksBelowDesired")
    if config.api.through_cloudfront:
        # Partners' calls pass CloudFront's web ACL, watched by EdgeWafBlockedSpike; the API has none.
        regional.remove("ApiWafBlockedSpike")
    if config.network.nat_instance_type is None:
        regional |= {f"NatPortAllocationErrors{n}" for n in range(1, config.network.nat_gateways + 1)}
    if region == "us-east-1":
        return {"regional": regional | edge}
    return {"regional": regional, "edge-alarms": edge}


def _stat(query: dict[str, Any]) -> str:
    return str(query.get("Statistic") or query.get("ExtendedStatistic") or query.get("Stat"))


def _metric(namespace: str, name: str, dimensions: list[dict[str, Any]], stat: str, period: int) -> str:
    names = ",".join(sorted(d["Name"] for d in dimensions))
    return f"{namespace} {name}[{names}] {stat} {period}s"


# A sum or maximum of one metric over the blue/green target groups (one group in dev): the metric itself,
# read across groups. Inside a larger expression a sum over the groups reads SUM(<id prefix>).
ACROSS_GROUPS = re.compile(r"FILL\((\w+?)0, 0\)( \+ FILL\(\1 ?1, 0\))?|MAX\(\[(\w+?)0(, \3 ?1)?\]\)")
SUM_OVER_GROUPS = re.compile(r"\(FILL\((\w+?)0, 0\)(?: \+ FILL\(\1 ?1, 0\))?\)")


def normalized(expression: str | None) -> str | None:
    if expression is None or ACROSS_GROUPS.fullmatch(expression):
        return None
    return SUM_OVER_GROUPS.sub(r"SUM(\1)", expression)


@dataclass(frozen=True)
class Alarm:
    name: str
    row: Row
    stack: str


def read_alarm(logical_id: str, properties: dict[str, Any], topic: str | None) -> Alarm:
    """The alarm as a table row: its name (the description's [Name], else the deployment alarm's id)."""
    found = re.match(r"\[(\w+)\]", properties.get("AlarmDescription", ""))
    name = found.group(1) if found else "Deployment" + re.sub(r"^ServiceDeploymentAlarms|[0-9A-F]{8}$", "", logical_id)
    if "MetricName" in properties:
        watches = {
            _metric(
                properties["Namespace"],
                properties["MetricName"],
                properties.get("Dimensions", []),
                _stat(properties),
                properties["Period"],
            )
        }
        expression = None
    else:
        queries = properties["Metrics"]
        watches = {
            _metric(
                q["MetricStat"]["Metric"]["Namespace"],
                q["MetricStat"]["Metric"]["MetricName"],
                q["MetricStat"]["Metric"].get("Dimensions", []),
                q["MetricStat"]["Stat"],
                q["MetricStat"]["Period"],
            )
            for q in queries
            if "MetricStat" in q
        }
        (top,) = [q for q in queries if q.get("ReturnData", True)]
        expression = normalized(top.get("Expression"))
    actions = properties.get("AlarmActions")
    if actions is None and "OKActions" not in properties:
        action = ROLLBACK
    elif actions == properties.get("OKActions") == [{"Ref": topic}]:
        action = TOPIC
    else:
        action = f"AlarmActions {actions}, OKActions {properties.get('OKActions')}"
    row = Row(
        frozenset(watches),
        {"GreaterThanThreshold": ">", "LessThanThreshold": "<"}.get(properties["ComparisonOperator"], "?"),
        properties["Threshold"],
        properties["EvaluationPeriods"],
        properties.get("DatapointsToAlarm", properties["EvaluationPeriods"]),
        properties.get("TreatMissingData", "missing (the default)"),
        action,
        expression,
    )
    return Alarm(name, row, "")


def stack_kind(synthesized: Synthesized, stack_name: str) -> str:
    base = f"TapStack-{synthesized.environment}"
    if stack_name == base:
        return "regional"
    return stack_name.removeprefix(base + "-").split("-us-")[0].split("-eu-")[0].split("-ap-")[0]


def all_alarms(synthesized: Synthesized) -> dict[str, dict[str, Alarm]]:
    """Every alarm of every stack of an app, read as rows, by stack kind and name."""
    by_kind: dict[str, dict[str, Alarm]] = {}
    for stack_name, path in synthesized.template_paths.items():
        resources = json.loads(path.read_text())["Resources"]
        topics = [k for k, v in resources.items() if v["Type"] == "AWS::SNS::Topic"]
        topic = topics[0] if len(topics) == 1 else None
        kind = stack_kind(synthesized, stack_name)
        for logical_id, resource in resources.items():
            if resource["Type"] == "AWS::CloudWatch::Alarm":
                alarm = read_alarm(logical_id, resource["Properties"], topic)
                by_kind.setdefault(kind, {})[alarm.name] = alarm
    return by_kind


def table_name(name: str) -> str:
    """An alarm's row: NAT gateway alarms are numbered, one row for all."""
    return re.sub(r"^(NatPortAllocationErrors)\d+$", r"\1", name)


def _table_row(name: str) -> Row | None:
    return ALARMS.get(table_name(name))


def check_against_table(synthesized: Synthesized, expected: dict[str, set[str]]) -> None:
    alarms = all_alarms(synthesized)
    for kind in set(alarms) | set(expected):
        names = set(alarms.get(kind, {}))
        missing, extra = expected.get(kind, set()) - names, names - expected.get(kind, set())
        assert (missing, extra) == (set(), set()), f"{kind} stack: table rows not in it, alarms not in the table"
    wrong = {
        f"{kind}/{name}": (alarm.row, _table_row(name))
        for kind, found in alarms.items()
        for name, alarm in found.items()
        if alarm.row != _table_row(name)
    }
    assert wrong == {}, "alarm in the template != its row in ALARMS (template, table):\n" + "\n".join(
        f"{name}:\n  template {found}\n  table    {row}" for name, (found, row) in wrong.items()
    )


def test_every_alarm_of_every_profile_is_its_row_of_the_table(synth: Callable[[str], Synthesized]) -> None:
    """Each profile's stacks hold exactly the table's alarms that its settings call for (a reader per
    replica lag alarm, one per NAT gateway), each as its row says."""
    for environment in PROFILES:
        check_against_table(synth(environment), expected_alarms(environment))


def test_outside_us_east_1_the_edge_alarms_are_rows_of_the_table_too(abroad: Synthesized) -> None:
    """eu-central-1: CloudFront's alarms in the us-east-1 companion on its own topic, the rest regional."""
    check_against_table(abroad, expected_alarms("prod", region="eu-central-1"))


def test_every_row_of_the_table_is_used_and_in_the_runbook(synth: Callable[[str], Synthesized]) -> None:
    """No stale row; each alarm that pages (and each rule) has its section in docs/operations.md."""
    used = {
        table_name(name)
        for environment in PROFILES
        for found in all_alarms(synth(environment)).values()
        for name in found
    }
    assert used == set(ALARMS)
    documented = set(re.findall(r"^### (\w+)", RUNBOOK.read_text(), flags=re.MULTILINE))
    paging = {name for name, row in ALARMS.items() if row.action == TOPIC}
    assert paging - documented == set()


@pytest.mark.parametrize("environment", PROFILES)
def test_every_event_rule_reaches_the_alert_topic(synth: Callable[[str], Synthesized], environment: str) -> None:
    """EventBridge rules of every stack (the backup job rule included): their source and detail-type as
    the table says, targeting the stack's topic."""
    synthesized = synth(environment)
    found = {}
    for path in synthesized.template_paths.values():
        resources = json.loads(path.read_text())["Resources"]
        topics = [k for k, v in resources.items() if v["Type"] == "AWS::SNS::Topic"]
        for logical_id, resource in resources.items():
            if resource["Type"] != "AWS::Events::Rule":
                continue
            properties = resource["Properties"]
            name = next(n for n in RULES if re.fullmatch(rf"(Monitoring)?{n}[0-9A-F]{{8}}", logical_id))
            pattern = properties["EventPattern"]
            found[name] = (pattern["source"][0], tuple(pattern["detail-type"]))
            assert [target["Arn"] for target in properties["Targets"]] == [{"Ref": topics[0]}], logical_id
    assert found == RULES


def _runbook_sections() -> dict[str, str]:
    text = RUNBOOK.read_text()
    parts = re.split(r"^### (\w+)\n", text, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1].split("\n## ")[0] for i in range(1, len(parts) - 1, 2)}


def test_the_runbook_says_which_alarms_fire_on_missing_data() -> None:
    """An alarm that treats missing data as breaching says so in its runbook section (the on-call reads it
    there), and no section claims it of an alarm that does not."""
    sections = _runbook_sections()
    says_breaching = {
        name for name, text in sections.items() if re.search(r"missing data counts as failing", text, re.IGNORECASE)
    }
    breaching = {name for name, row in ALARMS.items() if row.missing == "breaching" and row.action == TOPIC}
    assert says_breaching == breaching


def _window_minutes(row: Row) -> int:
    (period,) = {int(re.search(r" (\d+)s$", metric)[1]) for metric in row.watches}  # type: ignore[index]
    return row.periods * period // 60


def test_the_runbook_states_each_alarms_window_as_the_alarm_has_it() -> None:
    """ "for 3 minutes", "in 5 minutes", "(5 min, 3 periods)": what a section says of the time an alarm looks at
    is its evaluation periods times its period."""
    checked = set()
    for name, text in _runbook_sections().items():
        row = ALARMS.get(name)
        first = text.split("\n1.")[0]
        for minutes in re.findall(r"(?:for|in) (\d+) minutes", first):
            assert row is not None and _window_minutes(row) == int(minutes), name
            checked.add(name)
        for minutes, periods in re.findall(r"\((\d+) min, (\d+) periods\)", first):
            assert row is not None and (row.periods, _window_minutes(row) // row.periods) == (
                int(periods),
                int(minutes),
            )
            checked.add(name)
    assert {"NoHealthyTasks", "UnhealthyTasks", "TasksBelowDesired", "TargetErrorRate"} <= checked
