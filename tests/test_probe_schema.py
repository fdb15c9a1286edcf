"""A probe has one handler: values.schema.json refuses a values file that adds a second one (Helm merges it
with the chart's, and Kubernetes refuses a probe with two); setting the old one to null switches it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import by_kind, generate, run_helm

SPEC = """\
apiVersion: agentgen/v1
name: probes
version: 1.0.0
agents:
  web:
    image: nginx:1.27
    port: 8080
    health: {liveness: /healthz, readiness: /ready}
"""


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    (tmp_path / "s.yaml").write_text(SPEC)
    return generate(tmp_path / "s.yaml", tmp_path / "out")


def _values(tmp_path: Path, readiness: object) -> Path:
    f = tmp_path / "v.yaml"
    f.write_text(yaml.safe_dump({"agents": {"web": {"health": {"readiness": readiness}}}}))
    return f


def test_a_second_handler_is_refused_at_the_probe(helm: Path, chart: Path, tmp_path: Path) -> None:
    for readiness in ({"tcpSocket": {"port": 8080}}, {"grpc": {"port": 9000}}, {"exec": {"command": ["true"]}}):
        proc = run_helm(helm, "template", "r", str(chart), "-f", str(_values(tmp_path, readiness)), check=False)
        assert proc.returncode != 0
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("- ")]
        assert errors and all("/agents/web/health/readiness'" in e or e.startswith("- agents.web.health.readiness:")
                              for e in errors), proc.stderr
    # two handlers written together in one values file, for a new agent, are refused too
    f = tmp_path / "new.yaml"
    f.write_text(yaml.safe_dump({"agents": {"extra": {"image": {"repository": "nginx"}, "health": {
        "liveness": {"httpGet": {"port": 80}, "exec": {"command": ["true"]}}}}}}))
    proc = run_helm(helm, "template", "r", str(chart), "-f", str(f), check=False)
    assert proc.returncode != 0 and "health" in proc.stderr and "liveness" in proc.stderr


def test_null_switches_a_probe_handler(helm: Path, chart: Path, tmp_path: Path) -> None:
    values = _values(tmp_path, {"httpGet": None, "tcpSocket": {"port": 8080}, "periodSeconds": 5})
    [dep] = by_kind([d for d in yaml.safe_load_all(run_helm(helm, "template", "r", str(chart), "-f", str(values)).stdout)
                     if d], "Deployment").values()
    probe = dep["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe == {"tcpSocket": {"port": 8080}, "periodSeconds": 5}
    assert dep["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["path"] == "/healthz"
    # --set works the same way
    out = run_helm(helm, "template", "r", str(chart), "--set", "agents.web.health.readiness.httpGet=null",
                   "--set", "agents.web.health.readiness.exec.command={check}").stdout
    [dep] = by_kind([d for d in yaml.safe_load_all(out) if d], "Deployment").values()
    assert dep["spec"]["template"]["spec"]["containers"][0]["readinessProbe"] == {"exec": {"command": ["check"]}}


def test_a_probe_in_agent_defaults_is_valid(chart: Path) -> None:
    import json

    import jsonschema

    schema = json.loads((chart / "values.schema.json").read_text())
    values = yaml.safe_load((chart / "values.yaml").read_text())
    values["agentDefaults"]["health"] = {"liveness": {"httpGet": {"path": "/x", "port": 8080}}}
    jsonschema.Draft7Validator(schema).validate(values)  # agentDefaults keeps the one-handler rule's branches
    values["agentDefaults"]["health"]["liveness"]["tcpSocket"] = {"port": 8080}
    assert not jsonschema.Draft7Validator(schema).is_valid(values)
