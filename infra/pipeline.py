"""The delivery pipeline (CDK Pipelines, CodePipeline V2): source, synth with every test, staging, a
check that the staging shop answers, a manual approval, prod. It updates itself first (self-mutation).

The stages deploy the same stacks as `make deploy` (`build`, given by app.py) with the staging and prod
profiles. Assets are published once, in the pipeline's Assets stage: the storefront image is built there
from storefront/ and both stages reference that one image by its asset hash, so prod runs the digest
staging was checked with.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Mapping
from pathlib import Path

from aws_cdk import App, CfnElement, CfnOutput, Duration, Environment, RemovalPolicy, Stack, Stage, Token, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from infra.cfn import cfn_resource
from infra.compliance import acknowledge
from infra.config import Config, PipelineSettings
from infra.context import load_config, overrides_from
from infra.keys import Keys
from infra.log_storage import AccessLogBucket, EncryptedLogGroup, retained_except_on_create

REPO = Path(__file__).resolve().parents[1]
LISTENER_RULE_OVERRIDE = "ALLOW_LISTENER_RULE_UPDATE"
# The boto3 that uv.lock pins, for the listener rule guard's build.
BOTO3_VERSION = re.search(r'name = "boto3"\nversion = "([^"]+)"', (REPO / "uv.lock").read_text()).group(1)  # type: ignore[union-attr]
PIPELINE_STACK = "TapStack-pipeline"
# The CLI that self-mutation and asset publishing install: the one package.json pins for `make deploy`.
CDK_CLI_VERSION: str = json.loads((REPO / "package.json").read_text())["devDependencies"]["aws-cdk"]
# .ci/run and the storefront's browser test expect Debian (apt-get, Debian's chromium); Node runs the
# CDK CLI and jsii, and Debian 12's python3 is the 3.11 that pyproject.toml requires.
SYNTH_IMAGE = "public.ecr.aws/docker/library/node:22-bookworm"
# The synth build runs the whole suite (.ci/run): two pytest workers each synthesizing profiles (a prod synth's
# largest process peaks at 0.6 GB, measured, beside its Python process), mypy over aws_cdk's stubs, an embedded
# PostgreSQL and Chromium, at once. MEDIUM (4 vCPUs, 7 GB) holds that with room; SMALL (2 vCPUs, 3 GB) has
# neither the memory nor a core for mypy beside the two workers.
# https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-compute-types.html
SYNTH_COMPUTE = codebuild.ComputeType.MEDIUM
# The storefront image is linux/arm64 (Graviton tasks): it is built on an ARM build host, no emulation.
ASSET_IMAGE = codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0

BuildStacks = Callable[[Construct, Config], Stack]


def stage_configs(settings: PipelineSettings, context: Mapping[str, object], region: str) -> tuple[Config, Config]:
    """The staging and prod Configs the pipeline deploys: each profile with the same `-c` overrides."""
    overrides = {
        k: v
        for k, v in overrides_from(context).items()
        if k not in ("environment", "region") and not k.startswith("pipeline.")
    }
    return (
        load_config(
            "staging", region=region, account=settings.staging_account or settings.account, overrides=overrides
        ),
        load_config("prod", region=region, account=settings.prod_account or settings.account, overrides=overrides),
    )


def synth_arguments(context: Mapping[str, object]) -> list[str]:
    """The `-c key=value` arguments that make the pipeline's own synth build this same pipeline."""

    def text(value: object) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, list | tuple):
            return ",".join(map(str, value))
        return str(value)

    overrides = {k: v for k, v in overrides_from(context).items() if k != "environment"}
    return [f"-c {shlex.quote(f'{key}={text(value)}')}" for key, value in sorted(overrides.items())]


def add_pipeline(app: App, config: Config, *, build: BuildStacks) -> PipelineStack:
    """The TapStack-pipeline stack of this app, its own synth replaying this synth's settings."""
    context = app.node.get_all_context()
    staging, prod = stage_configs(config.pipeline, context, config.region)
    return PipelineStack(
        app,
        PIPELINE_STACK,
        settings=config.pipeline,
        staging=staging,
        prod=prod,
        build=build,
        synth_command=" ".join(["node_modules/.bin/cdk synth --no-notices", *synth_arguments(context)]),
    )


