"""`helmgen deploy`, `rollback` and `history`: the exact Helm commands, the dry run with the real Helm,
and what `helm history -o json` says. No cluster exists here: commands that need one run a recording
executable as HELM_BIN (it writes its argv to a file and prints canned output)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CRD_KINDS, EXAMPLES, by_kind, helm_path, helmgen_cli

SPEC = next(e for e in EXAMPLES if e.stem == "research-crew")
SECRETS = ("--set", "secrets.llm-keys.values.openai=a", "--set", "secrets.llm-keys.values.anthropic=b")
DIGEST = "sha256:" + hashlib.sha256(SPEC.read_bytes()).hexdigest()

FAKE = f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_LOG"], "a") as f:
    f.write(json.dumps(args) + "\\n")
if args[:1] == ["version"]:
    print(os.environ["FAKE_VERSION"], end="")
elif args[:1] == ["history"]:
    print(open(os.environ["FAKE_HISTORY"]).read())
elif args[:1] in (["upgrade"], ["rollback"]):
    print("fake helm " + args[0])
    sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
else:
    sys.exit("unexpected helm command")
"""

# the documented shape of `helm history RELEASE -o json` (Helm's releaseInfo: revision, updated, status,
# chart, app_version, description)
HISTORY = [
    {"revision": 1, "updated": "2026-11-01T10:00:00.1+00:00", "status": "superseded", "chart": "research-crew-0.3.0",
     "app_version": "1.0.0", "description": f"agentgen 0123456789ab env=prod spec={DIGEST}"},
    {"revision": 2, "updated": "2026-11-02T10:00:00.1+00:00", "status": "superseded", "chart": "research-crew-0.4.0",
     "app_version": "1.1.0", "description": "agentgen ba9876543210 env=- spec=sha256:00"},
    {"revision": 3, "updated": "2026-11-03T10:00:00.1+00:00", "status": "failed", "chart": "research-crew-0.5.0-rc.1",
     "app_version": "1.2.0", "description": "Upgrade \"research-crew\" failed: timed out"},
    {"revision": 4, "updated": "2026-11-03T10:05:00.1+00:00", "status": "superseded", "chart": "research-crew-0.3.0",
     "app_version": "1.0.0", "description": "Rollback to 1"},
    {"revision": 5, "updated": "2026-11-04T10:00:00.1+00:00", "status": "deployed", "chart": "research-crew-0.4.0",
     "app_version": "1.1.0", "description": "Upgrade complete"},
]


@pytest.fixture
def fake(tmp_path: Path) -> dict[str, Any]:
    exe = tmp_path / "fake-helm"
    exe.write_text(FAKE)
    exe.chmod(0o755)
    history = tmp_path / "history.json"
    history.write_text(json.dumps(HISTORY))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    env.update(HELM_BIN=str(exe), FAKE_LOG=str(tmp_path / "argv.log"), FAKE_VERSION="v4.3.1",
               FAKE_HISTORY=str(history), XDG_CACHE_HOME=str(tmp_path / "cache"))
    return env


def calls(env: dict[str, Any]) -> list[list[str]]:
    log = Path(env["FAKE_LOG"])
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def description(env: str) -> str:
    ident = hashlib.sha256(f"{DIGEST}\nenv={env}".encode()).hexdigest()[:12]
    return f"agentgen {ident} env={env} spec={DIGEST}"


@pytest.mark.parametrize("version,flag", [("v4.3.1", "--rollback-on-failure"), ("v3.17.3", "--atomic")])
def test_deploy_runs_upgrade_install_with_wait_and_rollback_on_failure(fake: dict[str, Any], tmp_path: Path,
                                                                       version: str, flag: str) -> None:
    fake["FAKE_VERSION"] = version
    out = tmp_path / "charts"
    proc = helmgen_cli("deploy", str(SPEC), "--env", "prod", "--release", "crew", "-o", str(out),
                       "--namespace", "agents", "--timeout", "10m", env=fake)
    assert proc.returncode == 0, proc.stderr
    chart = out / "research-crew"
    assert calls(fake) == [
        ["version", "--template", "{{.Version}}"],
        ["upgrade", "--install", "crew", str(chart), "-f", str(chart / "values-prod.yaml"), "--wait", flag,
         "--description", description("prod"), "--namespace", "agents", "--timeout", "10m"]]
    ident = description("prod").split()[1]
    assert f"deployment {ident} (env prod, spec {DIGEST})" in proc.stdout
    assert (chart / "values-prod.yaml").exists()


