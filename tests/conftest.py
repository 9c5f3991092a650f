"""Session-wide fixtures: each profile synthesized once (shared by tests/infra and tests/ops), and
slow, independent gates started in the background as the session begins."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.emulator import aws, aws_emulator  # noqa: F401 (fixtures for every test module)

if TYPE_CHECKING:  # imported lazily: importing aws_cdk starts jsii, after the environment below is set
    from tests.synthesis import Synthesized

# jsii warns on every start that Node 20 is past end of life; the banner is noise in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# Any call to a deprecated aws-cdk-lib API raises during the tests' synths: none may be used.
os.environ["JSII_DEPRECATED"] = "fail"

REPO = Path(__file__).resolve().parents[1]

# --- Parallel runs (pytest-xdist, `make test` runs `-n 2 --dist loadgroup`) and mypy in the background ---
# aws_cdk is some 200 MB of generated Python: its bytecode is cached in .venv even where
# PYTHONDONTWRITEBYTECODE is set, or every worker compiles it again; so is that of the tools the tests
# run in subprocesses (cfn-lint, checkov, the synths), which would otherwise compile theirs on every run.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

MYPY_TEST = "test_mypy_strict_finds_no_type_errors"
# The session fixtures each group shares: all tests using one of them run in one worker. The eu-central-1 app
# (a CDK CLI run, the longest fixture) has its own group, beside the in-process synths of the profiles; a
# test using both reads the profiles the other worker synthesized (shared_synthesis, tests/synthesis.py).
CDK_FIXTURES = frozenset({"synth", "profile", "dev", "staging", "prod"})
MYPY = pytest.StashKey[subprocess.Popen[str]]()
MYPY_DIR = pytest.StashKey[Path]()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _xdist_group(item: pytest.Item) -> str | None:
    if "abroad" in item.fixturenames:
        return "cdk-eu-central-1"
    if CDK_FIXTURES.intersection(item.fixturenames):
        return "cdk"
    if "storefront" in item.path.relative_to(REPO).parts[:2]:
        return "storefront"  # one embedded PostgreSQL per session
    if "drills" in item.fixturenames:
        return "restore-drill"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.pluginmanager.hasplugin("xdist"):  # its marker is unknown without it (-p no:xdist)
        return
    for item in items:
        group = _xdist_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_configure(config: pytest.Config) -> None:
    if _is_worker(config):
        # The controller runs mypy; the worker with its test reads the result from this directory.
        config.stash[MYPY_DIR] = Path(config.workerinput["tapstack_mypy_dir"])  # type: ignore[attr-defined]
    elif config.pluginmanager.hasplugin("xdist") and getattr(config.option, "numprocesses", None):
        config.stash[MYPY_DIR] = Path(tempfile.mkdtemp(prefix="tapstack-mypy-"))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist (controller): tell each worker where mypy's result will be."""
    node.workerinput["tapstack_mypy_dir"] = str(node.config.stash[MYPY_DIR])


