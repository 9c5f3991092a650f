"""ops/listener_rule_guard.py against the AWS API emulator: a deploy that would write the template's weights
over the ones ECS set on a blue/green service's production listener rule is refused; anything else passes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ops.listener_rule_guard import OVERRIDE, main, production_listener_rules
from tests.emulator import AwsEmulator
from tests.synthesis import Synthesized

STACK = "TapStack-prod"
RULE = "ServiceLoadBalancerHttpStorefrontRule6F4BB9C8"


def _deployed_template() -> dict[str, Any]:
    """The load balancer part of TapStack as the emulator can create it: the rule forwards 100/0 to the
    service's two target groups, as in the synthesized template."""
    subnet = {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": {"Ref": "Vpc"}}}
    group = {
        "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
        "Properties": {"Port": 8000, "Protocol": "HTTP", "TargetType": "ip", "VpcId": {"Ref": "Vpc"}},
    }
    return {
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "SubnetA": {
                **subnet,
                "Properties": {**subnet["Properties"], "CidrBlock": "10.0.0.0/24", "AvailabilityZone": "us-east-1a"},
            },
            "SubnetB": {
                **subnet,
                "Properties": {**subnet["Properties"], "CidrBlock": "10.0.1.0/24", "AvailabilityZone": "us-east-1b"},
            },
            "LoadBalancer": {
                "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
                "Properties": {"Scheme": "internal", "Subnets": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}]},
            },
            "Listener": {
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {
                    "LoadBalancerArn": {"Ref": "LoadBalancer"},
                    "Port": 80,
                    "Protocol": "HTTP",
                    "DefaultActions": [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
                },
            },
            "ServiceTargets2BD47FC6": group,
            "ServiceAlternateTargets451D1BD2": group,
            RULE: {
                "Type": "AWS::ElasticLoadBalancingV2::ListenerRule",
                "Properties": {
                    "Actions": [
                        {
                            "Type": "forward",
                            "ForwardConfig": {
                                "TargetGroups": [
                                    {"TargetGroupArn": {"Ref": "ServiceTargets2BD47FC6"}, "Weight": 100},
                                    {"TargetGroupArn": {"Ref": "ServiceAlternateTargets451D1BD2"}, "Weight": 0},
                                ]
                            },
                        }
                    ],
                    "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*", "/health*"]}}],
                    "ListenerArn": {"Ref": "Listener"},
                    "Priority": 10,
                },
            },
        }
    }


def _synthesized(template: dict[str, Any]) -> dict[str, Any]:
    """The template with the blue/green service that names the rule as its production listener rule."""
    synthesized = copy.deepcopy(template)
    synthesized["Resources"]["Service9571FDD8"] = {
        "Type": "AWS::ECS::Service",
        "Properties": {
            "DeploymentConfiguration": {"Strategy": "BLUE_GREEN"},
            "LoadBalancers": [
                {
                    "AdvancedConfiguration": {
                        "AlternateTargetGroupArn": {"Ref": "ServiceAlternateTargets451D1BD2"},
                        "ProductionListenerRule": {"Ref": RULE},
                    },
                    "TargetGroupArn": {"Ref": "ServiceTargets2BD47FC6"},
                }
            ],
        },
    }
    return synthesized


