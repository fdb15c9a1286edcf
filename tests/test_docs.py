"""The repository's own documentation stands alone: what it points to is in the repository."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import ROOT

# what ships or documents the project (tests are left out: they name files they create)
DOCUMENTED = ["README.md", "plugin.yaml", "pyproject.toml", "docs", "helmgen", "bin", "scripts", "chart-skeleton",
              "examples", "schemas", ".ci"]


def _texts() -> list[Path]:
    files: list[Path] = []
    for entry in DOCUMENTED:
        p = ROOT / entry
        files += [p] if p.is_file() else [f for f in sorted(p.rglob("*")) if f.is_file() and "__pycache__" not in f.parts]
    return files


def test_every_markdown_file_named_is_in_the_repository() -> None:
    missing = []
    for f in _texts():
        for name in re.findall(r"[\w./-]*\w\.md\b", f.read_text(errors="replace")):
            if not ((ROOT / name).exists() or (f.parent / name).exists()):
                missing.append(f"{f.relative_to(ROOT)}: {name}")
    assert missing == []
