"""`tapstack <command> --env <environment>`: the entry point; one module per command.

argparse, not click: it is in the standard library (no dependency to pin, audit or lock), imports in about
a millisecond, and its subcommands, help texts and `--` handling cover everything these seven verbs need.
Each command module imports boto3 only when it runs, and nothing here imports aws_cdk, so `tapstack --help`
and a command's start-up answer at once (tests/tapstack_cli/test_startup.py).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, TextIO

from tapstack_cli.names import EDGE_REGION, InvalidName, check_environment
from tapstack_cli.profile import CommandError, Profile, check_region

# Verb -> module, in the order `tapstack --help` lists them (as Copilot keeps one file per verb).
COMMANDS = {
    "status": "tapstack_cli.status",
    "logs": "tapstack_cli.logs",
    "exec": "tapstack_cli.execute",
    "run": "tapstack_cli.run",
    "rollback": "tapstack_cli.rollback",
    "destroy": "tapstack_cli.destroy",
    "outputs": "tapstack_cli.outputs",
}

DESCRIPTION = """\
Operate a deployed TapStack: see it, read its logs, open a shell in it, run one-off tasks, roll back,
tear it down. Every command reads the names it needs (cluster, service, log groups, URLs) from the
deployed stacks' outputs and uses your normal AWS credentials (AWS_PROFILE, SSO, environment).

environments: dev, staging, prod, or a preview's name (for example pr-123: `make deploy ENVIRONMENT=pr-123`).
"""

EPILOG = """\
examples:
  tapstack status --env staging
  tapstack logs --env prod --since 15m --filter '"status":500' --follow
  tapstack exec --env dev
  tapstack run --env prod -- storefront migrate
  tapstack rollback --env prod
  tapstack destroy --env pr-123
  tapstack outputs --env prod --json

docs/operations.md ("Day 2") shows each command's output.
"""


class Command(Protocol):
    HELP: str
    DESCRIPTION: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, profile: Profile, args: argparse.Namespace, out: TextIO) -> int: ...


def _command(name: str) -> Command:
    command: Command = importlib.import_module(COMMANDS[name])
    return command


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="tapstack",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = root.add_subparsers(dest="verb", metavar="<command>", required=True)
    for name in COMMANDS:
        command = _command(name)
        sub = verbs.add_parser(
            name,
            help=command.HELP,
            description=command.DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument(
            "--env",
            # destroy names what it deletes; the others default to dev like `make`.
            required=name == "destroy",
            default=None if name == "destroy" else "dev",
            help="dev, staging, prod or a preview's name (default: dev)" if name != "destroy" else "the profile",
        )
        sub.add_argument(
            "--region",
            default=EDGE_REGION,
            help="the region of TapStack-<env>, as REGION= was given to make deploy (default: us-east-1)",
        )
        command.add_arguments(sub)
    return root


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = parser().parse_args(argv)
    try:
        profile = Profile(check_environment(args.env), check_region(args.region))
        return _command(args.verb).run(profile, args, out)
    except InvalidName as error:
        print(f"tapstack: {error}", file=sys.stderr)
        return 2
    except CommandError as error:
        print(f"tapstack {args.verb}: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        # AWS's own refusals (no credentials, access denied, throttling) in one line, not a traceback.
        if not type(error).__module__.startswith("botocore"):
            raise
        print(f"tapstack {args.verb}: AWS: {error}", file=sys.stderr)
        return 1
