#!/usr/bin/env python3
"""CDK entry point: reads the context, builds TapStack-<environment> (and its backup copy stack), runs the gate."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

# aws_cdk is some 200 MB of generated Python: compiled afresh on every run it costs seconds of each synth,
# so its bytecode is cached in .venv even where PYTHONDONTWRITEBYTECODE is set. Set before the import below.
sys.dont_write_bytecode = False

from aws_cdk import App  # noqa: E402
from aws_cdk.cx_api import CloudAssembly  # noqa: E402
from constructs import Construct  # noqa: E402

from infra.backup import BackupCopyStack  # noqa: E402
from infra.compliance import add_compliance_checks  # noqa: E402
from infra.config import Config, ConfigError  # noqa: E402
from infra.context import config_from_context  # noqa: E402
from infra.edge_guard import EdgeGuardStack  # noqa: E402
from infra.monitoring.edge import EdgeAlarmsStack  # noqa: E402
from infra.pipeline import add_pipeline  # noqa: E402
from infra.stack import TapStack  # noqa: E402


def build_stacks(scope: Construct, config: Config) -> TapStack:
    """The stacks of one environment, at the top of the app or inside a pipeline stage."""
    # Each stack named explicitly (its id is also its name): inside a pipeline stage CDK would otherwise
    # name a stack of another region `<stage>-<id>`, and the pipeline would create a second copy of it.
    names = config.stack_names
    # Outside us-east-1, CloudFront's web ACL and certificate, and its alarms, live in stacks there.
    guard = EdgeGuardStack(scope, names["edge"], stack_name=names["edge"], config=config) if "edge" in names else None
    # The vault that each backup is copied to, in a stack of the copy region (prod).
    copy = (
        BackupCopyStack(scope, names["backup_copy"], stack_name=names["backup_copy"], config=config)
        if "backup_copy" in names
        else None
    )
    stack = TapStack(
        scope,
        names["main"],
        config=config,
        edge_guard=guard.guard if guard else None,
        backup_copy_vault=copy.vault if copy else None,
    )
    if "edge_alarms" in names:
        EdgeAlarmsStack(scope, names["edge_alarms"], stack_name=names["edge_alarms"], config=config, edge=stack.edge)
    return stack


def build_app(context: Mapping[str, object] | None = None, outdir: str | None = None) -> tuple[App, TapStack]:
    """The app as `cdk synth` builds it; tests call this with cdk.json's context."""
    app = App(context=dict(context or {}), outdir=outdir)
    config = config_from_context(app.node.get_all_context(), account=os.environ.get("CDK_DEFAULT_ACCOUNT") or None)
    stack = build_stacks(app, config)
    if config.pipeline.enabled:
        add_pipeline(app, config, build=build_stacks)
    add_compliance_checks(app)
    return app, stack


def _cli_context(argv: list[str]) -> dict[str, object]:
    """cdk.json's context plus `-c key=value` arguments, as the CDK CLI would pass them."""
    with open(Path(__file__).with_name("cdk.json")) as f:
        context: dict[str, object] = json.load(f).get("context", {})
    args = iter(argv)
    for arg in args:
        if arg in ("-c", "--context"):
            key, sep, value = next(args, "").partition("=")
            if not sep:
                raise SystemExit(f"expected -c key=value, got {key!r}")
            context[key] = value
    return context


def summary(assembly: CloudAssembly) -> str:
    """What a synth made, as `make synth` prints it: each stack, its account and region, its template."""
    stacks = [(s.display_name, s.environment.region, Path(s.template_full_path)) for s in assembly.stacks_recursively]
    directory = Path(assembly.directory)
    width = max(len(name) for name, _, _ in stacks)
    lines = [f"Synthesized {len(stacks)} stack(s) into {os.path.relpath(directory)}/ (cdk-nag passed):"]
    lines += [f"  {name:<{width}}  {region:<14}  {path.relative_to(directory)}" for name, region, path in stacks]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    # Under the CDK CLI the context arrives in CDK_CONTEXT_JSON; `make synth` runs this file directly.
    under_cli = "CDK_CONTEXT_JSON" in os.environ
    context = None if under_cli else _cli_context(argv)
    try:
        app, _ = build_app(context, outdir=os.environ.get("CDK_OUTDIR", "cdk.out"))
    except ConfigError as error:
        raise SystemExit(f"error: {error}") from None
    assembly = app.synth()
    if not under_cli:  # the CLI prints its own account of the synth
        print(summary(assembly))


if __name__ == "__main__":
    main(sys.argv[1:])
