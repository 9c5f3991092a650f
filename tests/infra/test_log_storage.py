"""infra/log_storage.py (and every other retained resource with a fixed name): a failed first create leaves
no name behind, and docs/restore.md case 3 names each fixed name a deleted stack leaves in the way."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from infra.pipeline import PIPELINE_STACK
from tests.synthesis import Synthesized

REPO = Path(__file__).resolve().parents[2]
# The property that holds a resource's own physical name, per type that the app retains; None: the type
# has no name. A retained type missing here fails the tests, so each new one gets a decision.
NAME_PROPERTY: dict[str, str | None] = {
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Backup::BackupVault": "BackupVaultName",
    "AWS::SecretsManager::Secret": "Name",
    "AWS::IAM::Role": "RoleName",
    "AWS::RDS::DBCluster": "DBClusterIdentifier",
    "AWS::KMS::Key": None,
    "AWS::ApiGateway::Account": None,
}
RETAINED = {"Retain", "RetainExceptOnCreate"}


def fixed_names(template: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Resources kept by a stack delete whose name is the same on every create: logical ID -> (name,
    DeletionPolicy). A name built from the stack's id (the vaults') differs per create and is not in the way."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        policy = resource.get("DeletionPolicy")
        if policy not in RETAINED:
            continue
        assert resource["Type"] in NAME_PROPERTY, f"{logical_id}: retained {resource['Type']} needs a decision"
        key = NAME_PROPERTY[resource["Type"]]
        name = resource.get("Properties", {}).get(key) if key else None
        if isinstance(name, str):
            found[logical_id] = (name, policy)
    return found


def documented_patterns(environment: str) -> list[re.Pattern[str]]:
    """The names in docs/restore.md case 3's table, `<environment>` filled in, any other <...> a wildcard."""
    text = (REPO / "docs" / "restore.md").read_text()
    case_3 = text[text.index("## 3. ") :]
    rows = [line for line in case_3.splitlines() if line.strip().startswith("| ") and "`" in line]
    patterns = []
    for row in rows:
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        name = cells[1].strip("`")
        parts = re.split(r"(<[a-z]+>)", name.replace("<environment>", environment))
        patterns.append(
            re.compile("".join("[A-Za-z0-9-]+" if part.startswith("<") else re.escape(part) for part in parts))
        )
    return patterns


def _templates(paths: list[Path]) -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in paths}


def _check(templates: dict[str, dict[str, Any]], environment: str) -> set[str]:
    patterns = documented_patterns(environment)
    names = set()
    for template_name, template in templates.items():
        for logical_id, (name, policy) in fixed_names(template).items():
            where = f"{template_name} {logical_id} {name!r}"
            assert policy == "RetainExceptOnCreate", f"{where}: a failed first create would leave it behind"
            assert any(pattern.fullmatch(name) for pattern in patterns), f"{where}: not in docs/restore.md case 3"
            names.add(name)
    return names


def test_fixed_names_are_deleted_by_a_failed_first_create_and_listed_for_a_re_create(profile: Synthesized) -> None:
    """CloudFormation: a resource with DeletionPolicy Retain survives the rollback of the create that made
    it, so a retry fails with "already exists" on any fixed name; RetainExceptOnCreate deletes it on that
    rollback and keeps it on any later update or delete. A deleted stack still leaves those names behind:
    docs/restore.md case 3 must name each for the re-create.
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html"""
    names = _check(_templates(list(profile.template_paths.values())), profile.environment)
    stack = f"TapStack-{profile.environment}"
    expected = (
        set()  # dev destroys everything with the stack
        if profile.environment == "dev"
        else {
            f"/aws/rds/cluster/{stack.lower()}-storefront/postgresql",
            f"aws-waf-logs-{stack}-Edge-Waf",
            f"aws-waf-logs-{stack}-Api-Waf",
        }
    )
    assert names == expected


def test_the_us_east_1_companion_s_waf_log_group_is_listed_for_a_re_create(abroad: Synthesized) -> None:
    """Outside us-east-1 CloudFront's web ACL logs to a group of the `-edge` companion stack in us-east-1.
    https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html"""
    names = _check(_templates(list(abroad.template_paths.values())), "prod")
    assert "aws-waf-logs-TapStack-prod-edge-Waf" in names
    assert "aws-waf-logs-TapStack-prod-Api-Waf" in names


def test_the_pipeline_s_replication_buckets_and_stage_stacks_are_listed_for_a_re_create(pipeline: Synthesized) -> None:
    """CodePipeline's cross-region support stack holds an artifact bucket with a name CDK fixes at synth.
    https://docs.aws.amazon.com/codepipeline/latest/userguide/actions-create-cross-region.html"""
    out = pipeline.template_path.parent
    top = _check(
        _templates([out / f"{PIPELINE_STACK}.template.json", *out.glob("cross-region-stack-*.template.json")]), ""
    )
    assert any(name.startswith("tapstack-pipeline-support") for name in top)
    for environment, stage in (("staging", "Staging"), ("prod", "Prod")):
        _check(_templates(list((out / f"assembly-{PIPELINE_STACK}-{stage}").glob("*.template.json"))), environment)
