"""`monitoring` and the NetworkPolicies on the real Helm 4.3.1 and 3.17.3: a metrics port that is
also a serving port is open to scrapers only through `monitoring.allowFrom`; a dedicated metrics
port stays open to any scraper unless allowFrom names who may scrape it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from helmgen.problems import SpecError
from helmgen.spec.check import load_spec
from tests.conftest import by_kind, generate, template

HEAD = "apiVersion: agentgen/v1\nname: mon\nversion: 0.1.0\n"
PROMETHEUS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
              "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}
SPEC = HEAD + """\
agents:
  caller:
    image: ghcr.io/acme/caller:1
    talksTo: [serving, serving-allowed, grpc, dedicated, declared, dedicated-allowed]
  serving:                        # metrics on the port callers use, no allowFrom: no extra admission
    image: ghcr.io/acme/a:1
    port: 8080
    monitoring: {}
  serving-allowed:                # metrics on the port callers use: only allowFrom may scrape
    image: ghcr.io/acme/a:1
    port: 8080
    monitoring:
      port: 8080
      allowFrom:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
          podSelector: {matchLabels: {app.kubernetes.io/name: prometheus}}
        - ipBlock: {cidr: 10.8.0.0/16, except: [10.8.1.0/24]}
  grpc:                           # a second port of the agent is a serving port too
    image: ghcr.io/acme/a:1
    ports: {http: 8080, grpc: 9090}
    monitoring: {port: grpc}
  dedicated:                      # a port only for metrics (added by monitoring): open to scrapers
    image: ghcr.io/acme/a:1
    port: 8080
    monitoring: {port: 9100}
  declared:                       # a dedicated port declared in ports as `metrics`
    image: ghcr.io/acme/a:1
    ports: {http: 8080, metrics: 9090}
    monitoring: {port: metrics, serviceMonitor: true}
  dedicated-allowed:              # a dedicated port with allowFrom: only they may scrape
    image: ghcr.io/acme/a:1
    port: 8080
    monitoring:
      port: 9100
      allowFrom: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]
