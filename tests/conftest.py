"""Shared fixtures: the real Helm binaries, chart generation and rendering helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
SPECS = ROOT / "tests" / "specs"
HELM_CACHE = ROOT / ".cache" / "helm"
HELM_VERSIONS = ("4.3.1", "3.17.3")
K8S_VERSIONS = ("1.30.0", "1.37.0")
# Kinds that kubernetes-validate cannot know (CRDs); tests/crd.py validates them against their CRD schemas.
CRD_KINDS = {"ScaledObject", "ServiceMonitor", "ExternalSecret", "HTTPRoute", "Rollout", "AnalysisTemplate"}


def helm_path(version: str) -> Path:
    p = HELM_CACHE / version / "helm"
    if not p.exists():
        pytest.fail(f"Helm {version} is missing from {p}: run the tests with scripts/test.sh, which installs it")
    return p


@pytest.fixture(params=HELM_VERSIONS, ids=lambda v: f"helm{v}")
def helm(request: pytest.FixtureRequest) -> Path:
    return helm_path(request.param)


@pytest.fixture(scope="session")
def helm_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An isolated Helm home: no user config, cache or plugins leak into the tests."""
    home = tmp_path_factory.mktemp("helmhome")
    env = dict(os.environ)
    for var, sub in (("HELM_CACHE_HOME", "cache"), ("HELM_CONFIG_HOME", "config"), ("HELM_DATA_HOME", "data")):
        env[var] = str(home / sub)
    env.pop("HELM_BIN", None)
    env.pop("HELM_PLUGINS", None)
    return env


def run_helm(helm: Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(helm), *args], capture_output=True, text=True, env=env, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def generate(spec: Path | str, out: Path) -> Path:
    """Generate in-process (the CLI is exercised by the end-to-end tests)."""
    from helmgen.chart.render import render_chart
    from helmgen.spec.check import load_spec
    from helmgen.write import write_chart

    model = load_spec(str(spec))
    target = out / model.name
    write_chart(render_chart(model), target, force=True)
    return target


def secret_sets(chart: Path) -> list[str]:
    """--set arguments giving every chart-managed secret key a value."""
    values = yaml.safe_load((chart / "values.yaml").read_text())
    sets = []
    for name, s in (values.get("secrets") or {}).items():
        if not s.get("existingSecret") and not s.get("external"):
            for k in s["keys"]:
                sets += ["--set", f"secrets.{name}.values.{k}=test-{k}"]
    return sets


def template(helm: Path, chart: Path, *args: str, release: str = "rel", env: dict[str, str] | None = None,
             with_secrets: bool = True) -> list[dict[str, Any]]:
    extra = secret_sets(chart) if with_secrets else []
    out = run_helm(helm, "template", release, str(chart), *extra, *args, env=env).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def by_kind(objs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


def helmgen_cli(*args: str, cwd: Path | None = None, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "helmgen", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120, **kw)


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def chdir(tmp_path: Path) -> Iterator[Path]:
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)
