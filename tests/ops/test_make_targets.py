"""mk/ops.mk and the CDK CLI pin: deploy runs the gates first, with the repo's pinned CLI."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from fnmatch import fnmatchcase as fnmatch
from pathlib import Path

from tests.synthesis import Synthesized

REPO = Path(__file__).resolve().parents[2]


def _dry_run(*target: str) -> list[str]:
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", "--no-print-directory", *target],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


def test_the_cdk_cli_is_pinned_exactly_and_locked() -> None:
    wanted = json.loads((REPO / "package.json").read_text())["devDependencies"]["aws-cdk"]
    locked = json.loads((REPO / "package-lock.json").read_text())["packages"]["node_modules/aws-cdk"]
    assert wanted[0].isdigit(), f"aws-cdk {wanted!r}: pin an exact version, no range"
    assert locked["version"] == wanted


def test_deploy_runs_every_gate_before_cdk_deploy_with_the_repos_cli() -> None:
    lines = _dry_run("deploy", "ENVIRONMENT=prod", "EMAIL=ops@example.com")
    gates = next(i for i, line in enumerate(lines) if line.endswith("pytest"))
    deploy = next(i for i, line in enumerate(lines) if " deploy " in line)
    assert gates < deploy
    assert lines[deploy].startswith("node_modules/.bin/cdk deploy --all")
    assert "-c environment=prod -c emailAddress=ops@example.com" in lines[deploy]
    assert any(line.startswith("npm ci") for line in lines)


def test_diff_uses_the_same_cli_and_context() -> None:
    lines = _dry_run("diff", "ENVIRONMENT=staging")
    assert any(line.startswith("node_modules/.bin/cdk diff") and "environment=staging" in line for line in lines)


def test_deploy_passes_region_and_context_keys_to_the_cli() -> None:
    lines = _dry_run("deploy", "ENVIRONMENT=prod", "REGION=eu-central-1", "CONTEXT=-c service.max_tasks=20")
    (deploy,) = [line for line in lines if " deploy " in line]
    assert "-c region=eu-central-1" in deploy
    assert "-c service.max_tasks=20" in deploy


def test_cost_table_records_every_profile_as_make_synth_builds_it() -> None:
    """mk/quality.mk: one command regenerates ops/cost-table.json for dev, staging and prod."""
    lines = _dry_run("cost-table")
    text = "\n".join(lines)
    for environment in ("dev", "staging", "prod"):
        assert "app.py -c environment=$e" in text or f"environment={environment}" in text
    assert "ops.cost_table --environment $e" in text
    assert "for e in dev staging prod" in text


def test_mutate_is_not_part_of_make_test() -> None:
    """Mutation testing runs on purpose (`make mutate`), never inside the suite's budget."""
    assert not any("mutmut" in line for line in _dry_run("test"))
    assert any("mutmut run" in line for line in _dry_run("mutate"))


# The pinned CLI's own declaration of its commands and options (its argument parser is generated from it).
CLI_REGISTRY = REPO / "node_modules" / "aws-cdk" / "lib" / "cli" / "cli-type-registry.json"
CDK = "node_modules/.bin/cdk"


def _cli_grammar() -> tuple[dict[str, str], dict[str, set[str]]]:
    """The pinned CLI's commands (aliases to names) and each command's accepted options, its global ones
    included: `--name`, `-alias`, and `--no-name` for every boolean (yargs negates any boolean option)."""
    subprocess.run(["make", "--no-print-directory", "cdk-cli"], cwd=REPO, check=True, capture_output=True)
    registry = json.loads(CLI_REGISTRY.read_text())

    def spellings(options: dict[str, dict[str, object]]) -> set[str]:
        names = {"--help", "-h"}
        for name, option in options.items():
            names.add(f"--{name}")
            if option.get("type") == "boolean":
                names.add(f"--no-{name}")
            aliases = option.get("alias") or []
            for alias in [aliases] if isinstance(aliases, str) else aliases:  # type: ignore[union-attr]
                names.add(f"-{alias}" if len(alias) == 1 else f"--{alias}")
        return names

    commands: dict[str, str] = {}
    accepted: dict[str, set[str]] = {}
    for name, command in registry["commands"].items():
        for spelling in (name, *(command.get("aliases") or [])):
            commands[spelling] = name
        accepted[name] = spellings(registry["globalOptions"]) | spellings(command.get("options", {}))
    return commands, accepted


def cli_problems(line: str, grammar: tuple[dict[str, str], dict[str, set[str]]]) -> list[str]:
    """What the pinned CLI would reject in one command line that runs it: an unknown command or option."""
    commands, accepted = grammar
    words = shlex.split(line, comments=True)
    start = words.index(CDK) + 1
    command = commands.get(words[start])
    if command is None:
        return [f"{line}: the CLI has no command {words[start]!r}"]
    return [
        f"{line}: `cdk {command}` accepts no option {word.split('=')[0]!r}"
        for word in words[start + 1 :]
        if word.startswith("-") and word.split("=")[0] not in accepted[command]
    ]