def _assembly(directory: Path, template: dict[str, Any]) -> Path:
    """A cloud assembly as `cdk synth` writes it, holding the one stack."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{STACK}.template.json").write_text(json.dumps(template))
    manifest = {
        "version": "48.0.0",
        "artifacts": {
            STACK: {
                "type": "aws:cloudformation:stack",
                "environment": "aws://unknown-account/us-east-1",
                "properties": {"templateFile": f"{STACK}.template.json"},
            }
        },
    }
    (directory / "manifest.json").write_text(json.dumps(manifest))
    return directory


def _deploy(aws: AwsEmulator, template: dict[str, Any], account: Any = None) -> None:
    cloudformation = account("cloudformation") if account else aws.client("cloudformation")
    cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(template))


def _with_paths(template: dict[str, Any], *paths: str) -> dict[str, Any]:
    changed = copy.deepcopy(template)
    changed["Resources"][RULE]["Properties"]["Conditions"][0]["PathPatternConfig"]["Values"] = list(paths)
    return changed


def _ecs_shifts_traffic_to_the_alternate_group(aws: AwsEmulator, account: Any = None) -> None:
    """What an ECS blue/green deployment leaves behind: all weight on the alternate target group."""
    cloudformation, elbv2 = (account or aws.client)("cloudformation"), (account or aws.client)("elbv2")
    physical = {
        resource["LogicalResourceId"]: resource["PhysicalResourceId"]
        for resource in cloudformation.describe_stack_resources(StackName=STACK)["StackResources"]
    }
    elbv2.modify_rule(
        RuleArn=physical[RULE],
        Actions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": physical["ServiceTargets2BD47FC6"], "Weight": 0},
                        {"TargetGroupArn": physical["ServiceAlternateTargets451D1BD2"], "Weight": 100},
                    ]
                },
            }
        ],
    )


def test_a_first_create_and_an_unchanged_rule_pass(aws: AwsEmulator, tmp_path: Path) -> None:
    """Nothing deployed yet: CloudFormation creates the rule with the template's weights. Deployed and
    unchanged: CloudFormation does not touch the rule, whatever weights ECS set."""
    template = _deployed_template()
    assembly = _assembly(tmp_path / "cdk.out", _synthesized(template))
    assert main([str(assembly)]) == 0
    _deploy(aws, template)
    _ecs_shifts_traffic_to_the_alternate_group(aws)
    assert main([str(assembly)]) == 0


def test_a_rule_change_passes_while_the_live_weights_are_the_template_s(aws: AwsEmulator, tmp_path: Path) -> None:
    """The update writes 100/0, and 100/0 is what the load balancer has: no traffic moves."""
    template = _deployed_template()
    _deploy(aws, template)
    assembly = _assembly(tmp_path / "cdk.out", _synthesized(_with_paths(template, "/api/*", "/healthz*")))
    assert main([str(assembly)]) == 0


def test_a_rule_change_after_ecs_moved_the_traffic_is_refused_unless_allowed(
    aws: AwsEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ECS owns the production listener rule's weights after a blue/green deployment; CloudFormation would
    set the template's 100/0 back and send every request to the group without tasks (aws/aws-cdk#36649).
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html"""
    template = _deployed_template()
    _deploy(aws, template)
    _ecs_shifts_traffic_to_the_alternate_group(aws)
    assembly = _assembly(tmp_path / "cdk.out", _synthesized(_with_paths(template, "/api/*", "/healthz*")))
    assert main([str(assembly)]) == 1
    message = capsys.readouterr().err
    assert f"{STACK}: this deploy updates {RULE}, the production listener rule" in message
    assert "'ServiceTargets2BD47FC6': 0, 'ServiceAlternateTargets451D1BD2': 100" in message
    assert f"{OVERRIDE}=1" in message
    monkeypatch.setenv(OVERRIDE, "1")
    assert main([str(assembly)]) == 0


def test_the_guard_finds_the_production_rule_in_the_synthesized_prod_stack(prod: Synthesized) -> None:
    """prod runs BLUE_GREEN: its service names exactly one production listener rule, the one guarded."""
    assert production_listener_rules(prod.template.to_json()) == [RULE]


def test_a_stage_of_another_account_is_read_through_the_role_given(aws: AwsEmulator, tmp_path: Path) -> None:
    """A pipeline stage in another account: the guard assumes that account's CDK lookup role (`{region}` filled
    in) and judges the stack there; with its own credentials it would find no such stack and let it pass.
    https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html"""
    import boto3

    role = "arn:aws:iam::111111111111:role/cdk-hnb659fds-lookup-role-111111111111-{region}"
    credentials = aws.client("sts").assume_role(RoleArn=role.format(region="us-east-1"), RoleSessionName="deploy")[
        "Credentials"
    ]

    def other_account(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=aws.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )

    template = _deployed_template()
    _deploy(aws, template, other_account)
    _ecs_shifts_traffic_to_the_alternate_group(aws, other_account)
    assembly = _assembly(tmp_path / "cdk.out", _synthesized(_with_paths(template, "/api/*", "/healthz*")))
    assert main([str(assembly)]) == 0  # the caller's own account has no such stack
    assert main([str(assembly), "--role-arn", role]) == 1
