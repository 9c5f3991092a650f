"""infra/pipeline.py: the delivery pipeline's stages, steps, keys, logs and gates (synthesized once)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, CfnOutput, CfnWaitConditionHandle, Stack, Stage
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.compliance import add_compliance_checks
from infra.config import Config, ConfigError
from infra.context import load_config
from infra.pipeline import CDK_CLI_VERSION, PIPELINE_STACK, PipelineStack
from tests.synthesis import PIPELINE_CONTEXT, Synthesized, cdk_json_context, cfn_lint, nag_findings

REPO = Path(__file__).resolve().parents[2]


def _stages(pipeline: Synthesized) -> list[dict[str, Any]]:
    (resource,) = pipeline.of_type("AWS::CodePipeline::Pipeline").values()
    stages: list[dict[str, Any]] = resource["Properties"]["Stages"]
    return stages


def _actions(pipeline: Synthesized, stage: str) -> list[dict[str, Any]]:
    (found,) = (s for s in _stages(pipeline) if s["Name"] == stage)
    return sorted(found["Actions"], key=lambda action: action["RunOrder"])


def _buildspec(pipeline: Synthesized, project_prefix: str) -> dict[str, Any]:
    (project,) = (v for k, v in pipeline.of_type("AWS::CodeBuild::Project").items() if k.startswith(project_prefix))
    spec: dict[str, Any] = json.loads(project["Properties"]["Source"]["BuildSpec"])
    return spec


def _stage_template(pipeline: Synthesized, stage: str) -> dict[str, Any]:
    # The stage's TapStack, not its companions (prod's backup copy stack in the second region).
    (path,) = (
        path
        for path in (pipeline.template_path.parent / f"assembly-{PIPELINE_STACK}-{stage}").glob("*.template.json")
        if "backup" not in path.name and "edge" not in path.name
    )
    template: dict[str, Any] = json.loads(path.read_text())
    return template


def test_stages_run_source_synth_self_update_assets_staging_then_prod(pipeline: Synthesized) -> None:
    """CodePipeline runs stages in order: the source, the synth with every test, the pipeline updating
    itself, the assets published once, staging (deploy, then the check), prod."""
    assert [stage["Name"] for stage in _stages(pipeline)] == [
        "Source",
        "Build",
        "UpdatePipeline",
        "Assets",
        "Staging",
        "Prod",
    ]
    assert [a["ActionTypeId"]["Provider"] for a in _actions(pipeline, "Source")] == ["CodeStarSourceConnection"]
    assert [a["Name"] for a in _actions(pipeline, "Staging")] == [
        "GuardListenerRule",
        "TapStack-staging.Prepare",
        "TapStack-staging.Deploy",
        "CheckStaging",
    ]


def test_each_stage_runs_the_listener_rule_guard_right_before_its_deploy(pipeline: Synthesized) -> None:
    """ECS owns a blue/green service's production listener rule weights; a stack update that changes the rule
    writes the template's back (aws/aws-cdk#36649). Before each stage's first change set, after prod's approval,
    ops/listener_rule_guard.py reads that stage's stacks from the synth's cloud assembly and the deployed ones;
    the pipeline variable ALLOW_LISTENER_RULE_UPDATE (default 0, set at start-pipeline-execution) overrides it.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html
    https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-variables.html"""
    (resource,) = pipeline.of_type("AWS::CodePipeline::Pipeline").values()
    assert resource["Properties"]["Variables"] == [
        {
            "Name": "ALLOW_LISTENER_RULE_UPDATE",
            "DefaultValue": "0",
            "Description": "1: deploy a change to a blue/green service's production listener rule anyway",
        }
    ]
    for stage in ("Staging", "Prod"):
        actions = _actions(pipeline, stage)
        (guard,) = (a for a in actions if a["Name"] == "GuardListenerRule")
        first_deploy = min(a["RunOrder"] for a in actions if a["ActionTypeId"]["Category"] == "Deploy")
        assert guard["RunOrder"] < first_deploy
        assert json.loads(guard["Configuration"]["EnvironmentVariables"]) == [
            {
                "name": "ALLOW_LISTENER_RULE_UPDATE",
                "type": "PLAINTEXT",
                "value": "#{variables.ALLOW_LISTENER_RULE_UPDATE}",
            }
        ]
        spec = _buildspec(pipeline, f"Pipeline{stage}GuardListenerRule")
        assert spec["phases"]["build"]["commands"] == [
            f"python3 -m ops.listener_rule_guard cdk.out/assembly-{PIPELINE_STACK}-{stage}"
        ]


def test_the_approval_comes_before_any_prod_deploy_action(pipeline: Synthesized) -> None:
    """CodePipeline RunOrder: in the Prod stage the manual approval runs first, and no earlier stage
    touches the prod stack."""
    approval, guard, *deploys = _actions(pipeline, "Prod")
    assert approval["ActionTypeId"]["Category"] == "Approval"
    assert guard["Name"] == "GuardListenerRule" and guard["RunOrder"] > approval["RunOrder"]
    assert deploys and all(a["ActionTypeId"]["Category"] == "Deploy" for a in deploys)
    assert all(a["RunOrder"] > approval["RunOrder"] for a in deploys)
    earlier = [a for s in _stages(pipeline) if s["Name"] != "Prod" for a in s["Actions"]]
    assert not any("TapStack-prod" in json.dumps(a) for a in earlier)


def test_the_source_is_the_configured_connection_repository_and_branch(pipeline: Synthesized) -> None:
    """CodeStarSourceConnection: ConnectionArn, FullRepositoryId owner/name, BranchName (default main)."""
    (source,) = _actions(pipeline, "Source")
    configuration = source["Configuration"]
    assert configuration["ConnectionArn"] == PIPELINE_CONTEXT["pipeline.connection_arn"]
    assert configuration["FullRepositoryId"] == "acme/shop-platform"
    assert configuration["BranchName"] == "main"


def test_synth_installs_like_ci_runs_make_test_then_synthesizes_the_same_pipeline(pipeline: Synthesized) -> None:
    """The synth step runs .ci/run (install from the repo's files, then `make test`), installs the pinned
    CLI and synthesizes with this synth's settings, so self-mutation keeps the same pipeline; CDK
    Pipelines takes cdk.out as the cloud assembly."""
    spec = _buildspec(pipeline, "PipelineBuildSynth")
    context = " ".join(f"-c {key}={value}" for key, value in sorted(PIPELINE_CONTEXT.items()))
    assert spec["phases"]["build"]["commands"] == [
        "bash .ci/run",
        "make cdk-cli",
        f"node_modules/.bin/cdk synth --no-notices {context}",
    ]
    assert spec["artifacts"]["base-directory"] == "cdk.out"
    ci_run = [line for line in (REPO / ".ci" / "run").read_text().splitlines() if line and not line.startswith("#")]
    assert ci_run[-1] == "make test"


def test_the_synth_build_that_runs_the_suite_has_four_vcpus_and_7_gb(pipeline: Synthesized) -> None:
    """CodeBuild's Linux compute types: BUILD_GENERAL1_SMALL has 2 vCPUs and 3 GB, MEDIUM 4 vCPUs and 7 GB.
    The suite runs two test workers (each a Python and a Node process synthesizing profiles), mypy, an
    embedded PostgreSQL and Chromium at once: MEDIUM. The image is the Docker official node image from
    ECR Public's mirror, which has no anonymous pull rate limit.
    https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-compute-types.html"""
    (project,) = (
        v for k, v in pipeline.of_type("AWS::CodeBuild::Project").items() if k.startswith("PipelineBuildSynth")
    )
    environment = project["Properties"]["Environment"]
    assert (environment["Type"], environment["ComputeType"]) == ("LINUX_CONTAINER", "BUILD_GENERAL1_MEDIUM")
    assert environment["Image"].startswith("public.ecr.aws/docker/library/")


def test_pipeline_is_v2_and_updates_itself_with_the_pinned_cli(pipeline: Synthesized) -> None:
    """CodePipeline PipelineType V2; self-mutation deploys the pipeline stack with package.json's CLI."""
    (resource,) = pipeline.of_type("AWS::CodePipeline::Pipeline").values()
    assert resource["Properties"]["PipelineType"] == "V2"
    (mutate,) = _actions(pipeline, "UpdatePipeline")
    assert mutate["Name"] == "SelfMutate"
    spec = _buildspec(pipeline, "PipelineUpdatePipelineSelfMutation")
    assert f"npm install -g aws-cdk@{CDK_CLI_VERSION}" in spec["phases"]["install"]["commands"]
    assert any(f"deploy {PIPELINE_STACK}" in command for command in spec["phases"]["build"]["commands"])


def test_artifacts_are_encrypted_with_the_pipelines_rotating_key(pipeline: Synthesized) -> None:
    """CodePipeline ArtifactStore EncryptionKey and S3 SSE-KMS with the same customer managed key,
    with yearly rotation (PCI DSS 3.6.4)."""
    (resource,) = pipeline.of_type("AWS::CodePipeline::Pipeline").values()
    # One store per region a stage deploys to; the pipeline's own region's is the pipeline's bucket.
    stores = {store["Region"]: store["ArtifactStore"] for store in resource["Properties"]["ArtifactStores"]}
    store = stores["us-east-1"]
    key = store["EncryptionKey"]["Id"]["Fn::GetAtt"][0]
    assert pipeline.resources[key]["Properties"]["EnableKeyRotation"] is True
    bucket = pipeline.resources[store["Location"]["Ref"]]["Properties"]
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0] == key


