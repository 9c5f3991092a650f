"""ops/diagram.py: the committed architecture diagram is generated from the stack and kept current."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ops.diagram import OUTPUT, build, construct_paths, render
from tests.synthesis import Synthesized


def logical_id(path: list[str]) -> str:
    """A stand-in logical ID for a made-up construct path (the tool reads real ones from metadata)."""
    return "".join(path)


def _metadata(stack: str, paths: list[list[str]]) -> dict[str, Any]:
    """Cloud assembly metadata as CDK writes it: each resource's path with its logical ID."""
    return {f"/{stack}/{'/'.join(path)}": [{"type": "aws:cdk:logicalId", "data": logical_id(path)}] for path in paths}


def _metadata_of(synthesized: Synthesized) -> dict[str, Any]:
    path = synthesized.template_path.with_name(f"TapStack-{synthesized.environment}.metadata.json")
    metadata: dict[str, Any] = json.loads(path.read_text())
    return metadata


def test_every_resource_of_the_stack_is_placed_in_its_construct_group(prod: Synthesized) -> None:
    paths = construct_paths(_metadata_of(prod), "TapStack-prod")
    assert set(prod.resources) <= set(paths), "resources without a construct path"
    boxes, _ = build(prod.template.to_json(), _metadata_of(prod), "TapStack-prod")
    groups = {box.group for box in boxes}
    assert {"Network", "Keys"} <= groups
    assert "Other" not in groups


def test_groups_are_top_level_constructs_and_arrows_follow_references_between_them() -> None:
    stack = "S"
    paths = [
        ["Edge", "Distribution", "Resource"],
        ["Service", "Alb", "Resource"],
        ["Database", "Cluster", "Resource"],
        ["Network", "Vpc", "PrivateSubnet1", "Subnet"],
        ["Network", "Vpc", "PrivateSubnet2", "Subnet"],
    ]
    ids = {path[1] if path[0] != "Network" else path[2]: logical_id(path) for path in paths}
    template = {
        "Resources": {
            ids["Distribution"]: {
                "Type": "AWS::CloudFront::Distribution",
                "Properties": {"Origin": {"Fn::GetAtt": [ids["Alb"], "DNSName"]}},
            },
            ids["Alb"]: {
                "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Properties": {"Scheme": "internal", "Subnets": [{"Ref": ids["PrivateSubnet1"]}]},
            },
            ids["Cluster"]: {"Type": "AWS::RDS::DBCluster", "Properties": {}},
            ids["PrivateSubnet1"]: {"Type": "AWS::EC2::Subnet"},
            ids["PrivateSubnet2"]: {"Type": "AWS::EC2::Subnet"},
        }
    }
    text = render(template, _metadata(stack, paths), stack)
    assert '  subgraph g_Edge["Edge"]' in text
    assert 'n_NetworkPrivatesubnets["<b>Private subnets</b><br/>Subnet x2"]' in text
    assert "  n_EdgeDistribution --> n_ServiceAlb" in text
    assert "  n_ServiceAlb --> n_NetworkPrivatesubnets" in text
    assert "  internet --> n_EdgeDistribution" in text  # CloudFront is a front door; the ALB is not
    assert "internet --> n_ServiceAlb" not in text
    assert 'n_DatabaseCluster[("' in text  # a database is drawn as a cylinder
    assert text.index("g_Edge") < text.index("g_Service") < text.index("g_Database") < text.index("g_Network")
    assert render(template, _metadata(stack, paths), stack) == text


def test_committed_architecture_diagram_matches_the_prod_stack(prod: Synthesized) -> None:
    """docs/architecture.md is generated; whoever changes the stack regenerates it."""
    expected = render(prod.template.to_json(), _metadata_of(prod), "TapStack-prod")
    committed = OUTPUT.read_text() if OUTPUT.exists() else ""
    assert committed == expected, (
        f"{OUTPUT.relative_to(Path(__file__).resolve().parents[2])} is stale: the stack changed. "
        "Run `make diagram` and commit docs/architecture.md."
    )


def test_many_sibling_constructs_of_one_type_share_a_box() -> None:
    """Twenty alarms are one box in the Monitoring group, not twenty."""
    paths = [["Monitoring", f"Alarm{i}", "Resource"] for i in range(5)] + [["Monitoring", "Topic", "Resource"]]
    template = {
        "Resources": {
            logical_id(path): {"Type": "AWS::SNS::Topic" if path[1] == "Topic" else "AWS::CloudWatch::Alarm"}
            for path in paths
        }
    }
    boxes, _ = build(template, _metadata("S", paths), "S")
    assert [(box.name, dict(box.types)) for box in boxes] == [
        ("Alarms (5 constructs)", {"AWS::CloudWatch::Alarm": 5}),
        ("Topic", {"AWS::SNS::Topic": 1}),
    ]
