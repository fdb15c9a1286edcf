"""checkov (--framework kubernetes --skip-download) on rendered charts: the security checks that
the secure defaults promise must all pass. Policy choices a user makes per cluster (image digests,
pull policy Always, a non-default namespace) are not asserted."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, generate, helm_path, run_helm, secret_sets

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
