"""app.py: the CDK entry point's command line, as `make synth` and the CDK CLI use it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from aws_cdk import App, Stage

from app import _cli_context
from infra.backup import BackupCopyStack
from infra.config import PipelineSettings
from infra.context import load_config
from infra.edge_guard import EdgeGuardStack
from infra.pipeline import PIPELINE_STACK, stage_configs
from tests.infra.test_database import SECRET_IDS
from tests.synthesis import PIPELINE_CONTEXT, Synthesized

REPO = Path(__file__).resolve().parents[1]


def test_context_arguments_override_cdk_json() -> None:
    context = _cli_context(["-c", "environment=prod", "--context", "emailAddress=ops@example.com"])
    assert context["environment"] == "prod"
    assert context["emailAddress"] == "ops@example.com"
    assert context["@aws-cdk/core:checkSecretUsage"] is True  # cdk.json's feature flags come along


def test_a_wrong_setting_fails_synth_naming_the_setting_and_what_is_allowed(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "app.py", "-c", "environment=qa"],
        cwd=REPO,
        env={
            "CDK_OUTDIR": str(tmp_path),
            "PATH": "/usr/bin:/bin",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: invalid setting environment='qa': allowed is one of dev, staging, prod (or 'production')"
    )


def _stack_names(assembly: Path) -> set[str]:
    """The CloudFormation stack name of every stack in a cloud assembly (its manifest's stackName)."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    return {
        artifact["properties"].get("stackName", name)
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }


def test_the_pipeline_deploys_the_stacks_make_deploy_creates_under_the_same_names(pipeline: Synthesized) -> None:
    """CloudFormation identifies a stack by its name in its account and region: a stage that named the copy
    stack `Prod-TapStack-prod-backup-us-west-2` would create a second key and locked vault instead of updating
    `make deploy`'s. Each stage's stacks carry exactly the names `make deploy` gives them (Config.stack_names),
    and the stateful resources whose names CDK takes from the construct path (the database secret's logical
    ID, the WAF log groups) are named from the stack down, not from the pipeline.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-using-console-create-stack-parameters.html"""
    staging, prod = stage_configs(PipelineSettings(), PIPELINE_CONTEXT, "us-east-1")
    for stage, config in (("Staging", staging), ("Prod", prod)):
        assembly = pipeline.template_path.parent / f"assembly-{PIPELINE_STACK}-{stage}"
        assert _stack_names(assembly) == set(config.stack_names.values())
        (main,) = (
            json.loads(path.read_text())["Resources"]
            for path in assembly.glob("*.template.json")
            if "backup" not in path.name
        )
        assert SECRET_IDS[config.environment] in main
        waf_log_groups = {
            resource["Properties"]["LogGroupName"]
            for resource in main.values()
            if resource["Type"] == "AWS::Logs::LogGroup"
            and resource["Properties"].get("LogGroupName", "").startswith("aws-waf-logs-")
        }
        assert waf_log_groups == {
            f"aws-waf-logs-{config.stack_name}-Edge-Waf",
            f"aws-waf-logs-{config.stack_name}-Api-Waf",
        }
    assert "backup_copy" in prod.stack_names  # the stack this test is about


def test_make_deploy_names_every_stack_as_config_stack_names(abroad: Synthesized) -> None:
    """The CLI's synth (what `make deploy` deploys) outside us-east-1: the regional stack, its us-east-1
    companions and the backup copy stack, each under the name the pipeline's stages use too."""
    config = load_config("prod", region="eu-central-1")
    assert (
        _stack_names(abroad.template_path.parent)
        == set(config.stack_names.values())
        == {
            "TapStack-prod",
            "TapStack-prod-edge",
            "TapStack-prod-edge-alarms",
            "TapStack-prod-backup-eu-west-1",
        }
    )


def test_a_companion_stack_inside_a_stage_keeps_its_own_name() -> None:
    """Inside a Stage CDK names a stack `<stage>-<id>` unless it is given a name: the us-east-1 companion and
    the copy stack of an eu-central-1 shop, built as the pipeline's Prod stage builds them."""
    config = load_config("prod", region="eu-central-1")
    names = config.stack_names
    stage = Stage(App(), "Prod")
    edge = EdgeGuardStack(stage, names["edge"], stack_name=names["edge"], config=config)
    copy = BackupCopyStack(stage, names["backup_copy"], stack_name=names["backup_copy"], config=config)
    assert (edge.stack_name, copy.stack_name) == ("TapStack-prod-edge", "TapStack-prod-backup-eu-west-1")