def test_every_build_logs_to_one_encrypted_group_with_the_set_retention(pipeline: Synthesized) -> None:
    """CodeBuild LogsConfig to a CloudWatch log group with a KMS key and pipeline.log_retention_days (90)."""
    groups = {
        project["Properties"]["LogsConfig"]["CloudWatchLogs"]["GroupName"]["Ref"]
        for project in pipeline.of_type("AWS::CodeBuild::Project").values()
    }
    (group,) = groups
    properties = pipeline.resources[group]["Properties"]
    assert properties["RetentionInDays"] == 90
    assert "KmsKeyId" in properties


def test_the_image_is_built_once_and_both_stages_run_the_same_one(pipeline: Synthesized) -> None:
    """CDK Pipelines publishes each asset once (Assets stage): one cdk-assets publish of the image, and the
    staging and prod task definitions name that same image (its asset hash), so prod runs the digest
    staging was checked with."""
    assert [a["Name"] for a in _actions(pipeline, "Assets")] == ["DockerAssets", "FileAssets"]

    def image(stage: str) -> str:
        resources = _stage_template(pipeline, stage)["Resources"].values()
        # The service's and the scheduled jobs' task definitions: one image for all.
        (one,) = {
            json.dumps(r["Properties"]["ContainerDefinitions"][0]["Image"])
            for r in resources
            if r["Type"] == "AWS::ECS::TaskDefinition"
        }
        return one

    assert image("Staging") == image("Prod")
    (spec,) = pipeline.template_path.parent.glob("buildspec-*-DockerAsset.yaml")
    (publish,) = json.loads(spec.read_text())["phases"]["build"]["commands"]
    image_hash = publish.rsplit(" ", 1)[-1].strip('"').split(":")[0]
    assert image_hash in image("Prod")


