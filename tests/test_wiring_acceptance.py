"""Acceptance of issue 10's wiring on a realistic system, used as a user would: the CLI generates an A2A
deep-research cluster (a NATS StatefulSet cluster, MySQL, an MCP tool server, a pre-install migration hook,
an A2A planner with callers outside the release and cluster-scoped RBAC), and the real Helm 4 and 3 render it
under a short release, a 53-character one and fullnameOverride; every object is checked and validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import helmgen_cli, run_helm

SPEC = """\
apiVersion: agentgen/v1
name: deep-research
version: 0.2.0
appVersion: "1.4.0"
description: A2A deep-research cluster on NATS JetStream and MySQL
secrets:
  mysql: {keys: [root-password]}
  llm: {keys: [openai]}
  unused: {keys: [token]}
defaults:
  resources: {cpu: 50m, memory: 64Mi}
agents:
  nats:
    image: nats:2.10.22-alpine
    kind: StatefulSet
    replicas: 3
    ports: {client: 4222, cluster: 6222, monitor: 8222}
    service: {type: None}
    state: {size: 1Gi, mountPath: /data}
    command: [nats-server]
    args: ["--jetstream", "--store_dir=/data", "--cluster_name=${release}", "--cluster=nats://0.0.0.0:6222",
           "--routes=nats://${self.host}:${self.ports.cluster}", "--http_port=8222"]
    health: {liveness: {path: /healthz, port: monitor}, readiness: {path: /healthz?js-enabled-only=true, port: monitor}}
  mysql:
    image: mysql:8.4
    kind: StatefulSet
    port: 3306
    state: {size: 2Gi, mountPath: /var/lib/mysql}
    env:
      MYSQL_ROOT_PASSWORD: {secret: mysql, key: root-password}
      MYSQL_DATABASE: planner
  tools:
    image: ghcr.io/acme/mcp-tools:1.0
    protocol: mcp
    port: 8000
  planner:
    image: ghcr.io/acme/planner:1.4.0
    protocol: a2a
    agentCard: /.well-known/agent.json
    port: 9999
    talksTo:
      - {agent: nats, port: client, scheme: nats, env: NATS_URL}
      - {agent: tools, path: /sse, env: MCP_SSE_URL}
      - {agent: mysql, env: false}
    env:
      DB_PASSWORD: {secret: mysql, key: root-password}
      MYSQL_DSN: root:$(DB_PASSWORD)@tcp(${agents.mysql.host}:3306)/planner
      MYSQL_DSN2: root:${secrets.mysql.root-password}@tcp(${agents.mysql.host}:${agents.mysql.port})/planner
      NATS_ADDR: nats://${agents.nats.host}:${agents.nats.ports.client}
      MCP_URL: ${agents.tools.url}/sse
      SELF_URL: ${self.url}
      OPENAI_API_KEY: {secret: llm, key: openai}
      BOTH: $(MYSQL_DSN)|$(NATS_ADDR)
      FQDN: ${agents.nats.fqdn}
    allowFrom:
      - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: gateway}}
        podSelector: {matchLabels: {app: edge}}
    rbac:
      rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
      clusterRules: [{apiGroups: [""], resources: [nodes], verbs: [get, list]}]
  worker:
    image: ghcr.io/acme/worker:1.4.0
    protocol: a2a
    port: 9000
    env:
      NATS_URL: nats://${agents.nats.host}:${agents.nats.ports.client}
      PLANNER_CARD: ${agents.planner.url}/.well-known/agent.json
  migrate:
    image: ghcr.io/acme/migrate:1.4.0
    kind: Job
    job: {hook: [pre-install, pre-upgrade], hookWeight: -5, backoffLimit: 2}
    env:
      DSN: root:${secrets.mysql.root-password}@tcp(${agents.mysql.host}:3306)/planner
    config:
      mountPath: /etc/migrate
      files:
        migrate.sh: |
          #!/bin/sh
          until nc -z ${agents.mysql.host} 3306; do sleep 1; done
          echo "${MYSQL_HOST}" $${release}
    secretMounts:
      mysql: {mountPath: /secrets/mysql}
    rbac:
      rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
