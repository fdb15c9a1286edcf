"""The examples ported from real systems (examples/n8n-ai-starter.yaml, examples/agent-service-toolkit.yaml):
every variable their compose files set, resolved to the Services of the same render, hook Jobs,
NetworkPolicies and environments, on both Helm versions, under long names and fullnameOverride. Their
Bitnami dependency is the offline stand-in of tests/charts/bitnami (see conftest.add_stand_ins)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from helmgen.problems import SpecError
from helmgen.spec.check import load_spec
from tests.conftest import EXAMPLES, by_kind, generate, template

N8N = next(e for e in EXAMPLES if e.stem == "n8n-ai-starter")
AST = next(e for e in EXAMPLES if e.stem == "agent-service-toolkit")
RENDERS = [("rel", ()), ("a-release-name-that-is-long-enough-to-overflow-names", ()),
           ("rel", ("--set", "fullnameOverride=short"))]


def validate_strict(objs: list[dict[str, Any]]) -> None:
    import kubernetes_validate

    for obj in objs:
        kubernetes_validate.validate(obj, "1.30.0", strict=True)


def workload(objs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The Deployment, StatefulSet or Job whose pods carry app.kubernetes.io/component=name."""
    found = [o for o in objs if o["kind"] in ("Deployment", "StatefulSet", "Job")
             and o["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == name
             and (o["metadata"].get("annotations") or {}).get("helm.sh/hook") != "test"]
    assert len(found) == 1, [o["metadata"]["name"] for o in found]
    return found[0]


def env_of(obj: dict[str, Any]) -> dict[str, Any]:
    env = obj["spec"]["template"]["spec"]["containers"][0].get("env", [])
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in env}


def service_of(objs: list[dict[str, Any]], component: str) -> str:
    names = [o["metadata"]["name"] for o in objs if o["kind"] == "Service"
             and o["spec"]["selector"].get("app.kubernetes.io/component") == component]
    assert len(names) == 1, names
    return names[0]


def secret_key_ref(ref: Any) -> tuple[str, str]:
    return ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"]


def admitted(objs: list[dict[str, Any]], target: str) -> set[str]:
    """The components whose pods the target's NetworkPolicy admits by podSelector."""
    policy = next(o for o in objs if o["kind"] == "NetworkPolicy"
                  and o["spec"]["podSelector"]["matchLabels"].get("app.kubernetes.io/component") == target)
    out = set()
    for rule in policy["spec"].get("ingress", []):
        for peer in rule.get("from", []):
            selector = peer.get("podSelector", {})
            out.add(selector.get("matchLabels", {}).get("app.kubernetes.io/component", ""))
            for expr in selector.get("matchExpressions", []):
                if expr["key"] == "app.kubernetes.io/component" and expr["operator"] == "In":
                    out.update(expr["values"])
    return out


@pytest.fixture(scope="module")
def n8n_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(N8N, tmp_path_factory.mktemp("n8n"))


@pytest.fixture(scope="module")
def ast_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(AST, tmp_path_factory.mktemp("ast"))