def test_the_image_is_built_on_arm_so_the_graviton_tasks_can_run_it(pipeline: Synthesized) -> None:
    """The task is linux/arm64; an x86 build host would need emulation to build it."""
    (project,) = (v for k, v in pipeline.of_type("AWS::CodeBuild::Project").items() if "DockerAsset" in k)
    environment = project["Properties"]["Environment"]
    assert environment["Type"] == "ARM_CONTAINER"
    assert environment["PrivilegedMode"] is True


def test_the_staging_check_reads_the_api_catalog_and_the_partner_api_with_its_key(pipeline: Synthesized) -> None:
    """The post-deploy step fails the pipeline unless the service's OpenAPI document and a catalog read
    answer through CloudFront's /api/* behaviour (its /health would reach the site bucket) and the partner API
    answers with the API key (read with apigateway get-api-key)."""
    commands = _buildspec(pipeline, "PipelineStagingCheckStaging")["phases"]["build"]["commands"]
    text = "\n".join(commands)
    assert '"${SHOP_URL%/}/api/openapi.json"' in text and "/health" not in text
    assert '"${SHOP_URL%/}/api/products?limit=1"' in text
    assert 'aws apigateway get-api-key --api-key "$API_KEY_ID" --include-value' in text
    assert '-H "x-api-key: $API_KEY" "${API_URL%/}/api/products?limit=1"' in text
    assert all(command.startswith(("curl --fail", "API_KEY=")) for command in commands)
    check = _actions(pipeline, "Staging")[-1]
    variables = {v["name"]: v["value"] for v in json.loads(check["Configuration"]["EnvironmentVariables"])}
    assert {name: value.rsplit(".", 1)[-1] for name, value in variables.items() if name != "_PROJECT_CONFIG_HASH"} == {
        "SHOP_URL": "CloudFrontURL}",
        "API_URL": "APIGatewayURL}",
        "API_KEY_ID": "APIKey}",
    }


