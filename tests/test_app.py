"""app.py: the CDK entry point's command line, as `make synth` and the CDK CLI use it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app import _cli_context

REPO = Path(__file__).resolve().parents[1]


def test_context_arguments_override_cdk_json() -> None:
    context = _cli_context(["-c", "environment=prod", "--context", "emailAddress=ops@example.com"])
    assert context["environment"] == "prod"
    assert context["emailAddress"] == "ops@example.com"
    assert context["@aws-cdk/core:checkSecretUsage"] is True  # cdk.json's feature flags come along


def test_a_wrong_setting_fails_synth_naming_the_setting_and_what_is_allowed(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "app.py", "-c", "environment=qa"],
        cwd=REPO,
        env={
            "CDK_OUTDIR": str(tmp_path),
            "PATH": "/usr/bin:/bin",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "error: invalid setting environment='qa': allowed is one of dev, staging, prod (or 'production')"
    )
