"""End to end: `helm plugin install` from a copy of the repository, then `helm agentgen` on
Helm 4.3.1 and 3.17.3 behaves exactly like `helmgen`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLES, HELM_VERSIONS, ROOT, helm_path, helmgen_cli, run_helm, tree_bytes

IGNORE = shutil.ignore_patterns(".git", ".venv", ".cache", "__pycache__", ".pytest_cache", "*.egg-info",
                                ".plugin-venv", ".plugin-install.log", "build", "dist")


@pytest.fixture(scope="module", params=HELM_VERSIONS, ids=lambda v: f"helm{v}")
def plugin_helm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    version = request.param
    base = tmp_path_factory.mktemp(f"plugin-{version}")
    clone = base / "helmgen"
    shutil.copytree(ROOT, clone, ignore=IGNORE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    env.update(HELM_DATA_HOME=str(base / "data"), HELM_CONFIG_HOME=str(base / "config"),
               HELM_CACHE_HOME=str(base / "cache"))
    # no helmgen on PATH: the plugin must bring its own
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if not (Path(p) / "helmgen").exists())
    helm = helm_path(version)
    args = ["plugin", "install", str(clone)]
    proc = run_helm(helm, *args, env=env)
    assert "Installed plugin: agentgen" in proc.stdout + proc.stderr
    listing = run_helm(helm, "plugin", "list", env=env).stdout
    assert "agentgen" in listing and "0.1.0" in listing
    return helm, env


def test_plugin_yaml_is_the_legacy_format() -> None:
    meta = yaml.safe_load((ROOT / "plugin.yaml").read_text())
    assert set(meta) == {"name", "version", "usage", "description", "platformCommand", "hooks"}
    assert "apiVersion" not in meta and "command" not in meta
    for entry in meta["platformCommand"]:
        assert set(entry) == {"os", "command"}
    assert set(meta["hooks"]) == {"install", "update"}
    import helmgen
    assert meta["version"] == helmgen.__version__


def test_plugin_generates_the_same_chart_as_the_cli(plugin_helm: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    helm, env = plugin_helm
    for spec in EXAMPLES:
        run_helm(helm, "agentgen", str(spec), "-o", str(tmp_path / "plugin"), env=env)
        assert helmgen_cli("generate", str(spec), "-o", str(tmp_path / "cli")).returncode == 0
    assert tree_bytes(tmp_path / "plugin") == tree_bytes(tmp_path / "cli")
    chart = tmp_path / "plugin" / "research-crew"
    assert "0 chart(s) failed" in run_helm(helm, "lint", "--strict", str(chart), env=env).stdout


def test_plugin_commands_match_the_cli(plugin_helm: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    helm, env = plugin_helm
    assert run_helm(helm, "agentgen", "--version", env=env).stdout == helmgen_cli("--version").stdout
    assert run_helm(helm, "agentgen", "schema", env=env).stdout == helmgen_cli("schema").stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: agentgen/v1\nname: x\nversion: 0.1.0\nagents:\n  a: {image: nginx, replica: 2}\n")
    plugin = run_helm(helm, "agentgen", "validate", str(bad), env=env, check=False)
    cli = helmgen_cli("validate", str(bad))
    assert plugin.returncode == cli.returncode == 2
    assert cli.stderr in plugin.stderr
    # Helm's own flags are taken by Helm and never reach the plugin
    out = tmp_path / "out"
    run_helm(helm, "agentgen", "--debug", str(EXAMPLES[0]), "-o", str(out), env=env)
    assert (out / yaml.safe_load(EXAMPLES[0].read_text())["name"] / "Chart.yaml").exists()
    run_helm(helm, "agentgen", "init", "starter", "-o", str(tmp_path / "starter.yaml"), env=env)
    assert helmgen_cli("validate", str(tmp_path / "starter.yaml")).returncode == 0


def test_launcher_says_what_to_do_without_helmgen(tmp_path: Path) -> None:
    plugin_dir = tmp_path / "plugin"
    shutil.copytree(ROOT / "bin", plugin_dir / "bin")
    env = {"PATH": "/usr/bin:/bin", "HELM_PLUGIN_DIR": str(plugin_dir)}
    proc = subprocess.run([str(plugin_dir / "bin" / "helm-agentgen"), "--version"], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 1
    assert "install-hook" in proc.stderr and "pip install helmgen" in proc.stderr


def test_plugin_template_uses_the_calling_helm(plugin_helm: tuple[Path, dict[str, str]]) -> None:
    helm, env = plugin_helm
    spec = next(e for e in EXAMPLES if e.stem == "research-crew")
    env = {**env, "PATH": "/usr/bin:/bin"}  # no helm on PATH: the plugin must use $HELM_BIN from Helm
    out = run_helm(helm, "agentgen", "template", str(spec), "--env", "prod", "-n", "team", "--set",
                   "secrets.llm-keys.values.openai=a", "--set", "secrets.llm-keys.values.anthropic=b", env=env).stdout
    objs = [d for d in yaml.safe_load_all(out) if d]
    worker = next(o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-worker"))
    assert worker["spec"]["replicas"] == 6
    desk = next(e for e in EXAMPLES if e.stem == "support-desk")
    out = run_helm(helm, "agentgen", "template", str(desk), "-n", "team", env=env).stdout
    bindings = [d for d in yaml.safe_load_all(out) if d and d["kind"] == "RoleBinding"]
    assert bindings and all(b["subjects"][0]["namespace"] == "team" for b in bindings)  # Helm's -n reached helm


def test_plugin_publish_uses_the_calling_helm(plugin_helm: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    helm, env = plugin_helm
    spec = next(e for e in EXAMPLES if e.stem == "support-desk")
    env = {**env, "PATH": "/usr/bin:/bin"}  # no helm on PATH: $HELM_BIN from Helm
    out = run_helm(helm, "agentgen", "publish", str(spec), "--to", str(tmp_path / "repo"), env=env).stdout
    assert "support-desk 1.4.0: published" in out
    index = yaml.safe_load((tmp_path / "repo" / "index.yaml").read_text())
    assert [e["version"] for e in index["entries"]["support-desk"]] == ["1.4.0"]