def test_stages_deploy_into_the_pipelines_account_without_cross_account_keys(pipeline: Synthesized) -> None:
    """CDK Pipelines cross-account deploys: with no stage account set, every deploy role is the pipeline
    account's own bootstrap role and the artifact key trusts no other account."""
    deploys = [
        a for s in ("Staging", "Prod") for a in _actions(pipeline, s) if a["ActionTypeId"]["Category"] == "Deploy"
    ]
    assert deploys
    assert all('{"Ref": "AWS::AccountId"}' in json.dumps(a["RoleArn"]) for a in deploys)
    key_policies = [k["Properties"]["KeyPolicy"] for k in pipeline.of_type("AWS::KMS::Key").values()]
    assert not any("111111111111" in json.dumps(policy) for policy in key_policies)


def _small_stage_stacks(scope: Construct, config: Config) -> Stack:
    """In place of TapStack: only the outputs the pipeline's check reads."""
    stack = Stack(scope, config.stack_name, stack_name=config.stack_name)
    CfnWaitConditionHandle(stack, "Placeholder")  # a template needs one resource
    for name in ("CloudFrontURL", "APIGatewayURL", "APIKey"):
        CfnOutput(stack, name, value=f"https://{name.lower()}.example/")
    return stack


@functools.cache
def _small_pipeline(staging_account: str | None) -> tuple[bool, dict[str, Any]]:
    """The pipeline of 123456789012 with stand-in stages, staging in `staging_account`: whether it uses
    cross-account keys, and its template's resources (synthesized once per account for this module)."""
    overrides = PIPELINE_CONTEXT | {"pipeline.account": "123456789012", "pipeline.staging_account": staging_account}
    config = load_config("dev", overrides=overrides)
    staging = load_config("staging", account=config.pipeline.staging_account or config.pipeline.account)
    prod = load_config("prod", account=config.pipeline.account)
    app = App(context=cdk_json_context())
    stack = PipelineStack(
        app,
        PIPELINE_STACK,
        settings=config.pipeline,
        staging=staging,
        prod=prod,
        build=_small_stage_stacks,
        synth_command="true",
    )
    resources: dict[str, Any] = app.synth().get_stack_by_name(PIPELINE_STACK).template["Resources"]
    return stack.cross_account_keys, resources


@pytest.mark.parametrize(
    ("staging_account", "cross_account"), [(None, False), ("123456789012", False), ("111111111111", True)]
)
def test_cross_account_keys_only_when_a_stage_account_differs(staging_account: str | None, cross_account: bool) -> None:
    """CodePipeline crossAccountKeys: needed (and `cdk bootstrap --trust` in the target account) only when
    a stage deploys into another account; then its deploy role is that account's and the key lets it in."""
    keys, resources = _small_pipeline(staging_account)
    assert keys is cross_account
    key_policies = json.dumps(
        [r["Properties"]["KeyPolicy"] for r in resources.values() if r["Type"] == "AWS::KMS::Key"]
    )
    assert ("cdk-hnb659fds-deploy-role-111111111111" in key_policies) is cross_account


