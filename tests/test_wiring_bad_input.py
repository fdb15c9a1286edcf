"""Issue 10's bad inputs as a user meets them through the CLI: each a positioned error
(FILE:LINE:COL: path: what is wrong (hint)), exit code 2, no traceback, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import helmgen_cli

HEAD = """\
apiVersion: agentgen/v1
name: bad
version: 0.1.0
secrets:
  db: {keys: [password]}
dependencies:
  pg: {repository: oci://registry.example.org/charts, chart: postgresql, version: 16.4.x}
agents:
  nats: {image: nats:2.10, ports: {client: 4222}}
  off: {image: x:1, port: 80, enabled: false}
  me:
    image: ghcr.io/acme/me:1
    port: 8080
"""


def _fails(tmp_path: Path, text: str) -> list[str]:
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
    problems = [line.removeprefix(f"{spec}:") for line in proc.stderr.splitlines()
                if line.startswith(f"{spec}:") and "warning:" not in line]
    assert problems, proc.stderr
    return problems


@pytest.mark.parametrize("body,expected", [
    ("    env: {A: 'nats://${agent.nats.host}:4222'}",
     "14:11: agents.me.env.A: ${agent.nats.host} is not a reference: 'agent' is not a root (did you mean "
     "${agents.nats.host}?"),
    ("    env: {A: '${agents.off.url}'}", "14:11: agents.me.env.A: ${agents.off.url}: agent 'off' is disabled"),
    ("    env: {A: '$(B)/a', B: '$(C)/b', C: 'x$(A)'}", "14:11: agents.me.env.A: uses itself through $(VAR): A → B → C → A"),
    ("    rbac: {clusterRules: []}", "14:5: agents.me.rbac: grants nothing"),
], ids=["agent-root", "disabled", "cycle", "no-cluster-rules"])
def test_the_issue_bad_inputs(tmp_path: Path, body: str, expected: str) -> None:
    problems = _fails(tmp_path, HEAD + body + "\n")
    assert len(problems) == 1 and problems[0].startswith(expected), problems


@pytest.mark.parametrize("kind", ["", "    kind: StatefulSet\n", "    kind: CronJob\n    schedule: '@daily'\n"])
def test_a_hook_on_a_non_job(tmp_path: Path, kind: str) -> None:
    problems = _fails(tmp_path, HEAD + kind + "    job: {hook: [pre-install]}\n")
    line = 14 + kind.count("\n")
    assert f"{line}:11: agents.me.job.hook: applies to a Job, not to a " in "\n".join(problems), problems


@pytest.mark.parametrize("dep,expected", [
    ("{repository: oci://registry.example.org/charts, chart: postgresql}", "7:3: dependencies.pg.version: is required"),
    ("{repository: 'htp://charts.example.org', version: 1.x}", "7:20: dependencies.pg.repository: 'htp://charts.example.org' is not a chart repository URL"),
    ("{repository: 'charts.example.org/stable', version: 1.x}", "7:20: dependencies.pg.repository: "),
], ids=["no-version", "bad-scheme", "no-scheme"])
def test_bad_dependencies(tmp_path: Path, dep: str, expected: str) -> None:
    text = HEAD.replace("{repository: oci://registry.example.org/charts, chart: postgresql, version: 16.4.x}", dep)
    problems = _fails(tmp_path, text)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


@pytest.mark.parametrize("rbac,expected", [
    ("{clusterRules: [{}]}", "14:27: agents.me.rbac.clusterRules[0]: a rule needs verbs"),
    ("{rules: [{apiGroups: [''], resources: [pods]}]}", "14:20: agents.me.rbac.rules[0]: a rule needs verbs"),
    ("{rules: [{verbs: [get], resources: [pods]}]}", "14:20: agents.me.rbac.rules[0]: a resource rule needs apiGroups"),
    ("{clusterRules: [{verbs: [get], apiGroups: ['']}]}",
     "14:27: agents.me.rbac.clusterRules[0]: a resource rule needs resources"),
    ("{rules: [{verbs: [get], nonResourceURLs: [/healthz]}]}",
     "14:20: agents.me.rbac.rules[0]: nonResourceURLs apply to the whole cluster"),
    ("{clusterRules: [{verbs: [get], verbs2: [x]}]}", "14:42: agents.me.rbac.clusterRules[0].verbs2: unknown field (did you mean \"verbs\"?)"),
], ids=["empty", "no-verbs", "no-api-groups", "no-resources", "non-resource-in-role", "unknown-key"])
def test_rbac_rules_the_api_server_would_refuse(tmp_path: Path, rbac: str, expected: str) -> None:
    problems = _fails(tmp_path, HEAD + f"    rbac: {rbac}\n")
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_rules_the_api_server_takes_are_accepted(tmp_path: Path) -> None:
    spec = tmp_path / "ok.yaml"
    spec.write_text(HEAD + "    rbac:\n      rules: [{apiGroups: [''], resources: [pods], verbs: [get], "
                    "resourceNames: [x]}]\n      clusterRules: [{nonResourceURLs: [/healthz, /metrics], verbs: [get]},"
                    " {apiGroups: ['*'], resources: ['*'], verbs: ['*']}]\n")
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("peer,expected", [
    # Helm 3 creates client-side: the API server drops the unknown `app`, leaving podSelector: {}, which admits
    # every pod of the namespace; so a selector that is not a LabelSelector is an error
    ("{podSelector: {app: edge}}", "14:32: agents.me.allowFrom[0].podSelector.app: unknown field"),
    ("{namespaceSelector: {matchLabels: {team: a}, matchExpressions: [{key: tier, operator: Equals, values: [x]}]}}",
     "14:103: agents.me.allowFrom[0].namespaceSelector.matchExpressions[0].operator: 'Equals' is not allowed"),
    ("{podSelector: {matchExpressions: [{key: tier, operator: In}]}}",
     "14:51: agents.me.allowFrom[0].podSelector.matchExpressions[0]: operator In needs values"),
    ("{podSelector: {matchExpressions: [{key: tier, operator: Exists, values: [a]}]}}",
     "14:51: agents.me.allowFrom[0].podSelector.matchExpressions[0]: operator Exists takes no values"),
    ("{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}",
     "14:55: agents.me.allowFrom[0].ipBlock.except[0]: '192.168.0.0/16' is not inside cidr 10.0.0.0/8"),
], ids=["not-a-selector", "bad-operator", "in-without-values", "exists-with-values", "except-outside"])
def test_allow_from_peers_the_api_server_would_refuse_or_widen(tmp_path: Path, peer: str, expected: str) -> None:
    problems = _fails(tmp_path, HEAD + f"    allowFrom: [{peer}]\n")
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_allow_from_label_selectors_are_accepted(tmp_path: Path) -> None:
    spec = tmp_path / "ok.yaml"
    spec.write_text(HEAD + "    allowFrom:\n"
                    "      - {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: gw}}, "
                    "podSelector: {matchExpressions: [{key: app, operator: In, values: [edge]}, "
                    "{key: canary, operator: DoesNotExist}]}}\n"
                    "      - {ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}\n"
                    "      - {namespaceSelector: {}}\n")
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