environments:
  prod:
    secrets:
      llm: {existingSecret: prod-llm, reload: restart}
  lite:
    agents:
      worker: {enabled: false}
"""
LONG = "a-release-name-that-is-long-enough-to-shorten-names-x"  # 53 characters, Helm's limit
SECRETS = ("--set", "secrets.mysql.values.root-password=pw", "--set", "secrets.llm.values.openai=k")


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wiring")
    (tmp / "research.yaml").write_text(SPEC)
    proc = helmgen_cli("generate", str(tmp / "research.yaml"), "-o", str(tmp / "out"))
    assert proc.returncode == 0, proc.stderr
    return tmp / "out" / "deep-research"


def _render(helm: Path, chart: Path, *args: str, release: str = "rel") -> list[dict[str, Any]]:
    out = run_helm(helm, "template", release, str(chart), "--namespace", "team", *SECRETS, *args).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def _named(objs: list[dict[str, Any]], kind: str, component: str) -> dict[str, Any]:
    found = [o for o in objs if o["kind"] == kind and _hook(o) != "test"
             and (o["metadata"].get("labels") or {}).get("app.kubernetes.io/component") == component]
    assert len(found) == 1, (kind, component, [o["metadata"]["name"] for o in found])
    return found[0]


def _hook(o: dict[str, Any]) -> str | None:
    return (o["metadata"].get("annotations") or {}).get("helm.sh/hook")


def _container(objs: list[dict[str, Any]], kind: str, component: str) -> dict[str, Any]:
    c: dict[str, Any] = _named(objs, kind, component)["spec"]["template"]["spec"]["containers"][0]
    return c


def _env(c: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(e["name"], e.get("value", e.get("valueFrom"))) for e in c.get("env", [])]


CASES = [("rel", ()), (LONG, ()), ("rel", ("--set", "fullnameOverride=x"))]


@pytest.mark.parametrize("release,args", CASES, ids=["rel", "long", "fullnameOverride"])
def test_the_system_renders_wired_to_its_own_service_names(chart: Path, helm: Path, release: str,
                                                           args: tuple[str, ...]) -> None:
    objs = _render(helm, chart, *args, release=release)
    svc = {a: _named(objs, "Service", a)["metadata"]["name"] for a in ("nats", "mysql", "tools", "planner", "worker")}
    for name in svc.values():
        assert len(name) <= 63
    if args:
        assert svc == {a: f"x-{a}" for a in svc}
    sts = _named(objs, "StatefulSet", "nats")
    assert sts["spec"]["serviceName"] == svc["nats"]
    nats = _container(objs, "StatefulSet", "nats")
    assert nats["args"] == ["--jetstream", "--store_dir=/data", f"--cluster_name={release}",
                            "--cluster=nats://0.0.0.0:6222", f"--routes=nats://{svc['nats']}:6222",
                            "--http_port=8222"]
    planner = _container(objs, "Deployment", "planner")
    secret = f"{'x' if args else release}-mysql"
    assert _env(planner) == [
        ("DB_PASSWORD", {"secretKeyRef": {"name": secret, "key": "root-password"}}),
        ("MYSQL_DSN", f"root:$(DB_PASSWORD)@tcp({svc['mysql']}:3306)/planner"),
        ("AGENTGEN_SECRET_MYSQL_ROOT_PASSWORD", {"secretKeyRef": {"name": secret, "key": "root-password"}}),
        ("MYSQL_DSN2", f"root:$(AGENTGEN_SECRET_MYSQL_ROOT_PASSWORD)@tcp({svc['mysql']}:3306)/planner"),
        ("NATS_ADDR", f"nats://{svc['nats']}:4222"),
        ("MCP_URL", f"http://{svc['tools']}:8000/sse"),
        ("SELF_URL", f"http://{svc['planner']}:9999"),
        ("OPENAI_API_KEY", {"secretKeyRef": {"name": f"{'x' if args else release}-llm", "key": "openai"}}),
        ("BOTH", "$(MYSQL_DSN)|$(NATS_ADDR)"),
        ("FQDN", f"{svc['nats']}.team.svc"),
        ("NATS_URL", f"nats://{svc['nats']}:4222"),
        ("MCP_SSE_URL", f"http://{svc['tools']}:8000/sse"),
    ]
    assert planner["readinessProbe"]["httpGet"]["path"] == "/.well-known/agent.json"
    worker = dict(_env(_container(objs, "Deployment", "worker")))
    assert worker == {"NATS_URL": f"nats://{svc['nats']}:4222",
                      "PLANNER_CARD": f"http://{svc['planner']}:9999/.well-known/agent.json"}
    card_checks = [o for o in objs if o["kind"] == "Job" and _hook(o) == "test"
                   and f"http http://{svc['planner']}:9999/.well-known/agent.json" in str(o)]
    assert len(card_checks) == 1  # helm test fetches the same card
    script = next(o for o in objs if o["kind"] == "ConfigMap" and "migrate.sh" in o.get("data", {}))
    assert script["data"]["migrate.sh"] == (f"#!/bin/sh\nuntil nc -z {svc['mysql']} 3306; do sleep 1; done\n"
                                            'echo "${MYSQL_HOST}" ${release}\n')


@pytest.mark.parametrize("release,args", CASES, ids=["rel", "long", "fullnameOverride"])
def test_every_object_is_valid_and_the_chart_lints(chart: Path, helm: Path, release: str,
                                                   args: tuple[str, ...]) -> None:
    import kubernetes_validate

    objs = _render(helm, chart, *args, release=release)
    for obj in objs:
        kubernetes_validate.validate(obj, "1.30.0", strict=True)
    names = [(o["kind"], o["metadata"]["name"]) for o in objs]
    assert len(names) == len(set(names)), names
    run_helm(helm, "lint", "--strict", str(chart), *SECRETS, *args)


def _admitted(policy: dict[str, Any]) -> list[dict[str, Any]]:
    peers: list[dict[str, Any]] = [p for rule in policy["spec"]["ingress"] for p in rule["from"]]
    return peers


def _components(peer: dict[str, Any]) -> set[str]:
    sel = peer.get("podSelector", {})
    out = {e for m in sel.get("matchExpressions", []) if m["key"] == "app.kubernetes.io/component"
           for e in m["values"]}
    comp = sel.get("matchLabels", {}).get("app.kubernetes.io/component")
    return out | ({comp} if comp and "namespaceSelector" not in peer else set())


def test_network_policies_admit_callers_own_pods_and_outside_peers(chart: Path, helm: Path) -> None:
    objs = _render(helm, chart)
    admitted = {a: set().union(*(_components(p) for p in _admitted(_named(objs, "NetworkPolicy", a))))
                for a in ("nats", "mysql", "tools", "planner")}
    assert admitted["nats"] >= {"planner", "worker", "nats"}  # referrers and its own cluster pods
    assert admitted["mysql"] >= {"planner", "migrate", "mysql"}  # the hook reads it from env and a file
    assert admitted["tools"] >= {"planner"} and "worker" not in admitted["tools"]
    assert "worker" in admitted["planner"]
    outside = [p for p in _admitted(_named(objs, "NetworkPolicy", "planner")) if "namespaceSelector" in p]
    assert outside == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "gateway"}},
                        "podSelector": {"matchLabels": {"app": "edge"}}}]
    nats_ports = {p["port"] for rule in _named(objs, "NetworkPolicy", "nats")["spec"]["ingress"]
                  for p in rule["ports"]}
    assert nats_ports == {4222, 6222, 8222}


def test_cluster_rbac_names_differ_per_namespace_and_release(chart: Path, helm: Path) -> None:
    a = _render(helm, chart)
    b = run_helm(helm, "template", "rel", str(chart), "--namespace", "other", *SECRETS).stdout
    other = [d for d in yaml.safe_load_all(b) if d]
    names_a = {o["metadata"]["name"] for o in a if o["kind"] in ("ClusterRole", "ClusterRoleBinding")}
    names_b = {o["metadata"]["name"] for o in other if o["kind"] in ("ClusterRole", "ClusterRoleBinding")}
    assert len(names_a) == 1 and not names_a & names_b
    binding = next(o for o in a if o["kind"] == "ClusterRoleBinding")
    role = next(o for o in a if o["kind"] == "ClusterRole")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": role["metadata"]["name"]}
    sa = _named(a, "ServiceAccount", "planner")["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa, "namespace": "team"}]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list"]}]


def test_the_migration_hook_finds_what_it_needs_already_there(chart: Path, helm: Path) -> None:
    objs = _render(helm, chart)
    job = next(o for o in objs if o["kind"] == "Job" and _hook(o) != "test")
    ann = job["metadata"]["annotations"]
    assert ann["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert ann["helm.sh/hook-weight"] == "-5"
    assert "before-hook-creation" in ann["helm.sh/hook-delete-policy"].split(",")
    assert job["spec"]["backoffLimit"] == 2
    pod = job["spec"]["template"]["spec"]
    needs: set[tuple[str, str]] = {("ServiceAccount", pod["serviceAccountName"])}
    for vol in pod["volumes"]:
        if "configMap" in vol:
            needs.add(("ConfigMap", vol["configMap"]["name"]))
        if "secret" in vol:
            needs.add(("Secret", vol["secret"]["secretName"]))
    for e in pod["containers"][0]["env"]:
        ref = e.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            needs.add(("Secret", ref["name"]))
    assert {k for k, _ in needs} == {"ServiceAccount", "ConfigMap", "Secret"}
    rb = [o for o in objs if o["kind"] == "RoleBinding" and o["subjects"][0]["name"] == pod["serviceAccountName"]]
    assert len(rb) == 1
    needs |= {("RoleBinding", rb[0]["metadata"]["name"]), ("Role", rb[0]["roleRef"]["name"])}
    by_key = {(o["kind"], o["metadata"]["name"]): o for o in objs}
    for key in needs:  # each a hook of the same events, created before the Job (a lower weight)
        obj = by_key[key]
        a = obj["metadata"]["annotations"]
        assert set(a["helm.sh/hook"].split(",")) >= {"pre-install", "pre-upgrade"}, key
        assert int(a["helm.sh/hook-weight"]) < -5, key
        assert "before-hook-creation" in a["helm.sh/hook-delete-policy"], key
    secret = next(o for k, o in by_key.items() if k[0] == "Secret" and k in needs)
    assert secret["data"] == {"root-password": "cHc="}  # the value given at install time


def _order(c: dict[str, Any]) -> list[str]:
    return [e["name"] for e in c["env"]]


def test_a_values_file_that_makes_a_written_variable_use_a_new_one_keeps_expansion_working(
        chart: Path, helm: Path, tmp_path: Path) -> None:
    # NATS_ADDR (written in the spec, listed in envOrder) now uses ZZ_HOST, which only the values file adds:
    # Kubernetes expands $(ZZ_HOST) only when ZZ_HOST comes first, and BOTH still comes after NATS_ADDR.
    objs = _render(helm, chart, "--set", "agents.planner.env.NATS_ADDR.value=nats://$(ZZ_HOST):4222",
                   "--set", "agents.planner.env.ZZ_HOST.value=nats.example.org")
    names = _order(_container(objs, "Deployment", "planner"))
    assert names.index("ZZ_HOST") < names.index("NATS_ADDR") < names.index("BOTH")
    values = tmp_path / "v.yaml"
    values.write_text(yaml.safe_dump({"agents": {"planner": {"env": {
        "DB_PASSWORD": {"value": "$(A_ROOT)", "secret": None, "key": None}, "A_ROOT": {"value": "$(B_LEAF)-x"}, "B_LEAF": {"value": "leaf"},
        "C_NEW": {"value": "$(MYSQL_DSN)"}}}}}))
    names = _order(_container(_render(helm, chart, "-f", str(values)), "Deployment", "planner"))
    assert names.index("B_LEAF") < names.index("A_ROOT") < names.index("DB_PASSWORD") < names.index("MYSQL_DSN")
    assert names.index("MYSQL_DSN") < names.index("C_NEW")
    # what the values file leaves alone keeps the spec's written order
    written = [n for n in names if n not in ("B_LEAF", "A_ROOT", "C_NEW", "DB_PASSWORD")]
    assert written == ["MYSQL_DSN", "AGENTGEN_SECRET_MYSQL_ROOT_PASSWORD", "MYSQL_DSN2", "NATS_ADDR", "MCP_URL",
                       "SELF_URL", "OPENAI_API_KEY", "BOTH", "FQDN", "NATS_URL", "MCP_SSE_URL"]


def test_environments_drop_a_secret_and_an_agent(chart: Path, helm: Path) -> None:
    # prod reads llm from an existing Secret: install demands only mysql's value, and only the pods that
    # read llm carry Reloader's annotation
    out = run_helm(helm, "template", "rel", str(chart), "-f", str(chart / "values-prod.yaml"),
                   "--set", "secrets.mysql.values.root-password=pw").stdout
    objs = [d for d in yaml.safe_load_all(out) if d]
    planner = _named(objs, "Deployment", "planner")
    assert planner["metadata"]["annotations"]["secret.reloader.stakater.com/reload"] == "prod-llm"
    assert ("OPENAI_API_KEY", {"secretKeyRef": {"name": "prod-llm", "key": "openai"}}) in _env(
        _container(objs, "Deployment", "planner"))
    others = [o for o in objs if o["kind"] in ("Deployment", "StatefulSet", "Job") and o is not planner]
    assert all("secret.reloader.stakater.com/reload" not in (o["metadata"].get("annotations") or {}) for o in others)
    assert {o["metadata"]["name"] for o in objs if o["kind"] == "Secret"} == {"rel-mysql", "rel-mysql-hook"}
    # without a value for a secret an enabled agent uses, install stops and names it; `unused` is never asked for
    proc = run_helm(helm, "template", "rel", str(chart), check=False)
    assert proc.returncode != 0 and "secrets.mysql.values.root-password" in proc.stderr
    assert "unused" not in proc.stderr
    # lite drops the worker: nothing of it renders, and no NetworkPolicy still names it as a caller
    lite = _render(helm, chart, "-f", str(chart / "values-lite.yaml"))
    assert not [o for o in lite if "worker" in o["metadata"]["name"]]
    assert "worker" not in str([o for o in lite if o["kind"] == "NetworkPolicy"])
    run_helm(helm, "lint", "--strict", str(chart), "-f", str(chart / "values-lite.yaml"), *SECRETS)


DEP_SPEC = """\
apiVersion: agentgen/v1
name: depsys
version: 0.1.0
secrets:
  db: {keys: [password]}
  search: {keys: [api-key]}