def _cdk_targets() -> list[str]:
    """Every make target whose recipe runs the CDK CLI, from the Makefile and mk/*.mk."""
    targets: list[str] = []
    for makefile in [REPO / "Makefile", *sorted((REPO / "mk").glob("*.mk"))]:
        target = None
        for line in makefile.read_text().splitlines():
            if match := re.match(r"^([a-z][\w-]*):(?!=)", line):
                target = match.group(1)
            elif line.startswith("\t") and "$(CDK) " in line and target and target not in targets:
                targets.append(target)
    return targets


def test_make_targets_run_the_cli_only_with_options_it_accepts() -> None:
    """`cdk diff` takes stack names or patterns and has no `--all` (only deploy and destroy do); the CLI
    stops with "Unknown option(s)" before it compares anything. Every make target that runs the pinned CLI
    is dry-run for a profile abroad and its command checked against the options that CLI declares.
    https://docs.aws.amazon.com/cdk/v2/guide/ref-cli-cmd-diff.html"""
    grammar = _cli_grammar()
    targets = _cdk_targets()
    assert {"deploy", "diff"} <= set(targets), targets
    problems = []
    for target in targets:
        lines = _dry_run(target, "ENVIRONMENT=prod", "REGION=eu-central-1", "EMAIL=ops@example.com")
        runs = [line for line in lines if line.startswith(f"{CDK} ")]
        assert runs, target
        for line in runs:
            problems += cli_problems(line, grammar)
    assert problems == []


def test_diff_names_every_stack_of_the_profile_and_no_other(prod: Synthesized) -> None:
    """`cdk diff` compares the stacks it is given (and, unless --exclusively, their dependencies): the
    patterns of `make diff` select exactly the profile's stacks, its companions included, never another
    profile's or the pipeline. https://docs.aws.amazon.com/cdk/v2/guide/ref-cli-cmd-diff.html"""
    (line,) = [line for line in _dry_run("diff", "ENVIRONMENT=prod") if line.startswith(f"{CDK} diff")]
    patterns = [word for word in shlex.split(line)[2:] if not word.startswith("-") and "=" not in word]
    others = [f"TapStack-{e}{suffix}" for e in ("dev", "staging") for suffix in ("", "-edge")] + [
        "TapStack-pipeline",
        "TapStack-prod-hotfix",  # a preview's stack (names.py allows prod-hotfix)
        "TapStack-prod-hotfix-edge",
    ]
    selected = {name for name in [*prod.template_paths, *others] if any(fnmatch(name, p) for p in patterns)}
    assert selected == set(prod.template_paths)


def test_destroy_runs_tapstack_destroy_for_the_profile_and_region() -> None:
    """`make destroy` is `tapstack destroy` (tapstack_cli/destroy.py): one implementation of the order and
    of the list of what is kept."""
    lines = _dry_run("destroy", "ENVIRONMENT=pr-123", "REGION=eu-central-1")
    assert lines[-1] == ".venv/bin/tapstack destroy --env pr-123 --region eu-central-1"
    assert _dry_run("destroy", "ENVIRONMENT=pr-123", "YES=1")[-1] == ".venv/bin/tapstack destroy --env pr-123 --yes"


def test_every_cdk_command_in_the_docs_uses_only_options_the_pinned_cli_accepts() -> None:
    """The commands a reader copies from README.md and docs/ (bootstrap, synth, deploy, diff, destroy)
    run the pinned CLI with options it declares. https://docs.aws.amazon.com/cdk/v2/guide/ref-cli-cmd.html"""
    grammar = _cli_grammar()
    problems = []
    commands = 0
    for document in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        text = re.sub(r"\\\n\s*", " ", document.read_text())
        for command in re.findall(rf"{re.escape(CDK)} [^\n`]*", text):
            commands += 1
            problems += [f"{document.name}: {p}" for p in cli_problems(command, grammar)]
    assert commands >= 8
    assert problems == []


def test_deploy_and_diff_run_the_listener_rule_guard_on_the_synthesized_app_first() -> None:
    """ECS owns a blue/green service's production listener rule weights (aws/aws-cdk#36649): the guard compares
    the synthesized rule with the deployed stack's before the CLI changes or diffs anything.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html"""
    for target, verb in (("deploy", " deploy "), ("diff", " diff ")):
        lines = _dry_run(target, "ENVIRONMENT=prod", "REGION=eu-central-1")
        synth = next(i for i, line in enumerate(lines) if line.startswith("node_modules/.bin/cdk synth -q"))
        guard = next(i for i, line in enumerate(lines) if line.endswith("-m ops.listener_rule_guard cdk.out"))
        cdk = next(i for i, line in enumerate(lines) if line.startswith("node_modules/.bin/cdk") and verb in line)
        assert synth < guard < cdk
        assert "-c environment=prod -c region=eu-central-1" in lines[synth]
