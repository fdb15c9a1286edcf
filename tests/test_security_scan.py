"""checkov (--framework kubernetes --skip-download) on rendered charts: the security checks that
the secure defaults promise must all pass, and nothing fails but the policy choices a user makes
per cluster (image digests, pull policy Always, secrets as environment variables)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLES, SPECS, generate, helm_path, run_helm, secret_sets

MUST_PASS = {
    "CKV_K8S_10": "CPU requests", "CKV_K8S_11": "CPU limits", "CKV_K8S_12": "memory requests",
    "CKV_K8S_13": "memory limits", "CKV_K8S_16": "privileged", "CKV_K8S_17": "hostPID", "CKV_K8S_18": "hostIPC",
    "CKV_K8S_19": "hostNetwork", "CKV_K8S_20": "allowPrivilegeEscalation", "CKV_K8S_22": "readOnlyRootFilesystem",
    "CKV_K8S_23": "root containers", "CKV_K8S_25": "added capabilities", "CKV_K8S_28": "NET_RAW",
    "CKV_K8S_29": "pod securityContext", "CKV_K8S_30": "container securityContext", "CKV_K8S_31": "seccomp",
    "CKV_K8S_37": "capabilities", "CKV_K8S_38": "service account tokens", "CKV_K8S_39": "SYS_ADMIN",
    "CKV_K8S_40": "high UID",
}


def checkov() -> list[str]:
    exe = Path(sys.executable).parent / "checkov"
    if exe.exists():
        return [str(exe)]
    found = shutil.which("checkov")
    if not found:
        pytest.fail("checkov is not installed: run the tests with scripts/test.sh, which installs it")
    return [found]


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.stem == "research-crew"], ids=lambda p: p.stem)
def test_checkov_security_checks_pass(tmp_path: Path, example: Path) -> None:
    chart = generate(example, tmp_path)
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(run_helm(helm_path("4.3.1"), "template", "rel", str(chart), *secret_sets(chart)).stdout)
    proc = subprocess.run([*checkov(), "-f", str(manifest), "--framework", "kubernetes", "--skip-download",
                           "-o", "json"], capture_output=True, text=True, timeout=300)
    report = json.loads(proc.stdout)
    report = report[0] if isinstance(report, list) else report
    failed = [(f["check_id"], f["resource"]) for f in report["results"]["failed_checks"] if f["check_id"] in MUST_PASS]
    assert failed == []
    passed = {f["check_id"] for f in report["results"]["passed_checks"]}
    assert set(MUST_PASS) <= passed  # every promised check was actually evaluated


# image digests, secrets as environment variables, pull policy Always: the user's choice per cluster
ALLOWED = {"CKV_K8S_43", "CKV_K8S_35", "CKV_K8S_15"}


def scan(chart: Path, tmp_path: Path) -> tuple[set[tuple[str, str]], set[str]]:
    """checkov on `helm template --namespace agents`: the failed (check, resource) pairs and the passed checks."""
    manifest = tmp_path / "rendered.yaml"
    manifest.write_text(run_helm(helm_path("4.3.1"), "template", "rel", str(chart), "--namespace", "agents",
                                 *secret_sets(chart)).stdout)
    proc = subprocess.run([*checkov(), "-f", str(manifest), "--framework", "kubernetes", "--skip-download",
                           "-o", "json"], capture_output=True, text=True, timeout=300)
    report = json.loads(proc.stdout)
    report = report[0] if isinstance(report, list) else report
    failed = {(f["check_id"], f["resource"]) for f in report["results"]["failed_checks"]}
    return failed, {f["check_id"] for f in report["results"]["passed_checks"]}


def without_opt_outs(spec: Path, dest: Path) -> Path:
    """The spec without the settings that knowingly turn a check off: rbac (mounts the API token,
    CKV_K8S_38), `health: false` (no probes, CKV_K8S_8/9), `readOnlyRootFilesystem: false`
    (CKV_K8S_22) and a sidecar without probes (CKV_K8S_8/9)."""
    data = yaml.safe_load(spec.read_text())
    for agent in data["agents"].values():
        agent.pop("rbac", None)
        if agent.get("health") is False:
            agent.pop("health")
        (agent.get("securityContext") or {}).pop("readOnlyRootFilesystem", None)
        for sidecar in agent.get("sidecars", []):
            sidecar.setdefault("livenessProbe", {"tcpSocket": {"port": 9901}})
            sidecar.setdefault("readinessProbe", {"tcpSocket": {"port": 9901}})
    out = dest / spec.name
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


@pytest.mark.parametrize("spec", [*EXAMPLES, SPECS / "every-field.yaml"], ids=lambda p: p.stem)
def test_checkov_fails_nothing_but_the_users_policy_choices(tmp_path: Path, spec: Path) -> None:
    chart = generate(without_opt_outs(spec, tmp_path), tmp_path / "out")
    failed, passed = scan(chart, tmp_path)
    assert {check for check, _ in failed} <= ALLOWED, sorted(f for f in failed if f[0] not in ALLOWED)
    # the checks this suite is about were evaluated, on namespaced objects and the helm test hooks
    assert {"CKV_K8S_8", "CKV_K8S_9", "CKV_K8S_21", "CKV_K8S_38", "CKV_K8S_22"} <= passed


def test_checkov_on_every_field_fails_only_where_the_spec_opts_out(tmp_path: Path) -> None:
    """every-field as written: beyond the policy choices, exactly the checks its opt-outs turn off."""
    failed, _ = scan(generate(SPECS / "every-field.yaml", tmp_path), tmp_path)
    assert {f for f in failed if f[0] not in ALLOWED} == {
        ("CKV_K8S_38", "Deployment.agents.rel-planner"), ("CKV_K8S_38", "StatefulSet.agents.rel-tools"),  # rbac
        ("CKV_K8S_22", "Deployment.agents.rel-planner"),  # securityContext: {readOnlyRootFilesystem: false}
        ("CKV_K8S_8", "Deployment.agents.rel-planner"), ("CKV_K8S_9", "Deployment.agents.rel-planner"),  # sidecar
        ("CKV_K8S_8", "StatefulSet.agents.rel-memory"), ("CKV_K8S_9", "StatefulSet.agents.rel-memory"),  # health: false
    }
