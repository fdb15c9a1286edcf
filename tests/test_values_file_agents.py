"""An agent added in a values file renders exactly as the same agent written in the spec: the same
defaults (kind from schedule or state, probes, disruption budget, resources, job settings) and the
same objects (issue #9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import by_kind, generate, template

HEAD = "apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\nappVersion: '1.0.0'\n"
BASE = "  base: {image: ghcr.io/acme/base:1, port: 8000}\n"
# Spec form of the three agents, and the same agents in values form (what a user writes in a values
# file: the spec's fields, before any default).
SPEC_AGENTS = ("  d: {image: ghcr.io/acme/d:1.0, port: 8080, replicas: 2}\n"
               "  c: {image: ghcr.io/acme/c:1.0, schedule: '0 * * * *'}\n"
               "  s: {image: ghcr.io/acme/s:1.0, port: 9000, state: {size: 1Gi}}\n")
VALUES_AGENTS = {"agents": {
    "d": {"image": {"repository": "ghcr.io/acme/d", "tag": "1.0"}, "ports": {"http": {"port": 8080}}, "replicas": 2},
    "c": {"image": {"repository": "ghcr.io/acme/c", "tag": "1.0"}, "schedule": "0 * * * *"},
    "s": {"image": {"repository": "ghcr.io/acme/s", "tag": "1.0"}, "ports": {"http": {"port": 9000}},
          "state": {"size": "1Gi"}},
}}


def _chart(tmp_path: Path, name: str, agents: str) -> Path:
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(HEAD + "agents:\n" + BASE + agents)
    return generate(spec, tmp_path / name)


def _key(o: dict[str, Any]) -> tuple[str, str]:
    return o["kind"], o["metadata"]["name"]


def test_values_file_agents_render_as_spec_agents(tmp_path: Path, helm: Path) -> None:
    in_spec = _chart(tmp_path, "in-spec", SPEC_AGENTS)
    without = _chart(tmp_path, "without", "")
    values = tmp_path / "agents.yaml"
    values.write_text(yaml.safe_dump(VALUES_AGENTS))
    want = {_key(o): o for o in template(helm, in_spec)}
    got = {_key(o): o for o in template(helm, without, "-f", str(values))}
    assert sorted(got) == sorted(want)
    for k in want:
        assert got[k] == want[k], k
    # the defaults the old templates missed
    assert ("CronJob", "rel-c") in got and ("Deployment", "rel-c") not in got
    assert ("PodDisruptionBudget", "rel-d") in got
    pod = got[("Deployment", "rel-d")]["spec"]["template"]["spec"]
    assert pod["containers"][0]["livenessProbe"] == {"tcpSocket": {"port": "http"}}
    assert pod["terminationGracePeriodSeconds"] == 30


def test_set_agent_gets_probes_and_budget(tmp_path: Path, helm: Path) -> None:
    chart = _chart(tmp_path, "without", "")
    objs = template(helm, chart, "--set", "agents.new.image.repository=x", "--set", "agents.new.ports.http.port=80",
                    "--set", "agents.new.replicas=2")
    c = by_kind(objs, "Deployment")["rel-new"]["spec"]["template"]["spec"]["containers"][0]
    assert c["livenessProbe"] == c["readinessProbe"] == {"tcpSocket": {"port": "http"}}
    assert c["resources"] == {"requests": {"cpu": "100m", "memory": "128Mi"},
                              "limits": {"cpu": "100m", "memory": "128Mi"}}
    assert by_kind(objs, "PodDisruptionBudget")["rel-new"]["spec"] == {
        "maxUnavailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "demo",
                                                          "app.kubernetes.io/instance": "rel",
                                                          "app.kubernetes.io/component": "new",
                                                          "agentgen.io/track": "stable"}}}  # never a canary's pods
    one = template(helm, chart, "--set", "agents.new.image.repository=x", "--set", "agents.new.ports.http.port=80")
    assert "rel-new" not in by_kind(one, "PodDisruptionBudget")
    # a value a default would otherwise fill is kept, even false or 0
    off = template(helm, chart, "--set", "agents.new.image.repository=x", "--set", "agents.new.enabled=false")
    assert "rel-new" not in by_kind(off, "Deployment")
    zero = template(helm, chart, "--set", "agents.new.image.repository=x", "--set", "agents.new.ports.http.port=80",
                    "--set", "agents.new.terminationGracePeriodSeconds=0", "--set", "agents.new.schedule=* * * * *",
                    "--set", "agents.new.job.backoffLimit=0")
    cron = by_kind(zero, "CronJob")["rel-new"]["spec"]
    assert cron["concurrencyPolicy"] == "Forbid"
    assert cron["jobTemplate"]["spec"]["backoffLimit"] == 0
    assert cron["jobTemplate"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 0
