"""The repository's own documentation stands alone: it points at nothing a user of the repository does not
have (the team's design notes, its issue tracker, the project it started from)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What a clone does not contain: the team's shared notes, issue numbers, the starting project ("the seed";
# `storefront seed`, the sample-data command, is the service's own).
FOREIGN = re.compile(
    r"DESIGN\.md|CONVENTIONS\.md|(?<![\w.])shared/(?!seed/ts-baseline)|\bissues? #?\d+|\(issue\b|\bthe seed\b|\bseed's",
    re.IGNORECASE,
)


def _documents() -> list[Path]:
    """README, docs, the make files, and the source whose comments and docstrings a user reads."""
    sources = [
        REPO / "README.md",
        REPO / "Makefile",
        REPO / "app.py",
        REPO / "cdk.json",
        *REPO.glob("docs/*.md"),
        *REPO.glob("mk/*.mk"),
        *REPO.glob("infra/**/*.py"),
        *REPO.glob("ops/**/*.py"),
        *REPO.glob("ops/*.toml"),
        *REPO.glob("storefront/src/**/*.py"),
        *REPO.glob("tapstack_cli/src/**/*.py"),
        *REPO.glob("storefront/*.md"),
    ]
    return sorted(path for path in sources if path.is_file() and ".venv" not in path.parts)


def test_docs_and_comments_point_at_nothing_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in _documents()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if FOREIGN.search(line)
    ]
    assert found == []


def test_the_api_contract_is_in_docs() -> None:
    """The contract README and docs/storefront.md point at is docs/api.md (tests/ops/test_api_docs.py keeps
    it equal to the OpenAPI document the service serves)."""
    assert "(docs/api.md)" in (REPO / "README.md").read_text()
    assert "(api.md)" in (REPO / "docs" / "storefront.md").read_text()