class DeliveryStage(Stage):
    """One environment as the pipeline deploys it: the stacks `make deploy` would create for its Config."""

    def __init__(self, scope: Construct, id: str, *, config: Config, build: BuildStacks) -> None:
        super().__init__(scope, id, env=Environment(account=config.account, region=config.region))
        self.stack = build(self, config)

    def output(self, name: str) -> CfnOutput:
        output = self.stack.node.find_child(name)
        assert isinstance(output, CfnOutput), name
        return output


class PipelineStack(Stack):
    """The pipeline and what it owns: a KMS key for artifacts and build logs, the artifact bucket, the
    build log group. Synthesized only when `pipeline.connection_arn` and `pipeline.repository` are set."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: PipelineSettings,
        staging: Config,
        prod: Config,
        build: BuildStacks,
        synth_command: str,
    ) -> None:
        super().__init__(
            scope,
            id,
            env=Environment(account=settings.home_account, region=staging.region),
            description="TapStack delivery pipeline: source, synth and tests, staging, check, approval, prod",
        )
        key = Keys(self, "Keys", removal_policy=settings.removal_policy).key
        access_logs = AccessLogBucket(
            self,
            "ArtifactAccessLogs",
            expiration_days=settings.artifact_days,
            noncurrent_version_days=settings.artifact_days,
            removal_policy=settings.removal_policy,
        )
        artifacts = s3.Bucket(
            self,
            "Artifacts",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            versioned=True,
            server_access_logs_bucket=access_logs,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(settings.artifact_days),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=settings.removal_policy,
        )
        for rule in ("PCI.DSS.321-S3BucketReplicationEnabled", "NIST.800.53.R5-S3BucketReplicationEnabled"):
            acknowledge(
                artifacts,
                rule,
                "Pipeline artifacts are rebuilt from the repository by the next run and expire in days; a "
                "replica would copy throwaway build output.",
            )
        self.log_group = EncryptedLogGroup(
            self, "BuildLogs", key=key, retention=settings.log_retention, removal_policy=settings.removal_policy
        )
        logging = codebuild.LoggingOptions(cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.log_group))

        self.cross_account_keys = settings.cross_account
        self._guard_stack_arns: list[str] = []
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_type=codepipeline.PipelineType.V2,
            self_mutation=True,
            artifact_bucket=artifacts,
            cross_account_keys=self.cross_account_keys,
            cli_version=CDK_CLI_VERSION,
            # One publishing job for all assets: the image is built once and pushed to each stage's registry.
            publish_assets_in_parallel=False,
            code_build_defaults=pipelines.CodeBuildOptions(logging=logging),
            asset_publishing_code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=ASSET_IMAGE)
            ),
            synth=self._synth_step(settings, synth_command),
        )

        staging_stage = DeliveryStage(self, "Staging", config=staging, build=build)
        self.pipeline.add_stage(
            staging_stage,
            pre=self._listener_rule_guard(staging_stage, settings),
            post=[self._staging_check(staging_stage)],
        )
        prod_stage = DeliveryStage(self, "Prod", config=prod, build=build)
        approval = pipelines.ManualApprovalStep(
            "PromoteToProd",
            comment="Staging passed its checks with this commit's image; approve to release it to prod.",
        )
        prod_guard = self._listener_rule_guard(prod_stage, settings)
        for step in prod_guard:
            step.add_step_dependency(approval)  # judged when prod deploys, not when the approval was asked
        self.pipeline.add_stage(prod_stage, pre=[approval, *prod_guard])
        self.pipeline.build_pipeline()
        # The guard's override: `aws codepipeline start-pipeline-execution --name <pipeline> --variables
        # name=ALLOW_LISTENER_RULE_UPDATE,value=1`. L1 override: CDK Pipelines' CodePipeline has no variables.
        # https://docs.aws.amazon.com/codepipeline/latest/userguide/reference-variables.html#reference-variables-levels
        cfn_resource(self.pipeline.pipeline).add_property_override(
            "Variables",
            [
                {
                    "Name": LISTENER_RULE_OVERRIDE,
                    "DefaultValue": "0",
                    "Description": "1: deploy a change to a blue/green service's production listener rule anyway",
                }
            ],
        )
        for support in self.pipeline.pipeline.cross_region_support.values():
            # CDK names each region's replication bucket (the pipeline must know it at synth) and retains it:
            # deleted instead when its first create rolls back, so that a retry can create it again.
            cfn_resource(support.replication_bucket).apply_removal_policy(
                retained_except_on_create(RemovalPolicy.RETAIN)
            )
        self._acknowledge_pipeline_findings(artifacts)
        pipeline = self.pipeline.pipeline
        # The GetAtt of the role already orders the two (cfn-lint W3005); the policy must still come first.
        policy = pipeline.role.node.find_child("DefaultPolicy")
        cfn_resource(pipeline).add_override("DependsOn", [self._logical_id(policy)])
        # CDK Pipelines writes the deploy actions' role ARNs as Fn::Join; the same string as Fn::Sub.
        cfn_resource(pipeline).add_metadata("cfn-lint", {"config": {"ignore_checks": ["E3703"]}})

    @staticmethod
    def _synth_step(settings: PipelineSettings, synth_command: str) -> pipelines.ShellStep:
        assert settings.repository is not None and settings.connection_arn is not None
        source = pipelines.CodePipelineSource.connection(
            settings.repository, settings.branch, connection_arn=settings.connection_arn, trigger_on_push=True
        )
        return pipelines.CodeBuildStep(
            "Synth",
            input=source,
            build_environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.from_docker_registry(SYNTH_IMAGE), compute_type=SYNTH_COMPUTE
            ),
            # The image's own prerequisite (README: Python 3.11 with venv); the repo installs the rest.
            install_commands=[
                "apt-get update -qq",
                "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv",
            ],
            commands=[
                # Exactly what CI runs: install from the repo's files, then the README's `make test`.
                "bash .ci/run",
                "make cdk-cli",
                synth_command,
            ],
            primary_output_directory="cdk.out",
        )

    def _listener_rule_guard(self, stage: DeliveryStage, settings: PipelineSettings) -> list[pipelines.Step]:
        """Before a stage deploys: ops/listener_rule_guard.py on the stage's stacks, as `make deploy` runs it.

        A stage in the pipeline's account is read with the step's own role; a stage in another account
        through that account's CDK lookup role (ReadOnlyAccess), which `cdk bootstrap --trust <pipeline
        account>` lets the pipeline's account assume, as it does the deploy role.
        https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html
        """
        synth = self.pipeline.synth
        assert isinstance(synth, pipelines.ShellStep) and synth.primary_output is not None
        (source,) = (location.file_set for location in synth.inputs if location.directory == ".")
        stacks = [s for s in stage.node.children if isinstance(s, Stack)]
        command = f"python3 -m ops.listener_rule_guard cdk.out/assembly-{PIPELINE_STACK}-{stage.stage_name}"
        stage_account = stage.stack.account
        if not Token.is_unresolved(stage_account) and stage_account != settings.home_account:
            lookup_role = f"cdk-hnb659fds-lookup-role-{stage_account}"
            command += f" --role-arn 'arn:{self.partition}:iam::{stage_account}:role/{lookup_role}-{{region}}'"
            permissions = [
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"],
                    resources=sorted(
                        {f"arn:{self.partition}:iam::{stage_account}:role/{lookup_role}-{s.region}" for s in stacks}
                    ),
                )
            ]
        else:
            account = "<AWS::AccountId>" if Token.is_unresolved(self.account) else self.account
            self._guard_stack_arns += [
                f"arn:{self.partition}:cloudformation:{s.region}:{account}:stack/{s.stack_name}/*" for s in stacks
            ]
            permissions = [
                iam.PolicyStatement(
                    actions=["cloudformation:GetTemplate", "cloudformation:DescribeStackResources"],
                    resources=[
                        self.format_arn(
                            service="cloudformation",
                            region=s.region,
                            resource="stack",
                            resource_name=f"{s.stack_name}/*",
                        )
                        for s in stacks
                    ],
                ),
                # Describe* of Elastic Load Balancing has no resource-level permissions.
                iam.PolicyStatement(actions=["elasticloadbalancing:DescribeRules"], resources=["*"]),
            ]
        guard = pipelines.CodeBuildStep(
            "GuardListenerRule",
            input=source,
            additional_inputs={"cdk.out": synth.primary_output},
            # boto3 as uv.lock pins it; the guard needs nothing else.
            install_commands=[f"pip3 install --quiet boto3=={BOTO3_VERSION}"],
            commands=[command],
            env={LISTENER_RULE_OVERRIDE: f"#{{variables.{LISTENER_RULE_OVERRIDE}}}"},
            role_policy_statements=permissions,
        )
        return [guard]

    @staticmethod
    def _staging_check(stage: DeliveryStage) -> pipelines.CodeBuildStep:
        """Fails the pipeline when the staging shop does not answer through both front doors."""
        curl = "curl --fail --silent --show-error --max-time 15 --retry 8 --retry-delay 15 --retry-all-errors"
        has_items = "python3 -c 'import json, sys; assert \"items\" in json.load(sys.stdin)'"
        return pipelines.CodeBuildStep(
            "CheckStaging",
            env_from_cfn_outputs={
                "SHOP_URL": stage.output("CloudFrontURL"),
                "API_URL": stage.output("APIGatewayURL"),
                "API_KEY_ID": stage.output("APIKey"),
            },
            # Only /api/* reaches the service through CloudFront (everything else is the site bucket): the
            # service's own document shows it answers there, the catalog read that the database does.
            commands=[
                f'{curl} "${{SHOP_URL%/}}/api/openapi.json" | grep -q \'"openapi"\'',
                f'{curl} "${{SHOP_URL%/}}/api/products?limit=1" | {has_items}',
                'API_KEY=$(aws apigateway get-api-key --api-key "$API_KEY_ID" --include-value '
                "--query value --output text)",
                f'{curl} -H "x-api-key: $API_KEY" "${{API_URL%/}}/api/products?limit=1" | {has_items}',
            ],
            role_policy_statements=[
                # Reading the partner API key's value; API keys have no narrower resource than the id.
                iam.PolicyStatement(
                    actions=["apigateway:GET"],
                    resources=[f"arn:{Stack.of(stage.stack).partition}:apigateway:{stage.stack.region}::/apikeys/*"],
                )
            ],
        )

    def _logical_id(self, construct: IConstruct) -> str:
        resource = construct.node.default_child
        assert isinstance(resource, CfnElement)
        return str(self.resolve(self.get_logical_id(resource)))

    def _acknowledge_replication_buckets(self) -> None:
        """CodePipeline's support stack in each other region a stage deploys to (the us-east-1 companions,
        prod's backup copy region) holds a bucket CodePipeline replicates artifacts into; CDK makes it."""
        for support in self.pipeline.pipeline.cross_region_support.values():
            for rule, reason in (
                ("AwsSolutions-S1", "holds copies of pipeline artifacts for minutes; the pipeline's own bucket logs"),
                ("PCI.DSS.321-S3BucketLoggingEnabled", "artifact copies only; the pipeline's own bucket logs access"),
                ("NIST.800.53.R5-S3BucketLoggingEnabled", "artifact copies only; the pipeline's bucket logs access"),
                ("PCI.DSS.321-S3BucketReplicationEnabled", "it is itself the replica of the pipeline's artifacts"),
                ("NIST.800.53.R5-S3BucketReplicationEnabled", "it is itself the replica of the pipeline's artifacts"),
                ("PCI.DSS.321-S3BucketVersioningEnabled", "each artifact is written once under a unique key"),
                ("NIST.800.53.R5-S3BucketVersioningEnabled", "each artifact is written once under a unique key"),
            ):
                acknowledge(
                    support.replication_bucket,
                    rule,
                    f"CodePipeline's cross-region replication bucket, made by CDK with no knob to shape it: {reason}.",
                )
            # The pipeline role writes artifacts into that bucket, named by CDK at synth.
            bucket_name = self.resolve(support.replication_bucket.bucket_name)
            acknowledge(
                self.pipeline,
                f"AwsSolutions-IAM5[Resource::arn:{self.partition}:s3:::{bucket_name}/*]",
                "Objects of CodePipeline's replication bucket in the stage's region: the artifacts it copies there.",
            )

    def _acknowledge_pipeline_findings(self, artifacts: s3.IBucket) -> None:
        """Findings on the roles and projects CDK Pipelines generates, which it gives no option to shape.

        The roles' policies are the grants CDK Pipelines writes for each action: read/write on the artifact
        bucket and its key, the project's own log streams and reports, assuming the bootstrap roles.
        """
        arn = f"arn:{self.partition}"
        # cdk-nag names the account as the template does: a literal once the pipeline's account is known.
        account = "<AWS::AccountId>" if Token.is_unresolved(self.account) else self.account
        grants = {
            "Action::s3:GetObject*": "reads the pipeline's artifacts (GetObject, GetObjectVersion)",
            "Action::s3:List*": "lists the pipeline's artifact bucket",
            "Action::s3:GetBucket*": "reads the artifact bucket's location and settings",
            "Action::s3:DeleteObject*": "replaces artifacts in the pipeline's bucket",
            "Action::s3:Abort*": "aborts its own incomplete artifact uploads",
            "Action::kms:GenerateDataKey*": "encrypts artifacts with the pipeline's key",
            "Action::kms:ReEncrypt*": "re-encrypts artifacts under the pipeline's key",
            f"Resource::<{self._logical_id(artifacts)}.Arn>/*": "objects of the artifact bucket only",
            f"Resource::{arn}:logs:{self.region}:{account}:log-group:/aws/codebuild/*": (
                "the asset projects' own CodeBuild log groups"
            ),
            f"Resource::{arn}:codebuild:{self.region}:{account}:report-group/*": (
                "the asset projects' own CodeBuild report groups"
            ),
            f"Resource::arn:*:iam::{account}:role/*": (
                "self-mutation and asset publishing assume the CDK bootstrap roles (cdk-*-role) by name"
            ),
            "Resource::*": (
                "self-mutation's cloudformation:DescribeStacks and s3:ListBucket, and the asset roles' "
                "codebuild:StartBuild/StopBuild/BatchGetBuilds, which CDK Pipelines writes on *"
            ),
        }
        for resource in self.pipeline.node.find_all():
            if isinstance(resource, codebuild.Project):
                project = f"<{self._logical_id(resource)}>"
                grants[f"Resource::{arn}:logs:{self.region}:{account}:log-group:/aws/codebuild/{project}:*"] = (
                    "the project's own CodeBuild log group (its logs go to the encrypted BuildLogs group)"
                )
                grants[f"Resource::{arn}:codebuild:{self.region}:{account}:report-group/{project}-*"] = (
                    "the project's own CodeBuild report groups"
                )
        for finding, scope in grants.items():
            acknowledge(
                self.pipeline,
                f"AwsSolutions-IAM5[{finding}]",
                f"Written by CDK Pipelines for its actions, with no option to narrow it: {scope}.",
            )
        acknowledge(
            self.pipeline.synth_project,
            "AwsSolutions-CB5",
            f"{SYNTH_IMAGE} (Debian 12, Node 22, Python 3.11): .ci/run and the browser test need Debian's "
            "apt-get and chromium, which no CodeBuild-provided image (Ubuntu, Amazon Linux) has.",
        )
        (check,) = (
            c for c in self.pipeline.node.find_all() if isinstance(c, codebuild.Project) and c.node.id == "CheckStaging"
        )
        acknowledge(
            check,
            f"AwsSolutions-IAM5[Resource::{arn}:apigateway:{self.region}::/apikeys/*]",
            "The check reads the staging API key's value; its id exists only after the staging deploy, and "
            "API keys have no narrower resource than /apikeys/<id>.",
        )
        for stack_arn in self._guard_stack_arns:
            acknowledge(
                self.pipeline,
                f"AwsSolutions-IAM5[Resource::{stack_arn}]",
                "The listener rule guard reads the template and resources of this one stage stack; a stack's ARN "
                "ends in an id CloudFormation assigns at its creation.",
            )
        for rule in ("PCI.DSS.321-IAMNoInlinePolicy", "NIST.800.53.R5-IAMNoInlinePolicy"):
            acknowledge(
                self.pipeline,
                rule,
                "The roles' policies are CDK Pipelines' grants to this pipeline's bucket, key, projects and the "
                "CDK bootstrap roles; an inline policy cannot be attached to any other principal.",
            )
        self._acknowledge_replication_buckets()
        acknowledge(
            self.pipeline,
            "PCI.DSS.321-CodeBuildProjectSourceRepoUrl",
            "No project has a repository source: each reads CodePipeline artifacts, and the repository is "
            "reached only through the CodeConnections connection (an AWS-managed app, no stored credentials).",
        )
