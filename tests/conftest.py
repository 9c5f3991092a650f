"""Session-wide fixtures: each profile synthesized once (shared by tests/infra and tests/ops), and
slow, independent gates started in the background as the session begins."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported lazily: importing aws_cdk starts jsii, after the environment below is set
    from tests.synthesis import Synthesized

# jsii warns on every start that Node 20 is past end of life; the banner is noise in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# Any call to a deprecated aws-cdk-lib API raises during the tests' synths: none may be used.
os.environ["JSII_DEPRECATED"] = "fail"

REPO = Path(__file__).resolve().parents[1]
MYPY = pytest.StashKey[subprocess.Popen[str]]()


def pytest_collection_finish(session: pytest.Session) -> None:
    # mypy needs about a minute cold on aws_cdk's stubs: started only when its test was collected, and
    # then at once, so that it runs while the other tests do.
    if any(item.name == "test_mypy_strict_finds_no_type_errors" for item in session.items):
        session.config.stash[MYPY] = subprocess.Popen(
            [str(Path(sys.executable).parent / "mypy")],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    process = config.stash.get(MYPY, None)
    if process is not None and process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def mypy_result(pytestconfig: pytest.Config) -> tuple[int, str]:
    """mypy's exit code and output, waiting for the run started at session start."""
    process = pytestconfig.stash[MYPY]
    output, _ = process.communicate(timeout=600)
    return process.returncode, output


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Synthesized]:
    from tests.synthesis import synthesize

    cache: dict[str, Synthesized] = {}

    def get(environment: str) -> Synthesized:
        if environment not in cache:
            cache[environment] = synthesize(environment, tmp_path_factory.mktemp(f"cdk-{environment}"))
        return cache[environment]

    return get


@pytest.fixture(scope="session", params=("dev", "staging", "prod"))
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


# The new user: a Frankfurt shop's own image on its own port and health path, more tasks.
ABROAD_CONTEXT = {
    "region": "eu-central-1",
    "service.image": "123456789012.dkr.ecr.eu-central-1.amazonaws.com/shop:1.4.2",
    "service.container_port": "3000",
    "service.health_check_path": "/healthz",
    "service.max_tasks": "20",
}


@pytest.fixture(scope="session")
def abroad(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """prod in eu-central-1 with the shop's own ECR image, through the pinned CDK CLI as a user runs it:
    the regional stack and its us-east-1 companions."""
    from tests.synthesis import synthesize_with_cli

    return synthesize_with_cli("prod", tmp_path_factory.mktemp("cdk-abroad"), ABROAD_CONTEXT)


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """TapStack-pipeline with its staging and prod stages, synthesized once (about as long as two profiles)."""
    from tests.synthesis import synthesize_pipeline

    return synthesize_pipeline(tmp_path_factory.mktemp("cdk-pipeline"))
