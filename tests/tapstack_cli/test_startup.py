"""An operator's command answers at once: `tapstack --help`, each command's help and each command's run
import neither aws_cdk (1.6-2.1 s to import) nor, for help, boto3; checked in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tapstack_cli.main import COMMANDS

TAPSTACK = Path(sys.executable).with_name("tapstack")


def _modules_after(code: str, env: dict[str, str] | None = None) -> set[str]:
    """The top-level modules a fresh interpreter has imported after running `code`."""
    probe = f"import sys\n{code}\nprint(' '.join(sorted({{name.partition('.')[0] for name in sys.modules}})))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env or os.environ
    )
    return set(result.stdout.split())


def _after_main(argvs: list[list[str]]) -> set[str]:
    """The modules loaded after `main(argv)` ran for each of `argvs` (help texts swallowed)."""
    code = (
        "import contextlib, io\n"
        "from tapstack_cli.main import main\n"
        f"for argv in {argvs!r}:\n"
        "    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "        with contextlib.suppress(SystemExit):\n"
        "            main(argv)"
    )
    return _modules_after(code)


def test_help_and_every_commands_help_import_neither_aws_cdk_nor_boto3() -> None:
    modules = _after_main([["--help"], *([name, "--help"] for name in COMMANDS)])
    assert "aws_cdk" not in modules and "jsii" not in modules
    assert "boto3" not in modules and "botocore" not in modules


def test_every_command_runs_without_importing_aws_cdk(aws) -> None:  # type: ignore[no-untyped-def]
    """Each command run up to AWS's first answer (the emulator's: nothing is deployed)."""
    extra = {"run": ["--", "true"], "destroy": ["--yes"]}
    modules = _after_main([[name, "--env", "pr-1", *extra.get(name, [])] for name in COMMANDS])
    assert "boto3" in modules  # the commands did ask AWS
    assert "aws_cdk" not in modules and "jsii" not in modules


def test_the_installed_script_prints_its_help() -> None:
    result = subprocess.run([str(TAPSTACK), "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert all(name in result.stdout for name in COMMANDS)
