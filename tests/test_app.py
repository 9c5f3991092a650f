"""app.py: the CDK entry point's command line, as `make synth` and the CDK CLI use it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from aws_cdk import App, Stage
from aws_cdk.cx_api import CloudAssembly

from app import _cli_context, summary
from infra.backup import BackupCopyStack
from infra.config import PipelineSettings
from infra.context import load_config
from infra.edge_guard import EdgeGuardStack
from infra.pipeline import PIPELINE_STACK, stage_configs
from tapstack_cli.names import allowed_environments
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
        [sys.executable, "app.py", "-c", "environment=QA"],
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
        f"error: invalid setting environment='QA': allowed is {allowed_environments()}"
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


# jsii's banner when Node is past its end of life (jsii's checkNode), and CDK's info on deployment alarms.
NODE_BANNER = re.compile(r"!!.*(end-of-life|supported node)", re.IGNORECASE)
CIRCULAR_INFO = re.compile(r"circular dependency", re.IGNORECASE)


def test_a_cli_synth_prints_what_was_synthesized_and_nothing_a_user_cannot_act_on(abroad: Synthesized) -> None:
    """The README's `cdk synth` abroad, as a user's shell runs it: no jsii end-of-life banner (cdk.json's app
    command sets JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION for Node 20, jsii's documented switch) and
    no info about a dependency cycle that does not exist (the deployment alarms are named literally, so
    the ECS service references no alarm); what it does print names the output directory and every stack.
    https://docs.aws.amazon.com/cdk/v2/guide/ref-cli-cmd-synth.html"""
    output = abroad.output
    assert not NODE_BANNER.search(output), output
    assert not CIRCULAR_INFO.search(output), output
    assert not re.search(r"^(INFO|WARNING|ERROR) ", output, re.MULTILINE), output
    assert f"Successfully synthesized to {abroad.template_path.parent}" in output
    assert all(name in output for name in abroad.template_paths), output


def test_make_synth_names_every_stack_its_region_and_template(abroad: Synthesized) -> None:
    """`make synth` runs app.py without the CLI, which would print nothing: it prints the stacks it made,
    each with its region and template, from the cloud assembly (here the CLI's, read back)."""
    text = summary(CloudAssembly(str(abroad.template_path.parent)))
    lines = text.splitlines()
    readme = (REPO / "README.md").read_text()
    assert "\n".join(lines[1:]) in readme, "README.md shows `make synth`'s output: update its example"

    assert lines[0].startswith("Synthesized 4 stack(s) into ") and lines[0].endswith("(cdk-nag passed):")
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert rows == {
        "TapStack-prod": ["eu-central-1", "TapStack-prod.template.json"],
        "TapStack-prod-edge": ["us-east-1", "TapStack-prod-edge.template.json"],
        "TapStack-prod-edge-alarms": ["us-east-1", "TapStack-prod-edge-alarms.template.json"],
        "TapStack-prod-backup-eu-west-1": ["eu-west-1", "TapStack-prod-backup-eu-west-1.template.json"],
    }


def _missing_context(directory: Path) -> list[object]:
    """Every context lookup a cloud assembly (and its nested stage assemblies) still asks the CLI for."""
    return [
        missing
        for manifest in [directory / "manifest.json", *directory.glob("assembly-*/manifest.json")]
        for missing in json.loads(manifest.read_text()).get("missing", [])
    ]


def test_a_synth_with_the_account_known_needs_no_context_lookup(abroad: Synthesized) -> None:
    """With credentials the CLI gives the app the account, and Stack.availability_zones becomes a context
    lookup that ec2.Vpc reads to check the configured zones: synth would need AWS calls and the bootstrap's
    lookup role, and would write cdk.context.json. TapStack answers with the configured zones instead, so
    the abroad synth (account 123456789012 but no credentials, where any lookup fails the synth) asks for
    nothing. https://docs.aws.amazon.com/cdk/v2/guide/context.html"""
    manifest = json.loads((abroad.template_path.parent / "manifest.json").read_text())
    assert manifest["artifacts"]["TapStack-prod"]["environment"] == "aws://123456789012/eu-central-1"
    assert _missing_context(abroad.template_path.parent) == []


def test_make_synth_needs_no_context_lookup(dev: Synthesized) -> None:
    """`make synth` runs app.py without an account: its manifest lists no missing context, so it needs no
    AWS call. https://docs.aws.amazon.com/cdk/v2/guide/context.html"""
    assert _missing_context(dev.template_path.parent) == []


def test_the_pipeline_and_its_stages_need_no_context_lookup(pipeline: Synthesized) -> None:
    """The pipeline's synth runs in CodeBuild, whose role may not use the bootstrap's lookup role: no
    manifest of the pipeline or of its stage assemblies lists missing context (its account is known).
    https://docs.aws.amazon.com/cdk/v2/guide/context.html"""
    assert _missing_context(pipeline.template_path.parent) == []
