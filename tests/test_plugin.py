"""End to end: `helm plugin install` from a copy of the repository, then `helm agentgen` on
Helm 4.3.1 and 3.17.3 behaves exactly like `helmgen`."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLES, HELM_VERSIONS, ROOT, helm_path, helmgen_cli, run_helm, tree_bytes

IGNORE = shutil.ignore_patterns(".git", ".venv", ".cache", "__pycache__", ".pytest_cache", "*.egg-info",
                                ".plugin-venv", ".plugin-install.log", "build", "dist")


@pytest.fixture(scope="module", params=HELM_VERSIONS, ids=lambda v: f"helm{v}")
def plugin_helm(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    version = request.param
    # spaces in both the source folder and the Helm home: $HELM_PLUGIN_DIR has them too
    base = tmp_path_factory.mktemp(f"plugin-{version}") / "a folder with spaces"
    clone = base / "my helmgen"
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
    assert "agentgen: ready" in proc.stdout + proc.stderr  # the install hook built the plugin's own venv
    [plugin_dir] = Path(run_helm(helm, "env", "HELM_PLUGINS", env=env).stdout.strip()).iterdir()
    assert " " in str(plugin_dir) and (plugin_dir / ".plugin-venv" / "bin" / "helmgen").exists()
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
    # Helm splits a command on spaces before it expands $HELM_PLUGIN_DIR (quotes would stay in the program
    # name), but runs hooks with `sh -c`, where an unquoted folder with spaces splits
    assert {e["command"] for e in meta["platformCommand"]} == {"$HELM_PLUGIN_DIR/bin/helm-agentgen"}
    assert meta["hooks"]["install"] == meta["hooks"]["update"] == '"$HELM_PLUGIN_DIR/bin/install-hook"'
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


def _hint(stderr: str, command: str) -> str:
    """The line of a message that tells the user to run `command ...`, from that command on."""
    [line] = [ln for ln in stderr.splitlines() if command in ln]
    return line[line.index(command):]


def _check_advice(stderr: str, plugin_dir: Path) -> None:
    """The ways to put helmgen on PATH work on a PEP 668 system (Debian 12, Ubuntu 24.04), where
    `python3 -m pip install` outside a virtualenv is refused, and install this plugin's own distribution."""
    assert "-m pip install" not in stderr and "pip install helmgen" not in stderr and "helm-agentgen" in stderr
    assert shlex.split(_hint(stderr, "pipx install")) == ["pipx", "install", str(plugin_dir)]
    assert _hint(stderr, "python3 -m venv") == (
        f'python3 -m venv ~/.helm-agentgen && ~/.helm-agentgen/bin/pip install "{plugin_dir}"')


