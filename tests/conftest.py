"""Session-wide setup: slow, independent gates start in the background as the session begins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# jsii warns on every start that Node 20 is past end of life; the banner is noise in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO = Path(__file__).resolve().parents[1]
MYPY = pytest.StashKey[subprocess.Popen[str]]()


def pytest_configure(config: pytest.Config) -> None:
    # mypy needs about a minute cold on aws_cdk's stubs; it runs while the other tests do.
    config.stash[MYPY] = subprocess.Popen(
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
