"""infra/monitoring/: the alert topic, alarms, composite alarm, event rules, dashboard, runbook."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from tests.synthesis import Synthesized

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


# The service's deployment alarms (infra/deployment.py) make ECS roll a release back; they page nobody.
DEPLOYMENT_ALARMS = "ServiceDeploymentAlarms"


def _of_type(synthesized: Synthesized, resource_type: str) -> dict[str, dict[str, Any]]:
    """The monitoring resources of this type (alarms of infra/monitoring, not the deployment alarms)."""
    return {k: v for k, v in synthesized.of_type(resource_type).items() if not k.startswith(DEPLOYMENT_ALARMS)}


def _alarm_ids(synthesized: Synthesized, resource_type: str = "AWS::CloudWatch::Alarm") -> list[str]:
    ids = []
    for alarm in _of_type(synthesized, resource_type).values():
        match = re.match(r"\[(\w+)\]", alarm["Properties"]["AlarmDescription"])
        assert match, alarm["Properties"]["AlarmDescription"]
        ids.append(match.group(1))
    return ids


def _topic_id(synthesized: Synthesized) -> str:
    (topic_id,) = synthesized.of_type("AWS::SNS::Topic")
    return topic_id


def test_key_policy_lets_cloudwatch_and_eventbridge_use_the_topic_key(profile: Synthesized) -> None:
    """SNS SSE: an encrypted topic accepts alarms and events only if the key policy lets
    cloudwatch.amazonaws.com and events.amazonaws.com call kms:GenerateDataKey* and kms:Decrypt.
    https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"""
    profile.template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            }
                        )
                    ]
                )
            }
        },
    )


def test_topic_is_encrypted_with_our_key_and_requires_tls(profile: Synthesized) -> None:
    """AwsSolutions-SNS2/SNS3: SSE with the CMK and a topic policy denying non-TLS publishes."""
    profile.template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": ["KeysDataKey8F3FE3A4", "Arn"]}}
    )
    profile.template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


def test_no_email_address_means_no_subscription(dev: Synthesized) -> None:
    """Unlike the seed, no made-up default address receives the alerts."""
    dev.template.resource_count_is("AWS::SNS::Subscription", 0)


def test_email_address_subscribes_to_the_topic(tmp_path: Path) -> None:
    from tests.synthesis import synthesize

    synthesized = synthesize("dev", tmp_path, {"emailAddress": "ops@example.com"})
    synthesized.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )


def test_every_alarm_notifies_the_topic_on_alarm_and_ok(profile: Synthesized) -> None:
    topic = {"Ref": _topic_id(profile)}
    for resource_type in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"):
        for alarm in _of_type(profile, resource_type).values():
            assert alarm["Properties"]["AlarmActions"] == [topic]
            assert alarm["Properties"]["OKActions"] == [topic]


def test_every_alarm_states_how_it_treats_missing_data(profile: Synthesized) -> None:
    """Missing data is a decision per metric, never the default."""
    for alarm in profile.of_type("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["TreatMissingData"] in {"breaching", "notBreaching"}


def test_cpu_and_memory_alarms_do_not_fire_on_missing_data(profile: Synthesized) -> None:
    """Seed D14: the seed treated missing CPU/memory data as breaching and alarmed whenever tasks were absent."""
    for alarm in profile.of_type("AWS::CloudWatch::Alarm").values():
        if alarm["Properties"].get("MetricName") in {"CPUUtilization", "MemoryUtilization"}:
            assert alarm["Properties"]["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize(("environment", "count"), [("dev", 19), ("staging", 22), ("prod", 25)])
def test_alarm_count_follows_the_profile(synth, environment: str, count: int) -> None:  # type: ignore[no-untyped-def]
    """Prod adds the replica lag alarm; there is one NAT port-allocation alarm per NAT gateway (dev has a
    NAT instance, none); the bundled storefront's scheduled job adds its dead-letter alarm (infra/jobs.py);
    dev's partner API has no web ACL of its own to watch (api.through_cloudfront), and without Container
    Insights dev has no task counts to compare (service.container_insights)."""
    assert len(_of_type(synth(environment), "AWS::CloudWatch::Alarm")) == count


def test_replica_lag_is_watched_only_where_there_is_a_reader(synth) -> None:  # type: ignore[no-untyped-def]
    assert "ReplicaLagHigh" in _alarm_ids(synth("prod"))
    assert "ReplicaLagHigh" not in _alarm_ids(synth("dev"))


def test_shop_is_down_fires_when_no_task_is_healthy(profile: Synthesized) -> None:
    """The composite alarm is the page: no healthy task, or both front doors failing together."""
    (composite,) = profile.of_type("AWS::CloudWatch::CompositeAlarm").values()
    rule = json.dumps(composite["Properties"]["AlarmRule"])
    alarms = _of_type(profile, "AWS::CloudWatch::Alarm")
    by_id = {_alarm_ids(profile).__getitem__(i): k for i, k in enumerate(alarms)}
    assert by_id["NoHealthyTasks"] in rule
    assert f'ALARM(\\"{by_id["CloudFront5xxRate"]}' in rule or by_id["CloudFront5xxRate"] in rule
    assert by_id["Api5xxRate"] in rule
    assert "AND" in rule and "OR" in rule


def _rule(synthesized: Synthesized, source: str) -> dict[str, Any]:
    (rule,) = [
        r["Properties"]
        for logical_id, r in synthesized.of_type("AWS::Events::Rule").items()
        # The scheduled jobs' own failure rules are tests/infra/test_jobs.py's.
        if r["Properties"]["EventPattern"]["source"] == [source] and not logical_id.startswith("ScheduledJobs")
    ]
    return rule


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("aws.ecs", {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]}),
        ("aws.secretsmanager", {"eventName": ["RotationFailed"]}),
        ("aws.rds", {"EventCategories": ["failover", "failure", "notification"]}),
    ],
)
def test_operational_events_reach_the_topic(profile: Synthesized, source: str, detail: dict[str, list[str]]) -> None:
    """EventBridge: failed deployments, failed rotations and database failovers notify the topic."""
    rule = _rule(profile, source)
    for key, values in detail.items():
        assert rule["EventPattern"]["detail"][key] == values
    assert rule["Targets"][0]["Arn"] == {"Ref": _topic_id(profile)}


def test_dashboard_is_cdk_named_and_shows_every_tier(profile: Synthesized) -> None:
    """Seed D17: no hard-coded dashboard name; a section per tier. Dev has none (alerts.dashboard, an idle
    cost lever); its DashboardName output says so."""
    if profile.environment == "dev":
        assert profile.of_type("AWS::CloudWatch::Dashboard") == {}
        assert profile.template.to_json()["Outputs"]["DashboardName"]["Value"].startswith("none")
        return
    (dashboard,) = profile.of_type("AWS::CloudWatch::Dashboard").values()
    assert "DashboardName" not in dashboard["Properties"]
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for section in (
        "Browser front door",
        "Partner API",
        "Load balancer",
        "Storefront tasks (ECS)",
        "Database (Aurora)",
    ):
        assert section in body


def test_every_alarm_is_in_the_runbook(synth) -> None:  # type: ignore[no-untyped-def]
    """docs/operations.md has a section for each alarm any profile defines."""
    runbook = RUNBOOK.read_text()
    documented = set(re.findall(r"^### (\w+)", runbook, flags=re.MULTILINE))
    defined = {
        re.sub(r"^(NatPortAllocationErrors)\d+$", r"\1", alarm_id)
        for environment in ("dev", "staging", "prod")
        for resource_type in ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")
        for alarm_id in _alarm_ids(synth(environment), resource_type)
    }
    assert defined - documented == set()


@pytest.mark.parametrize("alarm_id", ["NoHealthyTasks", "UnhealthyTasks", "TargetErrorRate", "TargetLatencyP99"])
def test_target_alarms_watch_both_blue_green_target_groups(prod: Synthesized, alarm_id: str) -> None:
    """ECS blue/green moves the live tasks to the alternate target group on each release: an alarm on one
    group alone would go quiet (or, for healthy hosts, page) after the first deployment."""
    (alarm,) = [
        a["Properties"]
        for a in prod.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmDescription"].startswith(f"[{alarm_id}]")
    ]
    watched = {
        dimension["Value"]["Fn::GetAtt"][0]
        for query in alarm["Metrics"]
        if "MetricStat" in query
        for dimension in query["MetricStat"]["Metric"]["Dimensions"]
        if dimension["Name"] == "TargetGroup"
    }
    assert watched == set(prod.of_type("AWS::ElasticLoadBalancingV2::TargetGroup"))
