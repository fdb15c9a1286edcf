"""Bugs found in the review of the rollout, wiring and architecture merges, each rendered by the real
Helm 4.3.1 and 3.17.3."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import by_kind, generate, run_helm, template

pytestmark = pytest.mark.helm

# A track's env replaces the agent's variable as a whole: a canary or slot that reads a variable
# from a Secret (or the downward API) where the agent has a literal must not keep the literal.
ENV_KINDS_SPEC = """
apiVersion: agentgen/v1
name: envkinds
version: 0.1.0
agents:
  api:
    image: ghcr.io/acme/api:1.0
    port: 8080
    env: {A: {secret: keys, key: old}, B: literal, C: {field: metadata.name}}
    rollout:
      strategy: canary
      canary:
        weight: 10
        env: {A: plain, B: {secret: keys, key: new}, C: {resource: limits.memory}}
  web:
    image: ghcr.io/acme/web:1.0
    port: 8080
    env: {B: literal}
    rollout:
      strategy: blueGreen
      blueGreen:
        active: blue
        blue: {}
        green: {env: {B: {configMap: settings, key: b}}}
"""


def env_of(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in workload["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_track_env_replaces_a_variable_of_another_kind(helm: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(ENV_KINDS_SPEC))
    deployments = by_kind(template(helm, generate(spec, tmp_path / "out")), "Deployment")

    stable = env_of(deployments["rel-api"])
    assert stable["A"] == {"name": "A", "valueFrom": {"secretKeyRef": {"name": "keys", "key": "old"}}}
    assert stable["B"] == {"name": "B", "value": "literal"}

    canary = env_of(deployments["rel-api-canary"])
    assert canary["A"] == {"name": "A", "value": "plain"}
    assert canary["B"] == {"name": "B", "valueFrom": {"secretKeyRef": {"name": "keys", "key": "new"}}}
    assert canary["C"] == {"name": "C", "valueFrom": {"resourceFieldRef": {"containerName": "api",
                                                                           "resource": "limits.memory"}}}

    assert env_of(deployments["rel-web-blue"])["B"] == {"name": "B", "value": "literal"}
    assert env_of(deployments["rel-web-green"])["B"] == {
        "name": "B", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "b"}}}


def test_values_file_switching_a_variable_source_must_null_the_old_one(helm: Path, tmp_path: Path) -> None:
    """Helm merges a values file's {secret, key} into values.yaml's {value}: the schema refuses the
    mixture (the pod would silently keep the literal), and `value: null` switches the source."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(ENV_KINDS_SPEC))
    chart = generate(spec, tmp_path / "out")
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text("agents:\n  api:\n    env:\n      B: {secret: keys, key: other}\n")
    out = run_helm(helm, "template", "rel", str(chart), "-f", str(mixed), check=False)
    assert out.returncode != 0
    assert "env/B" in out.stderr or "env.B" in out.stderr

    switched = tmp_path / "switched.yaml"
    switched.write_text("agents:\n  api:\n    env:\n      B: {value: null, secret: keys, key: other}\n")
    deployments = by_kind(template(helm, chart, "-f", str(switched)), "Deployment")
    assert env_of(deployments["rel-api"])["B"] == {
        "name": "B", "valueFrom": {"secretKeyRef": {"name": "keys", "key": "other"}}}


# A dependency disabled in an environment but given its own host is a service outside the chart: an
# agent may reach it through talksTo as it may through ${deps.…} (both were checked differently).
DISABLED_DEP_WITH_HOST = """
apiVersion: agentgen/v1
name: outside
version: 0.1.0
dependencies:
  postgresql: {repository: "oci://registry-1.docker.io/bitnamicharts", version: 16.4.x, port: 5432,
               host: db.shared.svc}
agents:
  api:
    image: ghcr.io/acme/api:1.0
    port: 8080
    talksTo: [{agent: postgresql, scheme: postgres, env: DATABASE_URL}]
    env: {DSN: "postgres://${deps.postgresql.host}:${deps.postgresql.port}/app"}
environments:
  dev:
    dependencies:
      postgresql: {enabled: false}
"""


def test_talks_to_a_disabled_dependency_with_its_own_host(helm: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(DISABLED_DEP_WITH_HOST))
    chart = generate(spec, tmp_path / "out")
    objs = template(helm, chart, "-f", str(chart / "values-dev.yaml"))
    env = env_of(by_kind(objs, "Deployment")["rel-api"])
    assert env["DATABASE_URL"] == {"name": "DATABASE_URL", "value": "postgres://db.shared.svc:5432"}
    assert env["DSN"] == {"name": "DSN", "value": "postgres://db.shared.svc:5432/app"}


def test_rolling_update_numbers_from_a_values_file_cannot_inject_yaml(helm: Path, tmp_path: Path) -> None:
    """maxSurge / maxUnavailable reach the manifest quoted: the schema takes a count or a percentage
    only, and even past it (--skip-schema-validation) a string cannot add keys to the workload."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(ENV_KINDS_SPEC))
    chart = generate(spec, tmp_path / "out")
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text('agents:\n  api:\n    rollout:\n      maxSurge: "1\\n    paused: true"\n')
    refused = run_helm(helm, "template", "rel", str(chart), "-f", str(hostile), check=False)
    assert refused.returncode != 0 and "maxSurge" in refused.stderr

    objs = template(helm, chart, "-f", str(hostile), "--skip-schema-validation")
    deployment = by_kind(objs, "Deployment")["rel-api"]
    assert "paused" not in deployment["spec"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == "1\n    paused: true"

    fine = tmp_path / "fine.yaml"
    fine.write_text("agents:\n  api:\n    rollout: {maxSurge: 50%, maxUnavailable: 1}\n")
    rolling = by_kind(template(helm, chart, "-f", str(fine)), "Deployment")["rel-api"]["spec"]["strategy"]
    assert rolling["rollingUpdate"] == {"maxSurge": "50%", "maxUnavailable": 1}


@pytest.mark.parametrize("override, field", [
    ('agents:\n  api:\n    disruption: {maxUnavailable: "1\\n  unhealthyPodEvictionPolicy: AlwaysAllow"}\n',
     "maxUnavailable"),
    ('tests:\n  image: {pullPolicy: "Never\\n          tty: true"}\n', "pullPolicy"),
], ids=["disruption", "test-image-pull-policy"])
def test_other_values_strings_cannot_inject_yaml(helm: Path, tmp_path: Path, override: str, field: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(ENV_KINDS_SPEC))
    chart = generate(spec, tmp_path / "out")
    hostile = tmp_path / "hostile.yaml"
    hostile.write_text(override)
    refused = run_helm(helm, "template", "rel", str(chart), "-f", str(hostile), check=False)
    assert refused.returncode != 0 and field in refused.stderr

    objs = template(helm, chart, "-f", str(hostile), "--skip-schema-validation")
    for pdb in by_kind(objs, "PodDisruptionBudget").values():
        assert "unhealthyPodEvictionPolicy" not in pdb["spec"]
    if field == "maxUnavailable":
        assert by_kind(objs, "PodDisruptionBudget")["rel-api"]["spec"]["maxUnavailable"] == (
            "1\n  unhealthyPodEvictionPolicy: AlwaysAllow")
    for job in by_kind(objs, "Job").values():
        assert "tty" not in job["spec"]["template"]["spec"]["containers"][0]