def _start_mypy(config: pytest.Config) -> None:
    """mypy needs about a minute cold on aws_cdk's stubs: started once, as soon as its test is collected,
    so that it runs while the other tests do. Its output and exit code go to files in MYPY_DIR, if any."""
    if MYPY in config.stash:
        return
    command = [str(Path(sys.executable).parent / "mypy")]
    directory = config.stash.get(MYPY_DIR, None)
    if directory is None:
        config.stash[MYPY] = subprocess.Popen(
            command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        return
    # The exit code appears (renamed into place) only once the output is complete.
    script = 'out="$1"; shift; "$@" >"$out/output" 2>&1; echo $? >"$out/rc.tmp"; mv "$out/rc.tmp" "$out/rc"'
    config.stash[MYPY] = subprocess.Popen(
        ["sh", "-c", script, "sh", str(directory), *command], cwd=REPO, start_new_session=True, text=True
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    # Without xdist; under xdist the controller starts mypy when a worker reports the test's id.
    if not _is_worker(session.config) and any(item.name == MYPY_TEST for item in session.items):
        _start_mypy(session.config)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """xdist (controller): a worker has collected; start mypy if its test is among the ids."""
    if any(test_id.rpartition("::")[2] == MYPY_TEST for test_id in ids):
        _start_mypy(node.config)


def pytest_unconfigure(config: pytest.Config) -> None:
    process = config.stash.get(MYPY, None)
    if process is not None and process.poll() is None:
        if MYPY_DIR in config.stash:  # the shell and the mypy it started
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait()
    directory = config.stash.get(MYPY_DIR, None)
    if directory is not None and not _is_worker(config):
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def mypy_result(pytestconfig: pytest.Config) -> tuple[int, str]:
    """mypy's exit code and output, waiting for the run started at session start (here or by xdist's
    controller)."""
    process = pytestconfig.stash.get(MYPY, None)
    if process is not None and MYPY_DIR not in pytestconfig.stash:
        output, _ = process.communicate(timeout=600)
        return process.returncode, output
    directory = pytestconfig.stash[MYPY_DIR]
    deadline = time.monotonic() + 600
    while not (directory / "rc").exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"mypy gave no result in {directory} within 600 s")
        time.sleep(0.5)
    return int((directory / "rc").read_text()), (directory / "output").read_text()


# --- end of the parallel-run and mypy section ---


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A directory of this test session that every pytest-xdist worker sees (the workers' common basetemp)."""
    base = tmp_path_factory.getbasetemp()
    return base if worker_id == "master" else base.parent


@pytest.fixture(scope="session")
def synth(shared_dir: Path) -> Callable[[str], Synthesized]:
    """Each profile (or preview name) synthesized once per session, by whichever worker needs it first."""
    from tests.synthesis import shared_synthesis, synthesize

    cache: dict[str, Synthesized] = {}

    def get(environment: str) -> Synthesized:
        if environment not in cache:
            cache[environment] = shared_synthesis(
                shared_dir / f"cdk-{environment}", lambda outdir: synthesize(environment, outdir)
            )
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


# A Frankfurt shop's own image on its own port and health path, more tasks, in its own account; with its
# own settings, secrets (a Secrets Manager JSON key, an SSM parameter, their KMS key), release step and job
# (docs/your-app.md's Saleor example).
ABROAD_ACCOUNT = "123456789012"
ABROAD_CONTEXT = {
    "region": "eu-central-1",
    "service.image": "123456789012.dkr.ecr.eu-central-1.amazonaws.com/shop:1.4.2",
    "service.container_port": "3000",
    "service.health_check_path": "/healthz",
    "service.max_tasks": "20",
    "service.environment.SHOP_CURRENCY": "EUR",
    "service.environment.ALLOWED_HOSTS": "shop.example.com",
    "service.secrets.SECRET_KEY": (
        "arn:aws:secretsmanager:eu-central-1:123456789012:secret:shop/django-AbCdEf:SECRET_KEY::"
    ),
    "service.secrets.SENTRY_DSN": "arn:aws:ssm:eu-central-1:123456789012:parameter/shop/sentry-dsn",
    "service.secrets_kms_key_arns": "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "service.release_command": "python manage.py migrate",
    "jobs.cleanup.schedule": "rate(1 hour)",
    "jobs.cleanup.command": "python manage.py clearsessions",
}


@pytest.fixture(scope="session")
def abroad(shared_dir: Path) -> Synthesized:
    """prod in eu-central-1 with the shop's own ECR image, through the pinned CDK CLI as a user runs it
    with credentials (the account known, 123456789012, the image's): the regional stack, its us-east-1
    companions and its backup copy stack."""
    from tests.synthesis import shared_synthesis, synthesize_with_cli

    return shared_synthesis(
        shared_dir / "cdk-abroad",
        lambda outdir: synthesize_with_cli("prod", outdir, ABROAD_CONTEXT, account=ABROAD_ACCOUNT),
    )


@pytest.fixture(scope="session")
def pipeline(shared_dir: Path) -> Synthesized:
    """TapStack-pipeline with its staging and prod stages, synthesized once (about as long as two profiles)."""
    from tests.synthesis import shared_synthesis, synthesize_pipeline

    return shared_synthesis(shared_dir / "cdk-pipeline", synthesize_pipeline)
