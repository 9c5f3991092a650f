"""`tapstack outputs`: every stack's outputs of the profile, as a table or JSON (like `copilot env show`)."""

from __future__ import annotations

import argparse
import json
from typing import TextIO

from tapstack_cli.profile import CommandError, Profile
from tapstack_cli.progress import table

HELP = "the stacks' outputs (URLs, names, ARNs) as a table or JSON"
DESCRIPTION = """\
Print the outputs of every stack of the profile: the site and API URLs, the cluster, service, log
groups and task definition family the other commands use, the database endpoint and secret ARN.
With --json, one object per stack ({"TapStack-dev": {"CloudFrontURL": "https://..."}}), for scripts."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(profile: Profile, args: argparse.Namespace, out: TextIO) -> int:
    stacks = profile.stacks()
    if not stacks:
        raise CommandError(f"no stack of {profile.stack_name} is deployed in {profile.region}")
    if args.json:
        print(json.dumps({stack.ref.name: stack.outputs for stack in stacks}, indent=2, sort_keys=True), file=out)
        return 0
    rows = [(stack.ref.name, key, value) for stack in stacks for key, value in sorted(stack.outputs.items())]
    print(table(("stack", "output", "value"), rows), file=out)
    return 0
