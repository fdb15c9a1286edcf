"""Adversarial checks of promote / abort / deploy / rollback / history, run as a user runs them:
the CLI in a subprocess, bytes and exit codes compared. Commands that need a cluster run a recording
HELM_BIN (the `fake` fixture of test_deploy); `deploy --dry-run` runs the real Helm."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.conftest import helm_path, helmgen_cli
from tests.test_deploy import SECRETS, SPEC, calls, fake  # noqa: F401  (fake is a fixture)


def _real_helm_env(tmp_path: Path, version: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    env.update(HELM_BIN=str(helm_path(version)), KUBECONFIG=str(tmp_path / "no-such-kubeconfig"),
               HELM_CACHE_HOME=str(tmp_path / "hc"), HELM_CONFIG_HOME=str(tmp_path / "hcfg"),
               HELM_DATA_HOME=str(tmp_path / "hd"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    return env


@pytest.mark.parametrize("version", ["4.3.1", "3.17.3"])
def test_dry_run_with_upgrade_only_options(tmp_path: Path, version: str) -> None:
    """`helm template` refuses options only `helm upgrade` has (--history-max, --reuse-values, -i, ...):
    the dry run prints them in the command, renders without them, and says so."""
    env = _real_helm_env(tmp_path, version)
    upgrade_only = ["--history-max", "5", "--cleanup-on-fail", "-i", "--reset-values", "-o", "json"]
    if version.startswith("4"):
        upgrade_only += ["--server-side", "auto", "--hide-notes"]
    plain = helmgen_cli("deploy", str(SPEC), "--env", "dev", "--dry-run", "--timeout", "5m", *SECRETS, env=env)
    assert plain.returncode == 0, plain.stderr
    proc = helmgen_cli("deploy", str(SPEC), "--env", "dev", "--dry-run", "--timeout", "5m", *SECRETS, "--",
                       *upgrade_only, env=env)
    assert proc.returncode == 0, proc.stderr
    [line] = [ln for ln in proc.stderr.splitlines() if ln.startswith("would run: ")]
    assert line.endswith(" --timeout 5m " + " ".join(SECRETS) + " " + " ".join(upgrade_only))
    assert f"helm template leaves out (upgrade only): {' '.join(upgrade_only)}" in proc.stderr
    assert proc.stdout == plain.stdout
    assert any(o and o["kind"] == "Deployment" for o in yaml.safe_load_all(proc.stdout))