def test_launcher_says_what_to_do_without_helmgen(tmp_path: Path) -> None:
    plugin_dir = tmp_path / "plugin dir"
    shutil.copytree(ROOT, plugin_dir, ignore=IGNORE)
    env = {"PATH": "/usr/bin:/bin", "HELM_PLUGIN_DIR": str(plugin_dir)}
    proc = subprocess.run([str(plugin_dir / "bin" / "helm-agentgen"), "--version"], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 1
    assert f'"{plugin_dir}/bin/install-hook"' in proc.stderr and "python3-venv" in proc.stderr
    # PyPI's `helmgen` is an unrelated project: the hint installs this plugin's own distribution
    _check_advice(proc.stderr, plugin_dir)
    name = re.search(r'^name = "(.*)"$', (plugin_dir / "pyproject.toml").read_text(), re.M)
    assert name and name.group(1) == "helm-agentgen"


def test_install_hook_without_python_says_what_to_do(tmp_path: Path) -> None:
    plugin_dir = tmp_path / "plugin dir"
    shutil.copytree(ROOT / "bin", plugin_dir / "bin")
    env = {"PATH": str(tmp_path / "no-python-here"), "HELM_PLUGIN_DIR": str(plugin_dir)}
    proc = subprocess.run(["/bin/sh", str(plugin_dir / "bin" / "install-hook")], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 0  # never fails the plugin install
    assert "could not find python3 >= 3.10" in proc.stderr
    _check_advice(proc.stderr, plugin_dir)
    assert f'"{plugin_dir}/bin/install-hook"' in proc.stderr


def test_install_hook_names_a_missing_venv_module(tmp_path: Path) -> None:
    """Debian and Ubuntu ship python3 without its venv module (the python3-venv package): the hook says
    so, instead of asking for a python3 >= 3.10 that is there."""
    plugin_dir = tmp_path / "plugin dir"
    shutil.copytree(ROOT / "bin", plugin_dir / "bin")
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "python3").write_text(
        "#!/bin/sh\n"
        'if [ "$1" = -m ] && [ "$2" = venv ]; then\n'
        '  echo "The virtual environment was not created successfully because ensurepip is not available." >&2\n'
        "  exit 1\nfi\n"
        f'exec "{sys.executable}" "$@"\n')
    (tools / "python3").chmod(0o755)
    env = {"PATH": f"{tools}:/usr/bin:/bin", "HELM_PLUGIN_DIR": str(plugin_dir), "HELMGEN_PYTHON": ""}
    proc = subprocess.run(["/bin/sh", str(plugin_dir / "bin" / "install-hook")], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 0  # never fails the plugin install
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"python3 {version} cannot create a virtualenv: its venv module is missing" in proc.stderr
    assert "apt-get install python3-venv" in proc.stderr and f"python{version}-venv" in proc.stderr
    assert "once python3" not in proc.stderr and "could not find python3" not in proc.stderr
    assert f'"{plugin_dir}/bin/install-hook" again' in proc.stderr
    assert "ensurepip is not available" in (plugin_dir / ".plugin-install.log").read_text()
    assert not (plugin_dir / ".plugin-venv").exists()  # no half-made venv left for the launcher
    _check_advice(proc.stderr, plugin_dir)


def test_own_virtualenv_advice_works(tmp_path: Path) -> None:
    """The advice for a virtualenv of one's own, run as written by a shell (the hook's line, from a folder
    with spaces), gives a working helmgen."""
    plugin_dir = tmp_path / "plugin dir"
    shutil.copytree(ROOT, plugin_dir, ignore=IGNORE)
    proc = subprocess.run(["/bin/sh", str(plugin_dir / "bin" / "install-hook")], capture_output=True, text=True,
                          env={"PATH": str(tmp_path / "none"), "HELM_PLUGIN_DIR": str(plugin_dir)})
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "python3").symlink_to(sys.executable)
    home = tmp_path / "home"
    home.mkdir()
    run = subprocess.run(["/bin/sh", "-c", _hint(proc.stderr, "python3 -m venv")], capture_output=True, text=True,
                         env={**os.environ, "HOME": str(home), "PATH": f"{tools}:/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr
    version = subprocess.run([str(home / ".helm-agentgen" / "bin" / "helmgen"), "--version"], capture_output=True,
                             text=True)
    assert version.stdout == helmgen_cli("--version").stdout


def test_plugin_venv_holds_the_helm_agentgen_distribution(plugin_helm: tuple[Path, dict[str, str]]) -> None:
    helm, env = plugin_helm
    [plugin_dir] = Path(run_helm(helm, "env", "HELM_PLUGINS", env=env).stdout.strip()).iterdir()
    python = plugin_dir / ".plugin-venv" / "bin" / "python"
    code = ("import importlib.metadata as m, sys; print(m.distribution('helm-agentgen').metadata['Name']); "
            "sys.exit(any(d.metadata['Name'] == 'helmgen' for d in m.distributions()))")
    proc = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "helm-agentgen", proc.stderr


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


@pytest.fixture(scope="module")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This repository's files, committed to a bare repository that `git daemon` serves on 127.0.0.1."""
    base = tmp_path_factory.mktemp("git server")
    src, served = base / "src", base / "served"
    shutil.copytree(ROOT, src, ignore=IGNORE)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org", "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "plugin"]):
        subprocess.run([*git, *args], cwd=src, check=True, capture_output=True)
    subprocess.run([*git, "clone", "-q", "--bare", str(src), str(served / "helmgen.git")], check=True,
                   capture_output=True)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    daemon = subprocess.Popen(["git", "daemon", f"--base-path={served}", "--export-all", "--listen=127.0.0.1",
                               f"--port={port}", "--reuseaddr", "--informative-errors", str(served)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = f"git://127.0.0.1:{port}/helmgen.git"
        for _ in range(100):  # until it answers
            if subprocess.run(["git", "ls-remote", url], capture_output=True).returncode == 0:
                break
            daemon.wait(timeout=0.1) if daemon.poll() is not None else time.sleep(0.1)
        else:
            pytest.fail(f"git daemon did not start: {daemon.stderr.read() if daemon.stderr else ''}")
        yield url
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)


@pytest.mark.parametrize("version", HELM_VERSIONS)
def test_plugin_installs_from_a_git_url_as_the_readme_says(git_server: str, version: str, tmp_path: Path) -> None:
    """The README's `helm plugin install https://github.com/<owner>/<repo>` lines: a URL that is neither a
    local folder nor an archive goes to Helm's VCS installer (git), as this git:// URL does."""
    readme = (ROOT / "README.md").read_text()
    lines = [ln.split("#")[0].split() for ln in readme.splitlines() if ln.startswith("helm plugin install https://")]
    helm3, helm4 = lines
    assert helm3[3] == helm4[3] == "https://github.com/<owner>/<repo>"
    assert helm3[4:] == [] and helm4[4:] == ["--verify=false"]
    helm = helm_path(version)
    home = tmp_path / "helm home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    env.update(HELM_DATA_HOME=str(home / "data"), HELM_CONFIG_HOME=str(home / "config"),
               HELM_CACHE_HOME=str(home / "cache"))
    # no usable Python for the install hook (the local-folder tests build its venv): the install must still
    # succeed, and the plugin then runs the helmgen it finds on PATH
    tools = tmp_path / "tools"
    tools.mkdir()
    for name in ("python3", "python"):
        (tools / name).write_text("#!/bin/sh\nexit 1\n")
        (tools / name).chmod(0o755)
    (tools / "helmgen").symlink_to(Path(sys.executable).parent / "helmgen")
    path = [p for p in env["PATH"].split(os.pathsep) if not (Path(p) / "helmgen").exists()]
    env["PATH"] = os.pathsep.join([str(tools), *path])
    flags = helm4[4:] if version.startswith("4.") else helm3[4:]
    other = helm3[4:] if version.startswith("4.") else helm4[4:]
    refused = run_helm(helm, "plugin", "install", git_server, *other, env=env, check=False)
    assert refused.returncode != 0  # Helm 4 without --verify=false, Helm 3 with it (an unknown flag there)
    assert ("--verify=false" in refused.stderr) if version.startswith("4.") else ("unknown flag" in refused.stderr)
    proc = run_helm(helm, "plugin", "install", git_server, *flags, env=env)
    assert "Installed plugin: agentgen" in proc.stdout + proc.stderr
    assert "pipx install" in proc.stderr  # the hook said what to do instead
    assert run_helm(helm, "agentgen", "--version", env=env).stdout == helmgen_cli("--version").stdout