"""


def rules(np: dict[str, Any]) -> list[tuple[Any, list[int]]]:
    """Each ingress rule as (its peers, or None for anyone; its port numbers)."""
    return [(r.get("from"), [p["port"] for p in r["ports"]]) for r in np["spec"]["ingress"]]


def admitted_from_anywhere(np: dict[str, Any]) -> set[int]:
    return {port for peers, ports in rules(np) if peers is None for port in ports}


def test_monitoring_never_opens_a_serving_port(tmp_path: Path, helm: Path) -> None:
    spec = tmp_path / "mon.yaml"
    spec.write_text(SPEC)
    objs = template(helm, generate(spec, tmp_path), "--namespace", "agents")
    nps = by_kind(objs, "NetworkPolicy")
    callers_rule = {"podSelector": {"matchLabels": {"app.kubernetes.io/instance": "rel"}, "matchExpressions": [
        {"key": "app.kubernetes.io/component", "operator": "In", "values": ["caller"]}]}}

    serving = nps["rel-serving"]
    assert admitted_from_anywhere(serving) == set()
    assert len(rules(serving)) == 1 and callers_rule in rules(serving)[0][0]  # callers and its test pod only

    allowed = nps["rel-serving-allowed"]
    assert admitted_from_anywhere(allowed) == set()
    assert rules(allowed)[1] == ([PROMETHEUS, {"ipBlock": {"cidr": "10.8.0.0/16", "except": ["10.8.1.0/24"]}}],
                                 [8080])

    assert admitted_from_anywhere(nps["rel-grpc"]) == set() and len(rules(nps["rel-grpc"])) == 1

    assert admitted_from_anywhere(nps["rel-dedicated"]) == {9100}
    assert admitted_from_anywhere(nps["rel-declared"]) == {9090}

    only = nps["rel-dedicated-allowed"]
    assert admitted_from_anywhere(only) == set()
    assert rules(only)[1] == ([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
                              [9100])

    # the scrape annotations and the ServiceMonitor are unchanged
    pods = {n: d["spec"]["template"]["metadata"].get("annotations", {}) for n, d in by_kind(objs, "Deployment").items()}
    assert pods["rel-serving"]["prometheus.io/port"] == "8080"
    assert pods["rel-dedicated"]["prometheus.io/port"] == "9100"
    assert by_kind(objs, "ServiceMonitor")["rel-declared"]["spec"]["endpoints"][0]["port"] == "metrics"

    import kubernetes_validate

    for np in nps.values():
        kubernetes_validate.validate(np, "1.30.0", strict=True)


def test_allow_from_in_values_and_schema(tmp_path: Path, helm: Path) -> None:
    spec = tmp_path / "mon.yaml"
    spec.write_text(SPEC)
    chart = generate(spec, tmp_path)
    values = yaml.safe_load((chart / "values.yaml").read_text())
    assert values["agents"]["serving"]["monitoring"]["allowFrom"] == []  # the default, written out
    assert values["agents"]["serving-allowed"]["monitoring"]["allowFrom"][0] == PROMETHEUS
    schema = json.loads((chart / "values.schema.json").read_text())
    assert "allowFrom" in json.dumps(schema)
    # a values file may open the serving port to a scraper, and may not misspell a peer's field
    objs = template(helm, chart, "--set-json",
                    'agents.serving.monitoring.allowFrom=[{"podSelector":{"matchLabels":{"app":"scraper"}}}]')
    assert rules(by_kind(objs, "NetworkPolicy")["rel-serving"])[1] == (
        [{"podSelector": {"matchLabels": {"app": "scraper"}}}], [8080])
    from tests.conftest import run_helm, secret_sets

    bad = run_helm(helm, "template", "rel", str(chart), *secret_sets(chart), "--set-json",
                   'agents.serving.monitoring.allowFrom=[{"podSelecter":{}}]', check=False)
    assert bad.returncode != 0 and "podSelecter" in bad.stderr


def errors(tmp_path: Path, body: str) -> list[str]:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + textwrap.dedent(body).lstrip("\n"))
    with pytest.raises(SpecError) as exc:
        load_spec(str(spec))
    return [line.replace(str(spec), "spec.yaml") for line in exc.value.lines()]


def test_allow_from_problems(tmp_path: Path) -> None:
    lines = errors(tmp_path, """
        agents:
          a:
            image: nginx
            port: 80
            monitoring:
              allowFrom:
                - {}
                - {ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}
                - {ipBlock: {cidr: 10.0.0.300/8}}
                - {ipBlock: {cidr: 10.0.0.0}}
                - {podSelektor: {}}
                - podSelector: []
        """)
    assert lines == [
        "spec.yaml:10:11: agents.a.monitoring.allowFrom[0]: names no peer (give podSelector, namespaceSelector or ipBlock)",
        "spec.yaml:11:11: agents.a.monitoring.allowFrom[1]: gives ipBlock together with a selector "
        "(Kubernetes takes ipBlock alone; use two peers)",
        "spec.yaml:12:28: agents.a.monitoring.allowFrom[2].ipBlock.cidr: '10.0.0.300/8' is not a CIDR "
        "(for example 10.0.0.0/8 or fd00::/8)",
        "spec.yaml:13:28: agents.a.monitoring.allowFrom[3].ipBlock.cidr: '10.0.0.0' is not a CIDR: it has no prefix "
        "length (for example 10.0.0.0/8 or fd00::/8)",
        'spec.yaml:14:12: agents.a.monitoring.allowFrom[4].podSelektor: unknown field (did you mean "podSelector"?)',
        "spec.yaml:15:24: agents.a.monitoring.allowFrom[5].podSelector: expected a mapping, got a list",
    ]
