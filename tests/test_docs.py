"""The repository's own documentation stands alone: what it points to is in the repository."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.conftest import ROOT, generate, tree_bytes

# what ships or documents the project (tests are left out: they name files they create)
DOCUMENTED = ["README.md", "plugin.yaml", "pyproject.toml", "docs", "helmgen", "bin", "scripts", "chart-skeleton",
              "examples", "schemas", ".ci"]


def _texts() -> list[Path]:
    files: list[Path] = []
    for entry in DOCUMENTED:
        p = ROOT / entry
        found = [p] if p.is_file() else sorted(p.rglob("*"))
        files += [f for f in found if f.is_file() and "__pycache__" not in f.parts]
    return files


def test_every_markdown_file_named_is_in_the_repository() -> None:
    missing = []
    for f in _texts():
        for name in re.findall(r"[\w./-]*\w\.md\b", f.read_text(errors="replace")):
            if not ((ROOT / name).exists() or (f.parent / name).exists()):
                missing.append(f"{f.relative_to(ROOT)}: {name}")
    assert missing == []


def _section(title: str) -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index(f"\n## {title}\n")
    end = readme.find("\n## ", start + 1)
    return readme[start:end if end > 0 else None]


def _sh_blocks(text: str) -> list[str]:
    return [b.strip() for b in re.findall(r"^```sh\n(.*?)^```$", text, re.M | re.S)]


def test_readme_first_command_works_as_written(tmp_path: Path) -> None:
    install, tests = _sh_blocks(_section("Two commands on a fresh machine"))
    assert tests == "bash scripts/test.sh" and (ROOT / "scripts" / "test.sh").exists()
    clone = tmp_path / "fresh clone"
    shutil.copytree(ROOT, clone, ignore=shutil.ignore_patterns(".git", ".venv", ".cache", "__pycache__", "*.egg-info",
                                                               ".pytest_cache", "build", "dist", "out"))
    # no helmgen or virtualenv of ours in sight: only what the command itself installs
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if not (Path(p) / "helmgen").exists() and not (Path(p) / "activate").exists())
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")} | {"PATH": path}
    proc = subprocess.run(["bash", "-c", install], cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    chart = clone / "out" / "research-crew"
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["name"] == "research-crew"
    assert tree_bytes(chart) == tree_bytes(generate(ROOT / "examples" / "research-crew.yaml", tmp_path / "here"))
    # the README's ways to reach the command afterwards
    for how in (".venv/bin/helmgen", ". .venv/bin/activate"):
        assert f"`{how}`" in _section("Two commands on a fresh machine")
    for how in (".venv/bin/helmgen --version", ". .venv/bin/activate && helmgen --version"):
        run = subprocess.run(["bash", "-c", how], cwd=clone, env=env, capture_output=True, text=True)
        assert run.returncode == 0 and run.stdout.startswith("helmgen, version "), (how, run.stderr)
    dist = subprocess.run([str(clone / ".venv" / "bin" / "python"), "-m", "pip", "show", "helm-agentgen"],
                          capture_output=True, text=True)
    assert dist.returncode == 0 and "Name: helm-agentgen" in dist.stdout
