"""The checker's layout (issue #9): one module per aspect, each shipped with the package."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_python_package_is_listed_for_setuptools() -> None:
    """A package left out of [tool.setuptools] packages is missing from an installed (non-editable) helmgen."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "helmgen").rglob("__init__.py")}
    assert found - listed == set()
