"""Shared fixtures: the real Helm binaries, chart generation and rendering helpers."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    add_stand_ins(target)
    return target


# Registries the tests may not reach, and the folder of offline stand-ins for their charts.
STAND_INS = {"oci://registry-1.docker.io/bitnamicharts": ROOT / "tests" / "charts" / "bitnami"}


def add_stand_ins(chart: Path) -> None:
    """Copies the stand-in of each dependency served by a registry of STAND_INS into charts/, as
    `helm dependency build` would put the real chart there (the examples depend on Bitnami charts)."""
    import shutil

    for dep in yaml.safe_load((chart / "Chart.yaml").read_text()).get("dependencies") or []:
        folder = STAND_INS.get(str(dep.get("repository", "")).rstrip("/"))
        if folder is not None and (folder / dep["name"]).is_dir():
            shutil.copytree(folder / dep["name"], chart / "charts" / dep["name"], dirs_exist_ok=True)


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


# --- the `helm` marker: `pytest -m "not helm"` is the fast loop (no Helm, no subprocess) ----------------
# A test is marked when it, a fixture it uses, or a function of its module it calls (transitively)
# runs a program: Helm, the helmgen CLI, checkov, node. The guard below makes a miss fail loudly.
_RUNS_A_PROGRAM = re.compile(r"\b(helm|helm_path|run_helm|template|helmgen_cli|subprocess|HELM_VERSIONS|"
                             r"render_envs|render_all|checkov|node)\b")
_module_spawners: dict[str, set[str]] = {}


def _body(func: Any) -> str:
    try:
        source = inspect.getsource(func)
    except (OSError, TypeError):  # made at run time (exec, a factory): judged by the tests that call it
        return ""
    return source.split("\n", 1)[-1]  # without the `def` line: a test named test_helm_… is not a call


def _spawners(module: Any) -> set[str]:
    """Names (in the module) of functions that run a program, directly or through another test
    module's function or one of their own."""
    if module.__name__ not in _module_spawners:
        _module_spawners[module.__name__] = set()  # a cycle of imports between test modules ends here
        funcs = {name: f for name, f in vars(module).items() if inspect.isfunction(f)}
        own = {name: _body(f) for name, f in funcs.items() if f.__module__ == module.__name__}
        found = {name for name, src in own.items() if _RUNS_A_PROGRAM.search(src)}
        for name, f in funcs.items():  # helpers imported from other test modules
            other = sys.modules.get(f.__module__)
            if (f.__module__ != module.__name__ and other is not None and _is_test_module(other)
                    and f.__name__ in _spawners(other)):
                found.add(name)
        while True:
            more = {name for name, src in own.items() if name not in found and _calls(src, found)}
            if not more:
                break
            found |= more
        _module_spawners[module.__name__] = found
    return _module_spawners[module.__name__]


def _is_test_module(module: Any) -> bool:
    return Path(getattr(module, "__file__", None) or "/").resolve().parent == ROOT / "tests"


def _calls(source: str, names: set[str]) -> bool:
    return any(re.search(rf"\b{re.escape(n)}\b", source) for n in names)


def _runs_a_program(item: pytest.Item) -> bool:
    if not isinstance(item, pytest.Function):
        return False
    if item.originalname in _spawners(item.module):
        return True
    defs = item._fixtureinfo.name2fixturedefs  # private pytest API: the fixtures this test uses
    for name in item.fixturenames:
        if name == "helm":
            return True
        for fixturedef in defs.get(name, ()):
            func = getattr(fixturedef, "func", None)
            mod = sys.modules.get(getattr(func, "__module__", ""), None)
            if func is None or mod is None or func.__name__ == "_no_program_unless_marked" or not _is_test_module(mod):
                continue
            src = _body(func)
            if _RUNS_A_PROGRAM.search(src) or _calls(src, _spawners(mod)):
                return True
    return False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "helm: runs a program (Helm, the helmgen CLI, checkov, node); "
                                       "`pytest -m 'not helm'` is the fast loop")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _runs_a_program(item):
            item.add_marker(pytest.mark.helm)


@pytest.fixture(autouse=True)
def _no_program_unless_marked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test without the marker that starts a program fails: the fast loop must stay fast and complete."""
    if request.node.get_closest_marker("helm") is None:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError("this test runs a program but has no `helm` marker: conftest's detection "
                                 "missed it; mark it with @pytest.mark.helm")
        monkeypatch.setattr(subprocess, "Popen", refuse)


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """Short ids for huge parametrized inputs (a 100,000-line spec must not become a test's name)."""
    if isinstance(val, (str, bytes)) and len(val) > 40:
        head = val[:24] if isinstance(val, str) else val[:24].decode("latin-1")
        head = re.sub(r"[^\w.-]+", "_", head).strip("_")
        return f"{argname}-{head}-{len(val)}chars"
    return None


@pytest.fixture(scope="session")
def charts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The examples and tests/specs, generated once for the whole run."""
    from tests.rendered import generate_all

    return generate_all(tmp_path_factory.mktemp("charts"))


@pytest.fixture(scope="session")
def rendered(charts: dict[str, Path]) -> Any:
    """Every chart of `charts` rendered by both Helm versions under several release names."""
    from tests.rendered import render_all

    return render_all(charts)
