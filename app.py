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
from constructs import Construct  # noqa: E402

from infra.backup import BackupCopyStack  # noqa: E402
from infra.compliance import add_compliance_checks  # noqa: E402
from infra.config import EDGE_REGION, Config, ConfigError  # noqa: E402
from infra.context import config_from_context  # noqa: E402
from infra.edge_guard import EdgeGuardStack  # noqa: E402
from infra.monitoring.edge import EdgeAlarmsStack  # noqa: E402
from infra.pipeline import add_pipeline  # noqa: E402
from infra.stack import TapStack  # noqa: E402
from tapstack_cli import names  # noqa: E402


def build_stacks(scope: Construct, config: Config) -> TapStack:
    """The stacks of one environment, at the top of the app or inside a pipeline stage."""
    # Outside us-east-1, CloudFront's web ACL and certificate, and its alarms, live in stacks there.
    guard = (
        None
        if config.region == EDGE_REGION
        else EdgeGuardStack(scope, names.edge_stack_name(config.environment), config=config)
    )
    # The vault that each backup is copied to, in a stack of the copy region (prod).
    copy = (
        BackupCopyStack(scope, names.backup_stack_name(config.environment, config.backup.copy_region), config=config)
        if config.backup.cross_region_copy
        else None
    )
    stack = TapStack(
        scope,
        config.stack_name,
        config=config,
        edge_guard=guard.guard if guard else None,
        backup_copy_vault=copy.vault if copy else None,
    )
    if guard is not None:
        EdgeAlarmsStack(scope, names.edge_alarms_stack_name(config.environment), config=config, edge=stack.edge)
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


def main(argv: list[str]) -> None:
    # Under the CDK CLI the context arrives in CDK_CONTEXT_JSON; `make synth` runs this file directly.
    context = None if "CDK_CONTEXT_JSON" in os.environ else _cli_context(argv)
    try:
        app, _ = build_app(context, outdir=os.environ.get("CDK_OUTDIR", "cdk.out"))
    except ConfigError as error:
        raise SystemExit(f"error: {error}") from None
    app.synth()


if __name__ == "__main__":
    main(sys.argv[1:])
