"""Each profile is synthesized once per test session, exactly as `make synth` does it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from app import build_app

PROFILES = ("dev", "staging", "prod")
CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"


@dataclass(frozen=True)
class Synthesized:
    """One profile's synthesized template and cdk-nag validation report."""

    environment: str
    template: Template
    template_path: Path
    report: dict[str, Any]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template.to_json()["Resources"]
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}


def synthesize(environment: str, outdir: Path, **extra_context: str) -> Synthesized:
    context = json.loads(CDK_JSON.read_text())["context"] | {"environment": environment, **extra_context}
    app, stack = build_app(context, outdir=str(outdir))
    try:
        app.synth()
    except RuntimeError as error:  # cdk-nag failures: the report below names them; test_compliance fails
        if "ValidationFailed" not in str(error):
            raise
    report_path = outdir / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {"pluginReports": []}
    template_path = outdir / f"{stack.stack_name}.template.json"
    return Synthesized(
        environment=environment,
        template=Template.from_json(json.loads(template_path.read_text())),
        template_path=template_path,
        report=report,
    )


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Synthesized]:
    cache: dict[str, Synthesized] = {}

    def get(environment: str) -> Synthesized:
        if environment not in cache:
            cache[environment] = synthesize(environment, tmp_path_factory.mktemp(f"cdk-{environment}"))
        return cache[environment]

    return get


@pytest.fixture(scope="session", params=PROFILES)
def profile(request: pytest.FixtureRequest, synth: Callable[[str], Synthesized]) -> Synthesized:
    """Every profile in turn: for rules that hold everywhere."""
    return synth(request.param)


@pytest.fixture(scope="session")
def dev(synth: Callable[[str], Synthesized]) -> Synthesized:
    return synth("dev")


@pytest.fixture(scope="session")
def staging(synth: Callable[[str], Synthesized]) -> Synthesized:
    return synth("staging")


@pytest.fixture(scope="session")
def prod(synth: Callable[[str], Synthesized]) -> Synthesized:
    return synth("prod")
