"""An agent's own pods and allowFrom peers in its NetworkPolicy, rbac.clusterRules, agentCard (issue 10)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from helmgen.spec.check import load_spec
from tests.conftest import by_kind, generate, run_helm, template
from tests.test_check import errors

HEAD = "apiVersion: agentgen/v1\nname: net\nversion: 0.1.0\n"
SPEC = HEAD + textwrap.dedent("""
    agents:
      nats:
        image: nats:2.10
        state: {size: 1Gi}
        replicas: 3
        ports: {client: 4222, cluster: 6222}
        allowFrom:
          - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress}}
          - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
      operator:
        image: ghcr.io/acme/operator:1.0
        rbac:
          rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
          clusterRules: [{apiGroups: [""], resources: [nodes], verbs: [list]}]
      watcher:
        image: ghcr.io/acme/watcher:1.0
        rbac:
          clusterRules: [{apiGroups: [""], resources: [namespaces], verbs: [list]}]
      card:
        image: ghcr.io/acme/card:1.0
        port: 9000
        protocol: a2a
        agentCard: /.well-known/agent.json
    """)


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    return generate(spec, tmp_path / "out")


def _validate(objs: list[dict[str, Any]], kinds: tuple[str, ...]) -> None:
    import kubernetes_validate

    for o in objs:
        if o["kind"] in kinds:
            kubernetes_validate.validate(o, "1.30.0", strict=True)


def test_own_pods_and_allow_from_reach_the_agent_ports(chart: Path, helm: Path) -> None:
    objs = template(helm, chart)
    _validate(objs, ("NetworkPolicy",))
    np = by_kind(objs, "NetworkPolicy")["rel-nats"]
    rule = np["spec"]["ingress"][0]
    sts = by_kind(objs, "StatefulSet")["rel-nats"]
    own = {"podSelector": {"matchLabels": sts["spec"]["selector"]["matchLabels"]}}
    assert own in rule["from"]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress"}}} in rule["from"]
    assert {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}} in rule["from"]
    assert sorted(p["port"] for p in rule["ports"]) == [4222, 6222]
    # the own-pods peer selects exactly the agent's pods
    labels = sts["spec"]["template"]["metadata"]["labels"]
    assert all(labels[k] == v for k, v in own["podSelector"]["matchLabels"].items())


def test_cluster_rules_make_a_cluster_role_unique_per_namespace(chart: Path, helm: Path) -> None:
    objs = template(helm, chart, "--namespace", "team-a")
    _validate(objs, ("ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"))
    cr = by_kind(objs, "ClusterRole")
    assert set(cr) == {"team-a-rel-operator", "team-a-rel-watcher"}
    assert cr["team-a-rel-watcher"]["rules"] == [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["list"]}]
    crb = by_kind(objs, "ClusterRoleBinding")["team-a-rel-watcher"]
    assert crb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                              "name": "team-a-rel-watcher"}
    assert crb["subjects"] == [{"kind": "ServiceAccount", "name": "rel-watcher", "namespace": "team-a"}]
    assert set(by_kind(objs, "Role")) == {"rel-operator"}  # watcher has no namespaced rules
    other = {o["metadata"]["name"] for o in template(helm, chart, "--namespace", "team-b") if o["kind"] == "ClusterRole"}
    assert not other & set(cr)
    pod = by_kind(objs, "Deployment")["rel-watcher"]["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True


def test_cluster_role_names_are_shortened(chart: Path, helm: Path) -> None:
    ns = "a-namespace-name-that-is-rather-long-indeed"
    objs = template(helm, chart, "--namespace", ns, release="a-release-name-that-is-long-too")
    names = set(by_kind(objs, "ClusterRole")) | set(by_kind(objs, "ClusterRoleBinding"))
    assert names and all(len(n) <= 63 for n in names)
    assert len(set(by_kind(objs, "ClusterRole"))) == 2


def test_agent_card_drives_readiness_and_helm_test(chart: Path, helm: Path) -> None:
    objs = template(helm, chart)
    pod = by_kind(objs, "Deployment")["rel-card"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["readinessProbe"]["httpGet"] == {"path": "/.well-known/agent.json", "port": "http"}
    test = by_kind(objs, "Job")["rel-card-test"]
    args = test["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "http http://rel-card:9000/.well-known/agent.json" in args


def test_values_file_agent_agent_card_and_allow_from(chart: Path, helm: Path) -> None:
    objs = template(helm, chart, "--set", "agents.late.image.repository=nginx", "--set", "agents.late.protocol=a2a",
                    "--set", "agents.late.ports.http.port=80", "--set", "agents.late.agentCard=/card.json",
                    "--set", "agents.late.allowFrom[0].ipBlock.cidr=192.168.0.0/16")
    pod = by_kind(objs, "Deployment")["rel-late"]["spec"]["template"]["spec"]
    assert pod["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/card.json"
    rule = by_kind(objs, "NetworkPolicy")["rel-late"]["spec"]["ingress"][0]
    assert {"ipBlock": {"cidr": "192.168.0.0/16"}} in rule["from"]


def test_network_chart_lints(chart: Path, helm: Path) -> None:
    run_helm(helm, "lint", "--strict", str(chart))


def _errors(tmp_path: Path, body: str) -> list[str]:
    return errors(tmp_path, body, HEAD)


def test_empty_rbac_and_portless_allow_from_are_errors(tmp_path: Path) -> None:
    lines = _errors(tmp_path, """
        agents:
          a:
            image: nginx
            rbac: {clusterRules: []}
          b:
            image: nginx
            rbac: {rules: []}
          c:
            image: nginx
            allowFrom: [{podSelector: {}}]
          d:
            image: nginx
            port: 80
            allowFrom: [{}, {ipBlock: {cidr: 10.0.0.0}}]
        """)
    assert lines[:3] == [
        "spec.yaml:7:5: agents.a.rbac: grants nothing: rules and clusterRules are both empty (give rules (a Role) "
        "or clusterRules (a ClusterRole), or drop rbac)",
        "spec.yaml:10:5: agents.b.rbac: grants nothing: rules and clusterRules are both empty (give rules (a Role) "
        "or clusterRules (a ClusterRole), or drop rbac)",
        "spec.yaml:13:5: agents.c.allowFrom: the agent has no ports to admit anyone to (add port or ports, or drop "
        "allowFrom)",
    ]
    assert any("agents.d.allowFrom[0]: names no peer" in line for line in lines)
    assert any("agents.d.allowFrom[1].ipBlock.cidr" in line for line in lines)


def test_allow_from_causes_no_follow_on_error_of_a_bad_port(tmp_path: Path) -> None:
    lines = _errors(tmp_path, """
        agents:
          a:
            image: nginx
            port: http
            allowFrom: [{podSelector: {}}]
        """)
    assert len(lines) == 1 and "agents.a.port:" in lines[0]


def test_wildcard_cluster_rules_warn(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + textwrap.dedent("""
        agents:
          a:
            image: nginx:1.27
            health: false
            rbac:
              clusterRules: [{apiGroups: [""], resources: ["*"], verbs: [get]}]
        """))
    warnings = [w.path for w in load_spec(str(spec)).warnings]
    assert "agents.a.rbac.clusterRules[0].resources" in warnings