def test_the_deployment_id_follows_the_spec_and_the_environment(fake: dict[str, Any], tmp_path: Path) -> None:
    def ident(spec: Path, *args: str) -> str:
        proc = helmgen_cli("deploy", str(spec), *args, env=fake)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()[1]

    first = ident(SPEC, "--env", "dev")
    assert ident(SPEC, "--env", "dev") == first  # same input, same id
    assert ident(SPEC, "--env", "prod") != first
    assert ident(SPEC) != first
    changed = tmp_path / "spec.yaml"
    changed.write_bytes(SPEC.read_bytes() + b"# a comment is a change of the spec\n")
    assert ident(changed, "--env", "dev") != first
    # without -o the chart goes to a cache folder per release; the default release is the chart name
    upgrade = calls(fake)[1]
    assert upgrade[3] == str(Path(fake["XDG_CACHE_HOME"]) / "helmgen" / "deploy" / "research-crew" / "research-crew")


def test_the_plugin_namespace_is_said_in_the_command(fake: dict[str, Any]) -> None:
    proc = helmgen_cli("deploy", str(SPEC), "--release", "crew", env={**fake, "HELM_NAMESPACE": "team"})
    assert proc.returncode == 0, proc.stderr
    assert calls(fake)[1][-2:] == ["--namespace", "team"]
    explicit = helmgen_cli("deploy", str(SPEC), "-n", "other", env={**fake, "HELM_NAMESPACE": "team"})
    assert explicit.returncode == 0 and calls(fake)[3][-2:] == ["-n", "other"]


def test_a_failed_upgrade_is_a_failed_deploy(fake: dict[str, Any]) -> None:
    proc = helmgen_cli("deploy", str(SPEC), env={**fake, "FAKE_EXIT": "1"})
    assert proc.returncode == 1
    assert "helm upgrade failed (exit code 1)" in proc.stderr


def test_bad_deploy_input_runs_no_helm(fake: dict[str, Any], tmp_path: Path) -> None:
    assert helmgen_cli("deploy", str(SPEC), "--env", "nope", env=fake).returncode == 2
    assert helmgen_cli("deploy", str(SPEC), "--release", "Bad_Name", env=fake).returncode == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: agentgen/v1\nname: x\nversion: 0.1.0\nagents:\n  a: {image: nginx, replica: 2}\n")
    proc = helmgen_cli("deploy", str(bad), env=fake)
    assert proc.returncode == 2 and "bad.yaml:5:" in proc.stderr
    assert calls(fake) == []


@pytest.mark.parametrize("version", ["4.3.1", "3.17.3"])
def test_dry_run_prints_the_command_and_renders_with_the_real_helm(tmp_path: Path, version: str) -> None:
    import kubernetes_validate

    helm = helm_path(version)
    # a recording wrapper around the real Helm: proves which Helm commands ran (none talks to a cluster)
    wrapper = tmp_path / "helm"
    wrapper.write_text(f"#!/bin/sh\necho \"$1\" >> '{tmp_path}/ran'\nexec '{helm}' \"$@\"\n")
    wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELM_")}
    env.update(HELM_BIN=str(wrapper), KUBECONFIG=str(tmp_path / "no-such-kubeconfig"),
               HELM_CACHE_HOME=str(tmp_path / "hc"), HELM_CONFIG_HOME=str(tmp_path / "hcfg"),
               HELM_DATA_HOME=str(tmp_path / "hd"))
    out = tmp_path / "charts"
    proc = helmgen_cli("deploy", str(SPEC), "--env", "dev", "--release", "r1", "-o", str(out), "--dry-run",
                       "--namespace", "team", *SECRETS, env=env)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "ran").read_text().split() == ["version", "template"]
    chart = out / "research-crew"
    flag = "--rollback-on-failure" if version.startswith("4") else "--atomic"
    [line] = [ln for ln in proc.stderr.splitlines() if ln.startswith("would run: ")]
    assert line == (f"would run: helm upgrade --install r1 {chart} -f {chart}/values-dev.yaml --wait {flag} "
                    f"--description '{description('dev')}' --namespace team " + " ".join(SECRETS))
    objs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    deps = by_kind(objs, "Deployment")
    assert "r1-tracer" in deps and "r1-evaluator" not in deps  # values-dev.yaml applied
    assert deps["r1-planner"]["spec"]["replicas"] == 1
    checked = 0
    for obj in objs:
        if obj["kind"] not in CRD_KINDS:
            kubernetes_validate.validate(obj, "1.30.0", strict=True)
            checked += 1
    assert checked > 10
    # the same flags helm template takes: the rendering is what `helmgen template` gives for them
    plain = helmgen_cli("template", str(SPEC), "--env", "dev", "--release", "r1", "--namespace", "team", *SECRETS,
                        env=env)
    assert plain.returncode == 0 and plain.stdout == proc.stdout


