"""What the leaner templates (issue #9's speed bound) write by hand instead of toYaml, quote or a check per
object: probes, resources and rollingUpdate values written field by field must equal what was given; label
values and the namespace, written in double quotes without a quote call, must stay valid; the helm test
Job's name must stay within 63 characters where only a collision suffix makes it long."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import by_kind, generate, run_helm

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

SPEC = """\
apiVersion: agentgen/v1
name: lean
version: 1.0.0
appVersion: "2.0 beta+build/7"
agents:
  web:
    image: ghcr.io/acme/web:1.0
    ports: {http: 8080, grpc: 9090}
    health:
      liveness: {exec: [sh, -c, "test -f /tmp/ok"], periodSeconds: 2000000, timeoutSeconds: 3}
      readiness: {grpc: 9090, initialDelaySeconds: 5, failureThreshold: 1000000}
      startup: {tcp: http, terminationGracePeriodSeconds: 30}
    resources: {cpu: "1.5", memory: 1Gi, gpu: 1}
"""


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    (tmp_path / "s.yaml").write_text(SPEC)
    return generate(tmp_path / "s.yaml", tmp_path / "out")


def _render(helm: Path, chart: Path, *args: str) -> list[dict[str, Any]]:
    out = run_helm(helm, "template", "rel", str(chart), *args).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def _container(objs: list[dict[str, Any]]) -> dict[str, Any]:
    [dep] = by_kind(objs, "Deployment").values()
    return dict(dep["spec"]["template"]["spec"]["containers"][0])


def test_probes_and_resources_render_as_given(helm: Path, chart: Path) -> None:
    c = _container(_render(helm, chart))
    assert c["livenessProbe"] == {"exec": {"command": ["sh", "-c", "test -f /tmp/ok"]}, "periodSeconds": 2000000,
                                  "timeoutSeconds": 3}
    assert c["readinessProbe"] == {"grpc": {"port": 9090}, "initialDelaySeconds": 5, "failureThreshold": 1000000}
    assert c["startupProbe"] == {"tcpSocket": {"port": "http"}, "terminationGracePeriodSeconds": 30}
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert c["resources"]["requests"]["cpu"] == "1.5"


def test_probe_fields_from_a_values_file_render_as_given(helm: Path, chart: Path, tmp_path: Path) -> None:
    probe = {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTPS", "host": "localhost",
                         "httpHeaders": [{"name": "X-Check", "value": "1"}]},
             "periodSeconds": 10, "successThreshold": 1}
    values = tmp_path / "v.yaml"
    values.write_text(yaml.safe_dump({"agents": {"web": {"health": {"readiness": {"grpc": None, **probe}},
                                                         "resources": {"limits": {"memory": 3000000000}}}}}))
    c = _container(_render(helm, chart, "-f", str(values)))
    # the spec's timings stay (a values file merges into them)
    assert c["readinessProbe"] == {**probe, "initialDelaySeconds": 5, "failureThreshold": 1000000}
    assert c["resources"]["limits"]["memory"] == 3000000000


@pytest.mark.parametrize("surge, unavailable", [(1000000, 0), ("30%", "10%"), (0, 1)])
def test_rolling_update_values_render_as_given(helm: Path, chart: Path, tmp_path: Path, surge: object,
                                               unavailable: object) -> None:
    values = tmp_path / "v.yaml"
    values.write_text(yaml.safe_dump({"agents": {"web": {"rollout": {"maxSurge": surge, "maxUnavailable": unavailable}}}}))
    [dep] = by_kind(_render(helm, chart, "-f", str(values)), "Deployment").values()
    assert dep["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": surge, "maxUnavailable": unavailable}


def test_label_values_stay_valid_whatever_the_app_version(helm: Path, chart: Path) -> None:
    objs = _render(helm, chart)
    assert objs
    for o in objs:
        for key, value in (o["metadata"].get("labels") or {}).items():
            assert isinstance(value, str) and LABEL_VALUE.match(value), (o["kind"], key, value)
    [dep] = by_kind(objs, "Deployment").values()
    assert dep["metadata"]["labels"]["app.kubernetes.io/version"] == "2.0_beta_build_7"


def test_an_invalid_namespace_fails_the_render_by_name(helm: Path, chart: Path) -> None:
    proc = run_helm(helm, "template", "rel", str(chart), "--namespace", "Not_A_Namespace", check=False)
    assert proc.returncode != 0
    assert 'namespace "Not_A_Namespace" is not a Kubernetes namespace name' in proc.stderr


def test_a_test_job_name_with_a_collision_suffix_stays_within_63(helm: Path, tmp_path: Path) -> None:
    # the fullname of "a-twenty-one-chars-ab" under a 30-character release is 52 characters (no shortening),
    # and a Job agent named <it>-test makes the helm test Job take a hash suffix
    agent = "a-twenty-one-chars-ab"
    spec = tmp_path / "s.yaml"
    spec.write_text(f"""\
apiVersion: agentgen/v1
name: collide
version: 1.0.0
agents:
  {agent}:
    image: nginx:1.27
    port: 8080
  {agent}-test:
    image: busybox:1.36
    kind: Job
""")
    chart = generate(spec, tmp_path / "out")
    release = "r" * 30
    assert len(f"{release}-{agent}") == 52
    out = run_helm(helm, "template", release, str(chart)).stdout
    jobs = [d["metadata"]["name"] for d in yaml.safe_load_all(out) if d and d["kind"] == "Job"]
    assert len(jobs) == len(set(jobs)) == 2
    assert all(len(n) <= 63 for n in jobs), jobs