@pytest.mark.parametrize("release,extra", RENDERS, ids=["rel", "long", "fullnameOverride"])
def test_n8n_starter_kit_sets_every_compose_variable_to_this_release(helm: Path, n8n_chart: Path, release: str,
                                                                     extra: tuple[str, ...]) -> None:
    objs = template(helm, n8n_chart, *extra, release=release)
    validate_strict(objs)
    pg, ollama, qdrant = service_of(objs, "primary"), service_of(objs, "ollama"), service_of(objs, "qdrant")
    pg_secret = {secret_key_ref(e["valueFrom"]) for e in workload(objs, "primary")["spec"]["template"]["spec"]
                 ["containers"][0]["env"] if "valueFrom" in e}
    assert pg_secret == {("n8n-postgres", "password"), ("n8n-postgres", "postgres-password")}
    n8n_secret = by_kind(objs, "Secret")
    assert len(n8n_secret) == 1
    (n8n_secret_name,) = n8n_secret
    # compose's x-n8n environment plus its .env file, for n8n and for n8n-import
    for name in ("n8n", "n8n-import"):
        env = env_of(workload(objs, name))
        assert env["DB_TYPE"] == "postgresdb"
        assert env["DB_POSTGRESDB_HOST"] == pg and env["DB_POSTGRESDB_PORT"] == "5432"
        assert env["DB_POSTGRESDB_USER"] == "n8n" and env["DB_POSTGRESDB_DATABASE"] == "n8n"
        assert secret_key_ref(env["DB_POSTGRESDB_PASSWORD"]) in pg_secret
        assert secret_key_ref(env["N8N_ENCRYPTION_KEY"]) == (n8n_secret_name, "encryption-key")
        assert secret_key_ref(env["N8N_USER_MANAGEMENT_JWT_SECRET"]) == (n8n_secret_name, "jwt-secret")
        assert env["N8N_DIAGNOSTICS_ENABLED"] == env["N8N_PERSONALIZATION_ENABLED"] == "false"
        assert env["N8N_DEFAULT_BINARY_DATA_MODE"] == "filesystem"
        assert env["OLLAMA_HOST"] == f"{ollama}:11434"
    overwrite = json.loads(env_of(workload(objs, "n8n"))["CREDENTIALS_OVERWRITE_DATA"])
    assert overwrite == {"ollamaApi": {"baseUrl": f"http://{ollama}:11434"},
                         "qdrantApi": {"qdrantUrl": f"http://{qdrant}:6333"}}
    assert env_of(workload(objs, "ollama-pull"))["OLLAMA_HOST"] == f"{ollama}:11434"
    # the one-shot containers are post-install/post-upgrade hooks, import first
    for name, weight in (("n8n-import", "0"), ("ollama-pull", "1")):
        job = workload(objs, name)
        assert job["kind"] == "Job"
        assert job["metadata"]["annotations"]["helm.sh/hook"] == "post-install,post-upgrade"
        assert job["metadata"]["annotations"]["helm.sh/hook-weight"] == weight
        assert job["metadata"]["annotations"]["helm.sh/hook-delete-policy"] == "before-hook-creation"
    pull = workload(objs, "ollama-pull")["spec"]["template"]["spec"]["containers"][0]
    assert [*pull["command"], *pull["args"]] == ["/bin/sh", "-c", "sleep 3; ollama pull llama3.2"]
    # the demo data the import reads is mounted where its command looks
    imp = workload(objs, "n8n-import")
    cm_name = next(v["configMap"]["name"] for v in imp["spec"]["template"]["spec"]["volumes"] if "configMap" in v)
    files = by_kind(objs, "ConfigMap")[cm_name]["data"]
    assert {c["id"] for c in json.loads(files["credentials.json"])} == {"sFfERYppMeBnFNeA", "xHuYe0MDGOs9IpBW"}
    assert [w["id"] for w in json.loads(files["workflows.json"])] == ["srOnR8PAY3u4RSwb"]
    assert "/demo-data" in [m["mountPath"] for m in imp["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]]
    # the NetworkPolicies admit the callers the references make
    assert {"n8n", "n8n-import", "ollama-pull"} <= admitted(objs, "ollama")
    assert "n8n" in admitted(objs, "qdrant")
    # `helm test` checks that PostgreSQL answers where n8n looks for it (compose's healthcheck on postgres)
    n8n_test = next(o for o in objs if o["kind"] == "Job" and o["metadata"]["annotations"].get("helm.sh/hook") == "test"
                    and o["metadata"]["labels"].get("app.kubernetes.io/component") == "n8n")
    container = n8n_test["spec"]["template"]["spec"]["containers"][0]
    assert f"tcp {pg} 5432" in [*container.get("command", []), *container.get("args", [])]
    # compose's volumes: the agents' state
    claims = {o["metadata"]["name"]: o["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
              for o in objs if o["kind"] == "StatefulSet" and "volumeClaimTemplates" in o["spec"]}
    assert sorted(claims.values()) == ["10Gi", "2Gi", "30Gi"]


def test_n8n_starter_kit_dev_runs_without_postgresql(helm: Path, n8n_chart: Path) -> None:
    objs = template(helm, n8n_chart, "-f", str(n8n_chart / "values-dev.yaml"))
    validate_strict(objs)
    components = {o["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component")
                  for o in objs if o["kind"] in ("StatefulSet", "Deployment", "Job")}
    assert "primary" not in components and "n8n-import" not in components
    env = env_of(workload(objs, "n8n"))
    assert env["DB_TYPE"] == "sqlite" and not any(k.startswith("DB_POSTGRESDB_") for k in env)
    assert not by_kind(objs, "Ingress")


@pytest.mark.parametrize("release,extra", RENDERS, ids=["rel", "long", "fullnameOverride"])
def test_agent_service_toolkit_sets_every_compose_variable_to_this_release(helm: Path, ast_chart: Path, release: str,
                                                                           extra: tuple[str, ...]) -> None:
    objs = template(helm, ast_chart, *extra, release=release)
    validate_strict(objs)
    pg, service = service_of(objs, "primary"), service_of(objs, "agent-service")
    env = env_of(workload(objs, "agent-service"))
    assert env["HOST"] == "0.0.0.0" and env["PORT"] == "8080"
    assert env["DATABASE_TYPE"] == "postgres" and env["POSTGRES_HOST"] == pg and env["POSTGRES_PORT"] == "5432"
    assert env["POSTGRES_DB"] == "agent_service" and env["POSTGRES_USER"] == "agents"
    assert secret_key_ref(env["POSTGRES_PASSWORD"]) == ("agent-service-postgres", "password")
    pg_env = {e["name"]: e for e in workload(objs, "primary")["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert pg_env["POSTGRES_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "agent-service-postgres"
    assert pg_env["POSTGRES_DATABASE"]["value"] == "agent_service" and pg_env["POSTGRES_USER"]["value"] == "agents"
    secrets = by_kind(objs, "Secret")
    for var, (secret, key) in {"OPENAI_API_KEY": ("llm-keys", "openai"), "ANTHROPIC_API_KEY": ("llm-keys", "anthropic"),
                               "AUTH_SECRET": ("service", "auth-secret")}.items():
        name, k = secret_key_ref(env[var])
        assert name in secrets and name.endswith(secret) and k == key
    app = env_of(workload(objs, "streamlit-app"))
    assert app["AGENT_URL"] == f"http://{service}:8080"  # compose: AGENT_URL=http://agent_service:8080
    assert "streamlit-app" in admitted(objs, "agent-service")
    probe = workload(objs, "agent-service")["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe["httpGet"]["path"] == "/info"


def test_agent_service_toolkit_environments(helm: Path, ast_chart: Path) -> None:
    dev = template(helm, ast_chart, "-f", str(ast_chart / "values-dev.yaml"))
    validate_strict(dev)
    assert "primary" not in {o["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component")
                             for o in dev if o["kind"] in ("StatefulSet", "Deployment", "Job")}
    env = env_of(workload(dev, "agent-service"))
    assert env["DATABASE_TYPE"] == "sqlite" and env["SQLITE_DB_PATH"] == "/tmp/checkpoints.db"
    assert not any(k.startswith("POSTGRES_") for k in env)
    prod = template(helm, ast_chart, "-f", str(ast_chart / "values-prod.yaml"))
    validate_strict(prod)
    env = env_of(workload(prod, "agent-service"))
    assert secret_key_ref(env["OPENAI_API_KEY"]) == ("prod-llm-keys", "openai")
    assert [h["spec"]["maxReplicas"] for h in by_kind(prod, "HorizontalPodAutoscaler").values()] == [8]


# --- a helmgen defect the n8n example met ------------------------------------------------------------

DISABLED_WITH_ITS_DEPENDENCY = textwrap.dedent("""\
    apiVersion: agentgen/v1
    name: sys
    version: 0.1.0
    dependencies:
      postgresql: {repository: oci://registry-1.docker.io/bitnamicharts, version: 16.7.x,
                   values: {auth: {existingSecret: pg}}, port: 5432}
    agents:
      app:
        image: ghcr.io/acme/app:1.0
        port: 8080
        env: {DB_HOST: "${deps.postgresql.host}"}
      migrate:
        kind: Job
        image: ghcr.io/acme/migrate:1.0
        talksTo: [postgresql]
        env: {DB_HOST: "${deps.postgresql.host}", DB_PORT: "${deps.postgresql.port}"}
    environments:
      dev:
        dependencies: {postgresql: {enabled: false}}
        agents:
          app: {env: {DB_HOST: null}}
          migrate: {enabled: false}
    """)


def test_a_disabled_agent_may_name_a_dependency_disabled_in_its_environment(tmp_path: Path, helm: Path) -> None:
    spec = tmp_path / "sys.yaml"
    spec.write_text(DISABLED_WITH_ITS_DEPENDENCY)
    load_spec(str(spec))  # was: "dependency 'postgresql' is disabled in environment 'dev'", for a disabled agent
    chart = generate(spec, tmp_path / "out")
    dev = template(helm, chart, "-f", str(chart / "values-dev.yaml"))
    workloads = {o["metadata"]["name"] for o in dev if o["kind"] in ("Deployment", "Job", "StatefulSet")}
    assert workloads == {"rel-app", "rel-app-test"}  # no migrate Job
    # an enabled agent that names it there is still an error
    spec.write_text(DISABLED_WITH_ITS_DEPENDENCY.replace("app: {env: {DB_HOST: null}}", "app: {}"))
    with pytest.raises(SpecError) as exc:
        load_spec(str(spec))
    assert any("environments.dev.agents.app.env.DB_HOST" in line and "disabled" in line for line in exc.value.lines())


def test_published_schema_takes_null_entries_in_an_environments_maps(tmp_path: Path) -> None:
    """`env: {X: null}` removes one variable in an environment (both examples' dev do it): the checker takes
    it, and so must the published schema an editor checks the spec with."""
    import jsonschema

    spec = {"apiVersion": "agentgen/v1", "name": "sys", "version": "0.1.0",
            "agents": {"a": {"image": "ghcr.io/acme/a:1.0", "ports": {"http": 8080, "grpc": 9090},
                             "env": {"X": "1", "Y": "2"}, "podAnnotations": {"a": "b"},
                             "expose": {"host": "a.example.org", "tls": {"secretName": "a-tls"}}}},
            "environments": {"dev": {"agents": {"a": {"env": {"X": None}, "ports": {"grpc": None},
                                                      "podAnnotations": {"a": None}, "expose": {"tls": None}}}}}}
    path = tmp_path / "sys.yaml"
    path.write_text(json.dumps(spec))
    load_spec(str(path))
    schema = json.loads((Path(__file__).parent.parent / "schemas" / "agentgen-v1.schema.json").read_text())
    jsonschema.validate(spec, schema)
    with pytest.raises(jsonschema.ValidationError):  # still typed: a variable is not a list
        jsonschema.validate({**spec, "environments": {"dev": {"agents": {"a": {"env": {"X": [1]}}}}}}, schema)
    with pytest.raises(jsonschema.ValidationError):  # and closed: no unknown field
        jsonschema.validate({**spec, "environments": {"dev": {"agents": {"a": {"expose": {"tsl": None}}}}}}, schema)
