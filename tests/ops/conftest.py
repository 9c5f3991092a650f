"""The profiles' synthesized templates, through the same session fixtures as tests/infra.

pytest gives each conftest directory its own instance of a session fixture, so tests/ops synthesizes
each profile once more (about a second a profile today). Moving these fixtures to tests/conftest.py
would share one synthesis between both directories.
"""

from __future__ import annotations

from tests.infra.conftest import dev, prod, profile, staging, synth

__all__ = ["dev", "prod", "profile", "staging", "synth"]
