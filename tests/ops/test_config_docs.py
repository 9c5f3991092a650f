"""ops/config_docs.py: docs/configuration.md lists every context key and is kept current."""

from __future__ import annotations

from infra.context import setting_types
from ops.config_docs import OUTPUT, render


def test_committed_configuration_reference_is_current() -> None:
    assert OUTPUT.read_text() == render(), "Run `make docs` and commit docs/configuration.md."


def test_configuration_reference_lists_every_context_key() -> None:
    text = render()
    for key in setting_types():
        assert f"| `{key}` |" in text, key
