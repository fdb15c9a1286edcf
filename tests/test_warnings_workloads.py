"""Warnings about workloads the chart renders valid but Kubernetes runs badly: an untagged Job
(its immutable pod template changes with the appVersion) and a long-running agent without any
probe. Through the CLI: printed on stderr, exit code 0, the chart is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_warnings import run_spec

JOB = ("has no tag or digest, so the Job takes the appVersion as its tag; its pod template is immutable: "
       "a new appVersion makes helm upgrade fail (give it its own tag)")
PROBES = ("no ports and no health: Kubernetes cannot tell whether it is alive "
          "(give health: {liveness: {exec: [...]}, readiness: {exec: [...]}}, or health: false to say so)")

CASES = {
    "untagged-job": ("agents:\n  j: {image: ghcr.io/acme/j, kind: Job}\n",
                     [f"FILE:5:7: agents.j.image: warning: {JOB}"]),
    "untagged-job-from-defaults": ("defaults: {image: ghcr.io/acme/j}\nagents:\n  j: {kind: Job}\n",
                                   [f"FILE:4:12: defaults.image: warning: {JOB}"]),
    "unprobed-deployment": ("agents:\n  a: {image: ghcr.io/acme/a:1}\n", [f"FILE:5:3: agents.a.health: warning: {PROBES}"]),
    "unprobed-statefulset": ("agents:\n  s: {image: ghcr.io/acme/s:1, state: {size: 1Gi}}\n",
                             [f"FILE:5:3: agents.s.health: warning: {PROBES}"]),
    "tagged-job": ("agents:\n  j: {image: ghcr.io/acme/j:1, kind: Job}\n", []),
    "digest-job": ("agents:\n  j: {image: 'ghcr.io/acme/j@sha256:" + "0" * 64 + "', kind: Job}\n", []),
    "untagged-cronjob": ("agents:\n  c: {image: ghcr.io/acme/c, schedule: '0 * * * *'}\n", []),
    "untagged-deployment": ("agents:\n  a: {image: ghcr.io/acme/a, port: 80}\n", []),
    "with-ports": ("agents:\n  a: {image: ghcr.io/acme/a:1, port: 80}\n", []),
    "with-exec-health": ("agents:\n  a: {image: ghcr.io/acme/a:1, health: {liveness: {exec: ['true']}}}\n", []),
    "health-false": ("agents:\n  a: {image: ghcr.io/acme/a:1, health: false}\n", []),
}


@pytest.mark.parametrize("command", ["validate", "generate"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_workload_warnings(tmp_path: Path, case: str, command: str) -> None:
    body, expected = CASES[case]
    spec, proc = run_spec(tmp_path, body, command)
    assert proc.stderr.splitlines() == [line.replace("FILE", str(spec)) for line in expected]


def test_no_workload_warning_for_an_image_that_has_a_problem_of_its_own(tmp_path: Path) -> None:
    from tests.conftest import helmgen_cli
    from tests.test_warnings import HEAD

    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + "agents:\n  j: {image: [x], kind: Job}\n")
    proc = helmgen_cli("validate", str(spec))
    assert proc.returncode == 2, proc.stderr
    assert "agents.j.image" in proc.stderr and ": warning:" not in proc.stderr, proc.stderr
