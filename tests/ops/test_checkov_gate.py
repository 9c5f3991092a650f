"""ops/checkov_gate.py: checkov on every profile's template, zero failures outside the skip list."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ops.checkov_gate import Skip, gate, judge, load_skips
from tests.synthesis import PROFILES, Synthesized


def _failed(check: str, resource: str) -> dict[str, Any]:
    return {"check_id": check, "check_name": "a check", "resource": resource, "file_path": "/t.json"}


def test_a_skip_covers_only_its_check_on_resources_with_its_logical_id_prefix() -> None:
    skips = [Skip("CKV_AWS_1", "Provider", "why"), Skip("CKV_AWS_9", "Gone", "why")]
    report = {
        "summary": {"passed": 7},
        "results": {
            "failed_checks": [
                _failed("CKV_AWS_1", "AWS::Lambda::Function.ProviderHandler1234"),
                _failed("CKV_AWS_1", "AWS::Lambda::Function.AppHandler1234"),
                _failed("CKV_AWS_2", "AWS::Lambda::Function.ProviderHandler1234"),
            ]
        },
    }
    result = judge(report, skips)
    assert result.passed == 7
    assert [str(f) for f in result.failures] == [
        "CKV_AWS_1 AWS::Lambda::Function.AppHandler1234 in t.json: a check",
        "CKV_AWS_2 AWS::Lambda::Function.ProviderHandler1234 in t.json: a check",
    ]
    assert [(f.logical_id, s.check) for f, s in result.skipped] == [("ProviderHandler1234", "CKV_AWS_1")]
    assert result.stale == [skips[1]]
    assert not result.ok


def test_every_skip_names_a_check_a_resource_and_a_reason() -> None:
    for skip in load_skips():
        assert skip.check.startswith("CKV"), skip
        assert len(skip.resource) >= 8, f"{skip}: the prefix must single out resources, not match all"
        assert len(skip.reason) >= 40, f"{skip}: say why the check does not apply"


def test_a_skip_without_a_reason_is_refused(tmp_path: Path) -> None:
    """The gate will not load a skip whose reason is empty or blank, so none can slip into the list."""
    skips = tmp_path / "skips.toml"
    skips.write_text('[[skip]]\ncheck = "CKV_AWS_115"\nresource = "CustomProvider"\nreason = """  """\n')
    with pytest.raises(ValueError, match="every skip needs a check, a resource prefix and a reason"):
        load_skips(skips)


def test_checkov_finds_no_failure_outside_the_skip_list_in_any_profile(
    synth: Callable[[str], Synthesized],
    abroad: Synthesized,
    pipeline: Synthesized,
    record_property: Callable[[str, object], None],
) -> None:
    """checkov 3.3.30, framework cloudformation: every stack of every profile (prod's backup copy stack too),
    of the eu-central-1 app and the pipeline stack, in one process."""
    templates = [path for environment in PROFILES for path in synth(environment).template_paths.values()]
    result = gate([*templates, *abroad.template_paths.values(), *pipeline.template_paths.values()])
    record_property("checkov_seconds", round(result.seconds, 1))
    assert result.ok, (
        result.summary() + "\nFix the resource, or add a [[skip]] with check, resource prefix and reason "
        "to ops/checkov-skips.toml (stale skips: remove them)."
    )
    assert result.passed > 0


@pytest.mark.parametrize("environment", PROFILES)
def test_the_skip_list_is_applied_per_resource_not_per_check(environment: str) -> None:
    """No skip uses an empty or wildcard prefix that would excuse a check on every resource."""
    assert all(skip.resource.strip("*") == skip.resource for skip in load_skips()), environment