@pytest.mark.parametrize("staging_account", [None, "111111111111"])
def test_the_guard_reads_a_stage_of_another_account_through_its_lookup_role(staging_account: str | None) -> None:
    """The CDK bootstrap's lookup role (ReadOnlyAccess) in the stage's account, trusted by `cdk bootstrap
    --trust <pipeline account>`: the guard assumes it there, and reads stacks directly in its own account.
    https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html"""
    _, resources = _small_pipeline(staging_account)
    (project,) = (
        v
        for k, v in resources.items()
        if k.startswith("PipelineStagingGuardListenerRule") and v["Type"] == "AWS::CodeBuild::Project"
    )
    (command,) = json.loads(project["Properties"]["Source"]["BuildSpec"])["phases"]["build"]["commands"]
    (policy,) = (
        v["Properties"]["PolicyDocument"]["Statement"]
        for k, v in resources.items()
        if k.startswith("PipelineStagingGuardListenerRuleRoleDefaultPolicy")
    )
    if staging_account is None:
        assert "--role-arn" not in command
        assert "cloudformation:GetTemplate" in json.dumps(policy) and "sts:AssumeRole" not in json.dumps(policy)
    else:
        role = "arn:aws:iam::111111111111:role/cdk-hnb659fds-lookup-role-111111111111"
        assert command.endswith(f" --role-arn '{role}-{{region}}'")
        assert {"Action": "sts:AssumeRole", "Effect": "Allow", "Resource": f"{role}-us-east-1"} in policy
        assert "cloudformation:GetTemplate" not in json.dumps(policy)


def test_a_connection_arn_of_another_service_fails_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match=r"pipeline\.connection_arn='arn:aws:s3:::bucket'.*codeconnections"):
        load_config("dev", overrides={**PIPELINE_CONTEXT, "pipeline.connection_arn": "arn:aws:s3:::bucket"})


def test_a_repository_that_is_not_owner_slash_name_fails_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match=r"pipeline\.repository='shop-platform'.*owner/name"):
        load_config("dev", overrides={**PIPELINE_CONTEXT, "pipeline.repository": "shop-platform"})


def test_a_connection_without_a_repository_fails() -> None:
    with pytest.raises(ConfigError, match=r"pipeline\.connection_arn/pipeline\.repository"):
        load_config("dev", overrides={"pipeline.connection_arn": PIPELINE_CONTEXT["pipeline.connection_arn"]})


def test_codestar_connections_arns_are_accepted() -> None:
    arn = PIPELINE_CONTEXT["pipeline.connection_arn"].replace("codeconnections", "codestar-connections")
    assert load_config("dev", overrides={**PIPELINE_CONTEXT, "pipeline.connection_arn": arn}).pipeline.enabled


def test_a_plain_synth_makes_no_pipeline(dev: Synthesized) -> None:
    """`make synth` without pipeline.* settings: the cloud assembly holds no pipeline stack."""
    assert not (dev.template_path.parent / f"{PIPELINE_STACK}.template.json").exists()
    assert not list(dev.template_path.parent.glob("assembly-*"))


def test_no_unacknowledged_cdk_nag_findings_in_the_pipeline_or_its_stages(pipeline: Synthesized) -> None:
    """AwsSolutions and PCI DSS 3.2.1 on TapStack-pipeline and the stage stacks: zero errors, zero warnings."""
    assert nag_findings(pipeline.report, "error") == []
    assert nag_findings(pipeline.report, "warning") == []


def test_validation_plugins_on_the_app_reach_stacks_inside_stages(tmp_path: Path) -> None:
    """CDK policy validation runs on nested stages' stacks too, so the stage stacks are gated like the rest."""
    app = App(outdir=str(tmp_path))
    s3.Bucket(Stack(Stage(app, "Probe"), "Inner"), "Plain")
    add_compliance_checks(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert any(
        f.startswith("AwsSolutions AwsSolutions-S10 at Probe/Inner/Plain") for f in nag_findings(report, "error")
    )


def test_cfn_lint_reports_nothing_on_the_pipeline(pipeline: Synthesized) -> None:
    """cfn-lint (CloudFormation resource specification and best practices) on TapStack-pipeline."""
    assert cfn_lint(pipeline.template_path) == ""


def test_the_pipeline_app_needs_no_lookup_so_it_synthesizes_without_credentials(pipeline: Synthesized) -> None:
    """A context lookup (availability zones of an explicit account, say) makes `cdk synth` call AWS: the
    stage stacks stay account-agnostic unless a stage account is set, so no manifest lists missing context."""
    manifests = [pipeline.template_path.parent / "manifest.json"]
    manifests += list(pipeline.template_path.parent.glob("assembly-*/manifest.json"))
    assert len(manifests) == 3
    assert all(not json.loads(path.read_text()).get("missing") for path in manifests)