dependencies:
  pg: {repository: "file://SUBCHART", chart: minidb, version: 1.2.x, values: {port: 5433}, port: 5433}
agents:
  api:
    image: ghcr.io/acme/api:1
    port: 8080
    talksTo: [pg]
    env:
      DATABASE_URL: postgres://app:${secrets.db.password}@${deps.pg.host}:${deps.pg.port}/app
  searcher:
    image: ghcr.io/acme/searcher:1
    port: 8081
    env:
      KEY: {secret: search, key: api-key}
environments:
  dev:
    dependencies:
      pg: {enabled: false}
    agents:
      searcher: {enabled: false}
      api:
        env: {DATABASE_URL: "sqlite:///tmp/app.db"}
        talksTo: []
"""


def test_an_environment_drops_a_dependency_and_the_secrets_nothing_uses(tmp_path: Path, helm: Path) -> None:
    sub = tmp_path / "minidb"
    (sub / "templates").mkdir(parents=True)
    (sub / "Chart.yaml").write_text("apiVersion: v2\nname: minidb\nversion: 1.2.3\n")
    (sub / "templates" / "svc.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: {{ .Release.Name }}-{{ .Chart.Name }}}\n"
        "spec: {ports: [{port: {{ .Values.port }}}], selector: {app: minidb}}\n")
    (tmp_path / "dep.yaml").write_text(DEP_SPEC.replace("SUBCHART", str(sub)))
    proc = helmgen_cli("generate", str(tmp_path / "dep.yaml"), "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    chart = tmp_path / "out" / "depsys"
    run_helm(helm, "dependency", "build", str(chart))
    sets = ("--set", "secrets.db.values.password=p", "--set", "secrets.search.values.api-key=k")
    full = [d for d in yaml.safe_load_all(run_helm(helm, "template", "rel", str(chart), *sets).stdout) if d]
    assert "rel-pg" in {o["metadata"]["name"] for o in full if o["kind"] == "Service"}
    assert dict(_env(_container(full, "Deployment", "api")))["DATABASE_URL"] == (
        "postgres://app:$(AGENTGEN_SECRET_DB_PASSWORD)@rel-pg:5433/app")
    dev_values = str(chart / "values-dev.yaml")
    dev = [d for d in yaml.safe_load_all(run_helm(helm, "template", "rel", str(chart), "-f", dev_values).stdout) if d]
    assert not [o for o in dev if o["kind"] == "Secret" or "pg" in o["metadata"]["name"].split("-")]
    assert _env(_container(dev, "Deployment", "api")) == [("DATABASE_URL", "sqlite:///tmp/app.db")]
    run_helm(helm, "lint", "--strict", str(chart), "-f", dev_values)


@pytest.mark.parametrize("env,message", [
    ({"X": {"value": "$(NOPE)/x"}}, "agents.planner.env.X: uses $(NOPE), which is no variable of the container"),
    ({"P": {"value": "$(Q)"}, "Q": {"value": "a$(P)"}}, "agents.planner.env.P: uses itself through $(VAR): P → Q → P"),
    ({"NATS_ADDR": {"value": "$(ZED)"}, "ZED": {"value": "$(BOTH)"}},
     "agents.planner.env.NATS_ADDR: uses itself through $(VAR): NATS_ADDR → ZED → BOTH → NATS_ADDR"),
    ({"X": {"value": "$(NATS_URL)"}}, "agents.planner.env.X: uses $(NATS_URL), which is no variable of the container"),
], ids=["unknown", "cycle", "cycle-through-the-spec", "talks-to-variable"])
def test_a_values_file_dollar_paren_naming_nothing_or_a_cycle_fails_the_render(
        chart: Path, helm: Path, tmp_path: Path, env: dict[str, Any], message: str) -> None:
    values = tmp_path / "bad.yaml"
    values.write_text(yaml.safe_dump({"agents": {"planner": {"env": env}}}))
    proc = run_helm(helm, "template", "rel", str(chart), *SECRETS, "-f", str(values), check=False)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr


def test_a_values_file_dollar_paren_is_fine_when_env_from_may_bring_it_or_escaped(chart: Path, helm: Path) -> None:
    objs = _render(helm, chart, "--set", "agents.planner.env.X.value=$$(NOPE)",
                   "--set", "agents.migrate.env.Y.value=$(FROM_CONFIGMAP)",
                   "--set", "agents.migrate.envFrom[0].configMap=migrate-extra")
    assert dict(_env(_container(objs, "Deployment", "planner")))["X"] == "$$(NOPE)"
    job = next(o for o in objs if o["kind"] == "Job" and _hook(o) != "test")
    assert ("Y", "$(FROM_CONFIGMAP)") in _env(job["spec"]["template"]["spec"]["containers"][0])


@pytest.mark.parametrize("sets", [
    ("agents.planner.rbac.clusterRules[0].apiGroups[0]=",),  # no verbs
    ("agents.planner.rbac.rules[0].verbs[0]=get",),  # no apiGroups, no resources
    ("agents.planner.rbac.rules[0].verbs[0]=get", "agents.planner.rbac.rules[0].nonResourceURLs[0]=/healthz"),
    ("agents.planner.rbac.clusterRules[0].verbs[0]=get", "agents.planner.rbac.clusterRules[0].verb[0]=list"),
], ids=["no-verbs", "no-resources", "non-resource-in-role", "unknown-key"])
def test_a_values_file_rbac_rule_the_api_server_refuses_fails_the_schema(chart: Path, helm: Path,
                                                                         sets: tuple[str, ...]) -> None:
    args = [a for s in sets for a in ("--set", s)]
    proc = run_helm(helm, "template", "rel", str(chart), *SECRETS, *args, check=False)
    where = proc.stderr.replace(".", "/")  # Helm 4 writes /agents/planner/rbac/…, Helm 3 agents.planner.rbac.…
    assert proc.returncode != 0 and "agents/planner/rbac/" in where, proc.stderr


def test_a_values_file_rbac_rule_the_api_server_takes_renders(chart: Path, helm: Path) -> None:
    objs = _render(helm, chart, "--set", "agents.planner.rbac.clusterRules[0].verbs[0]=get",
                   "--set", "agents.planner.rbac.clusterRules[0].nonResourceURLs[0]=/metrics")
    role = next(o for o in objs if o["kind"] == "ClusterRole")
    assert role["rules"] == [{"verbs": ["get"], "nonResourceURLs": ["/metrics"]}]


@pytest.mark.parametrize("sets", [
    ("agents.planner.allowFrom[0].podSelector.app=edge",),  # dropped by the API server: admits every pod
    ("agents.planner.monitoring.allowFrom[0].namespaceSelector.team=a", "agents.planner.monitoring.port=9999"),
    ("agents.planner.allowFrom[0].podSelector.matchExpressions[0].key=a",
     "agents.planner.allowFrom[0].podSelector.matchExpressions[0].operator=Equals"),
], ids=["pod-selector", "monitoring-namespace-selector", "bad-operator"])
def test_a_values_file_peer_that_is_no_label_selector_fails_the_schema(chart: Path, helm: Path,
                                                                       sets: tuple[str, ...]) -> None:
    args = [a for s in sets for a in ("--set", s)]
    proc = run_helm(helm, "template", "rel", str(chart), *SECRETS, *args, check=False)
    assert proc.returncode != 0 and "allowFrom" in proc.stderr, proc.stderr


def test_a_values_file_label_selector_peer_renders(chart: Path, helm: Path) -> None:
    objs = _render(helm, chart, "--set", "agents.planner.allowFrom[0].podSelector.matchLabels.app=edge")
    peers = _admitted(_named(objs, "NetworkPolicy", "planner"))
    assert {"podSelector": {"matchLabels": {"app": "edge"}}} in peers


@pytest.mark.parametrize("values,where", [
    ({"agents": {"seed": {"image": {"repository": "ghcr.io/acme/seed"}, "kind": "Job",
                          "env": {"DSN": {"value": "root:${secrets.mysql.root-password}@tcp(db:3306)/x"}}}}},
     "agents.seed.env.DSN"),
    ({"agents": {"planner": {"env": {"MYSQL_DSN": {"value": "root:${secrets.mysql.root-password}@tcp(db)/x"}}}}},
     "agents.planner.env.MYSQL_DSN"),
    ({"agents": {"migrate": {"config": {"files": {"migrate.sh": "pw=${secrets.mysql.root-password}"}}}}},
     "agents.migrate.config.files"),
], ids=["new-agent-env", "spec-agent-env", "config-file"])
def test_a_secret_reference_written_in_a_values_file_fails_instead_of_staying_as_text(
        chart: Path, helm: Path, tmp_path: Path, values: dict[str, Any], where: str) -> None:
    # values files cannot add the variable a ${secrets…} reference needs; the text would reach the container
    # as written (a DSN holding "${secrets.mysql.root-password}"), so the render stops and says what to write
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump(values))
    proc = run_helm(helm, "template", "rel", str(chart), *SECRETS, "-f", str(path), check=False)
    assert proc.returncode != 0
    assert f"{where}" in proc.stderr and "${secrets.mysql.root-password}" in proc.stderr, proc.stderr
    assert "{secret: mysql, key: root-password}" in proc.stderr, proc.stderr
