"""docs/deploy.md's procedure against the synthesized apps: the regions it bootstraps are the regions of
every stack a deployment creates (each profile, prod abroad, the pipeline with its stages and its
cross-region support stacks), the service-linked roles it creates are those the templates need, and the
make commands it gives exist."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from infra.config import EDGE_REGION, REGIONS
from infra.context import load_config
from tests.synthesis import Synthesized

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "docs" / "deploy.md"
# The table's columns: which profiles each one is for.
COLUMNS = {"dev": 0, "staging": 0, "prod": 1, "pipeline": 1}


def manifest_regions(directory: Path) -> set[str]:
    """The region of every stack in a cloud assembly (`environment` aws://account/region of its
    manifest), the nested assemblies of pipeline stages included."""
    manifests = [directory / "manifest.json", *directory.glob("assembly-*/manifest.json")]
    return {
        artifact["environment"].rsplit("/", 1)[1]
        for manifest in manifests
        for artifact in json.loads(manifest.read_text())["artifacts"].values()
        if artifact["type"] == "aws:cloudformation:stack"
    }


def profile_regions(environment: str, region: str) -> set[str]:
    """The regions a profile's deployment in `region` creates stacks in, by the profile's settings: its
    own, us-east-1 (CloudFront's web ACL and certificate, its alarms) and the backup copy region."""
    config = load_config(environment, region=region)
    copy = {config.backup.copy_region} if config.backup.cross_region_copy else set()
    return {region, EDGE_REGION} | copy


def bootstrap_table() -> dict[str, tuple[set[str], set[str]]]:
    """deploy.md's table: REGION -> (dev and staging's regions, prod's and the pipeline's regions)."""
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| `([a-z0-9 -]+)` \| `([a-z0-9 -]+)` \|$", DEPLOY.read_text(), re.MULTILINE)
    return {region: (set(dev.split()), set(prod.split())) for region, dev, prod in rows}


def bootstrap_commands() -> list[tuple[str, set[str]]]:
    """Every documented `cdk bootstrap`: (its account placeholder, the regions it bootstraps)."""
    text = re.sub(r"\\\n\s*", " ", DEPLOY.read_text())
    commands = []
    for line in re.findall(r"node_modules/\.bin/cdk bootstrap [^\n`]*", text):
        environments = re.findall(r"aws://([$\w]+)/([a-z0-9-]+)", line)
        assert environments, line
        (account,) = {account for account, _ in environments}
        commands.append((account, {region for _, region in environments}))
    return commands


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_bootstrapped_regions_are_the_regions_of_every_stack_of_the_profile(synth, environment: str) -> None:  # type: ignore[no-untyped-def]
    """CDK deploys a stack only into a bootstrapped environment (its deploy role, assets bucket and
    repository); each profile's manifest names the regions its stacks go to.
    https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html"""
    regions = manifest_regions(synth(environment).template_path.parent)
    assert regions == profile_regions(environment, "us-east-1")
    assert bootstrap_table()["us-east-1"][COLUMNS[environment]] == regions


def test_bootstrapped_regions_abroad_are_the_regions_of_every_stack(abroad: Synthesized) -> None:
    """prod in eu-central-1: the regional stack, its us-east-1 companions and the copy vault in eu-west-1.
    https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html"""
    regions = manifest_regions(abroad.template_path.parent)
    assert regions == profile_regions("prod", "eu-central-1") == {"eu-central-1", "us-east-1", "eu-west-1"}
    assert bootstrap_table()["eu-central-1"][COLUMNS["prod"]] == regions


def test_bootstrapped_regions_of_the_pipeline_are_its_stages_and_support_stacks(pipeline: Synthesized) -> None:
    """The pipeline's own stack, its stage assemblies' stacks and CodePipeline's cross-region support
    stacks, whose replication bucket policy names the deploy role of their region: S3 refuses a policy
    naming a role that does not exist, so each of those regions is bootstrapped first.
    https://docs.aws.amazon.com/codepipeline/latest/userguide/actions-create-cross-region.html"""
    directory = pipeline.template_path.parent
    support = {
        artifact["environment"].rsplit("/", 1)[1]
        for name, artifact in json.loads((directory / "manifest.json").read_text())["artifacts"].items()
        if name.startswith("cross-region-stack-")
    }
    regions = manifest_regions(directory)
    assert support and support < regions
    assert regions == profile_regions("prod", "us-east-1")
    assert bootstrap_table()["us-east-1"][COLUMNS["pipeline"]] == regions
    (pipeline_bootstrap,) = [regions_ for account, regions_ in bootstrap_commands() if account == "PIPELINE_ACCOUNT"]
    assert pipeline_bootstrap == regions


def test_the_bootstrap_table_covers_every_supported_region_by_the_same_rule() -> None:
    """The rule the manifests were checked against above (own region, us-east-1, prod's copy region),
    applied to every region of REGIONS: one row each, none missing or extra.
    https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html"""
    expected = {
        region: (profile_regions("dev", region) | profile_regions("staging", region), profile_regions("prod", region))
        for region in REGIONS
    }
    assert bootstrap_table() == expected


def test_every_documented_bootstrap_command_bootstraps_a_column_of_its_region() -> None:
    """Each example command bootstraps exactly the regions the table gives for some profile in one region."""
    cells = [cell for row in bootstrap_table().values() for cell in row]
    commands = bootstrap_commands()
    assert len(commands) >= 4
    assert all(regions in cells for _, regions in commands), commands


def test_the_service_linked_roles_the_stack_needs_are_created_first(profile: Synthesized) -> None:
    """A brand-new account has no service-linked roles. ECS needs AWSServiceRoleForECS before its first
    service, and the scaling target names Application Auto Scaling's role by ARN: every such role the
    templates name (role/aws-service-role/<service>/...) and ECS's are created in deploy.md.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using-service-linked-roles.html
    https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-service-linked-roles.html"""
    templates = "".join(path.read_text() for path in profile.template_paths.values())
    needed = set(re.findall(r"role/aws-service-role/([a-z0-9.-]+)/", templates))
    if profile.of_type("AWS::ECS::Service"):
        needed.add("ecs.amazonaws.com")
    created = set(
        re.findall(r"aws iam create-service-linked-role --aws-service-name ([a-z0-9.-]+)", DEPLOY.read_text())
    )
    assert needed == {"ecs.amazonaws.com", "ecs.application-autoscaling.amazonaws.com"}
    assert needed <= created


def test_every_make_command_in_deploy_md_is_a_target_that_runs() -> None:
    """The procedure's `make ...` lines name real targets with variables make accepts (dry run)."""
    commands = sorted(set(re.findall(r"^make ([a-z-]+(?: [A-Z_]+=[^\s#`]+)*)", DEPLOY.read_text(), re.MULTILINE)))
    assert any(c.startswith("deploy ") and "REGION=" in c for c in commands), commands
    for command in commands:
        result = subprocess.run(
            ["make", "--dry-run", "--always-make", "--no-print-directory", *command.split()],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"make {command}: {result.stderr}"