def test_chart_yaml_carries_the_spec_digest(tmp_path: Path) -> None:
    proc = helmgen_cli("generate", str(SPEC), "-o", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    meta = yaml.safe_load((tmp_path / "research-crew" / "Chart.yaml").read_text())
    assert meta["annotations"]["agentgen.io/spec-digest"] == DIGEST
    # a byte order mark is not part of the spec's text
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbf" + SPEC.read_bytes())
    assert helmgen_cli("generate", str(bom), "-o", str(tmp_path / "b")).returncode == 0
    assert (tmp_path / "b" / "research-crew" / "Chart.yaml").read_bytes() == \
        (tmp_path / "research-crew" / "Chart.yaml").read_bytes()


def test_history_shows_environment_and_deployment(fake: dict[str, Any]) -> None:
    proc = helmgen_cli("history", "research-crew", "-n", "agents", env=fake)
    assert proc.returncode == 0, proc.stderr
    assert calls(fake) == [["history", "research-crew", "-o", "json", "-n", "agents"]]
    rows = [line.split() for line in proc.stdout.splitlines()]
    assert rows[0] == ["REVISION", "UPDATED", "STATUS", "CHART", "VERSION", "APP", "VERSION", "ENV", "DEPLOYMENT",
                       "DESCRIPTION"]
    assert rows[1] == ["1", "2026-11-01T10:00:00.1+00:00", "superseded", "0.3.0", "1.0.0", "prod", "0123456789ab"]
    assert rows[2][3:] == ["0.4.0", "1.1.0", "-", "ba9876543210"]
    assert rows[3][3:6] == ["0.5.0-rc.1", "1.2.0", "Upgrade"]  # not deployed by helmgen: Helm's description
    assert rows[4][3:] == ["0.3.0", "1.0.0", "prod", "0123456789ab", "Rollback", "to", "1"]  # what it went back to
    assert rows[5][3:] == ["0.4.0", "1.1.0", "Upgrade", "complete"]


def test_rollback_to_a_revision(fake: dict[str, Any]) -> None:
    proc = helmgen_cli("rollback", "crew", "3", "--timeout", "2m", env=fake)
    assert proc.returncode == 0, proc.stderr
    assert calls(fake) == [["rollback", "crew", "3", "--wait", "--timeout", "2m"]]


def test_rollback_to_a_chart_version_takes_its_newest_good_revision(fake: dict[str, Any]) -> None:
    proc = helmgen_cli("rollback", "crew", "--to-version", "0.3.0", "-n", "agents", "--timeout", "2m", env=fake)
    assert proc.returncode == 0, proc.stderr
    assert calls(fake) == [["history", "crew", "-o", "json", "-n", "agents"],
                           ["rollback", "crew", "4", "--wait", "-n", "agents", "--timeout", "2m"]]
    assert "chart version 0.3.0 is revision 4 (deployment 0123456789ab, env prod)" in proc.stdout


@pytest.mark.parametrize("version,message", [
    ("0.5.0-rc.1", "chart version 0.5.0-rc.1 never deployed successfully (revisions 3: failed)"),
    ("9.9.9", "no revision ran chart version 9.9.9 (versions in the history: 0.3.0, 0.4.0, 0.5.0-rc.1)"),
])
def test_rollback_to_a_version_it_cannot_find(fake: dict[str, Any], version: str, message: str) -> None:
    proc = helmgen_cli("rollback", "crew", "--to-version", version, env=fake)
    assert proc.returncode == 2
    assert proc.stderr == f"helmgen: crew: {message}\n"
    assert [c[0] for c in calls(fake)] == ["history"]


def test_rollback_takes_at_most_one_target(fake: dict[str, Any]) -> None:
    assert helmgen_cli("rollback", "crew", "2", "--to-version", "0.3.0", env=fake).returncode == 2
    assert calls(fake) == []
    # no target: Helm's own rule, the previous revision (`helm rollback RELEASE` without REVISION)
    proc = helmgen_cli("rollback", "crew", "-n", "agents", env=fake)
    assert proc.returncode == 0, proc.stderr
    assert calls(fake) == [["rollback", "crew", "--wait", "-n", "agents"]]
    assert "running: helm rollback crew --wait -n agents" in proc.stdout


def test_history_that_is_not_the_documented_shape(fake: dict[str, Any], tmp_path: Path) -> None:
    Path(fake["FAKE_HISTORY"]).write_text('{"revision": 1}')
    proc = helmgen_cli("history", "crew", env=fake)
    assert proc.returncode == 1 and "not a list of revisions" in proc.stderr
    assert shutil.which(fake["HELM_BIN"])
