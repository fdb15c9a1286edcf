"""`helm agentgen deploy|promote|history` route through the plugin to helmgen's commands; Helm's own
-n flag reaches deploy as HELM_NAMESPACE and is said in the command."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import yaml

from tests.conftest import EXAMPLES, run_helm
from tests.test_plugin import plugin_helm  # noqa: F401  (the fixture: the plugin installed into Helm 4 and 3)

SPEC = next(e for e in EXAMPLES if e.stem == "research-crew")
SECRETS = ("--set", "secrets.llm-keys.values.openai=a", "--set", "secrets.llm-keys.values.anthropic=b")


def test_plugin_deploy_dry_run(plugin_helm: tuple[Path, dict[str, str]], tmp_path: Path) -> None:  # noqa: F811
    helm, env = plugin_helm
    env = {**env, "XDG_CACHE_HOME": str(tmp_path / "cache"), "KUBECONFIG": str(tmp_path / "none")}
    proc = run_helm(helm, "agentgen", "-n", "team", "deploy", str(SPEC), "--env", "dev", "--dry-run", *SECRETS,
                    env=env)
    chart = tmp_path / "cache" / "helmgen" / "deploy" / "research-crew" / "research-crew"
    digest = "sha256:" + hashlib.sha256(SPEC.read_bytes()).hexdigest()
    [line] = [ln for ln in proc.stderr.splitlines() if ln.startswith("would run: ")]
    assert line.startswith(f"would run: helm upgrade --install research-crew {chart} -f {chart}/values-dev.yaml "
                           "--wait --")
    assert f" env=dev spec={digest}' --namespace team --set" in line
    objs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert {o["metadata"].get("namespace", "team") for o in objs} == {"team"}
    assert any(o["kind"] == "Deployment" and o["metadata"]["name"] == "research-crew-tracer" for o in objs)


def test_plugin_promote(plugin_helm: tuple[Path, dict[str, str]], tmp_path: Path) -> None:  # noqa: F811
    helm, env = plugin_helm
    spec = tmp_path / "crew.yaml"
    from tests.test_promote import CREW, CREW_PROMOTED

    spec.write_text(CREW)
    proc = run_helm(helm, "agentgen", "promote", str(spec), "planner", env=env)
    assert "promoted planner's canary" in proc.stdout and spec.read_text() == CREW_PROMOTED
    assert shutil.which(str(helm))
