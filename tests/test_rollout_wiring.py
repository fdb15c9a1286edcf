"""Where rollout tracks meet references, env order and secrets: a canary's or a blue-green slot's
own env and config files resolve `${…}` as the agent's own do (native and Argo), are checked at
generate time, count as callers for NetworkPolicies, order their env by `$(VAR)` use, turn
`${secrets.S.K}` into a secretKeyRef variable, and carry the secret checksums of what they read;
apart from image, env, config and labels, every track's pod is the stable's. Rendered by the real
Helm 4.3.1 and 3.17.3."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import by_kind, generate, helmgen_cli, template
from tests.crd import assert_crd_valid, is_custom

SPEC = """
apiVersion: agentgen/v1
name: shop
version: 0.1.0
appVersion: 1.8.2
secrets:
  llm: {keys: [apiKey]}
  db: {keys: [password]}
agents:
  planner:
    image: ghcr.io/acme/planner:1.8.2
    protocol: a2a
    ports: {http: 8080, metrics: 9090}
    replicas: 4
    env:
      MODEL: gpt-5
      CODER: ${agents.coder.url}
      DB_PASSWORD: {secret: db, key: password}
    config: {files: {prompts.yaml: "self: ${self.url}"}}
    secretMounts: {llm: {mountPath: /var/run/llm, reload: restart}}
    allowFrom: [{namespaceSelector: {matchLabels: {team: web}}}]
    monitoring: {port: metrics}
    sidecars: [{name: proxy, image: envoyproxy/envoy:v1.31.0}]
    nodeSelector: {pool: agents}
    terminationGracePeriodSeconds: 20
    rollout:
      strategy: canary
      canary:
        tag: 1.9.0
        weight: 10
        env:
          MODEL: gpt-5-mini
          SEARCH: ${agents.search.url}
          TOKEN: Bearer ${secrets.llm.apiKey}
          GREETING: "$(PREFIX) from $(MODEL)"
          PREFIX: hello
        config: {files: {prompts.yaml: "self: ${self.host} search: ${agents.search.host}:${agents.search.port}"}}
  coder:
    image: ghcr.io/acme/coder:2.0.0
    port: 8080
    rollout:
      strategy: blueGreen
      blueGreen:
        active: blue
        blue: {tag: 2.0.0}
        green: {tag: 2.1.0, env: {REVIEWER: "${agents.reviewer.url}", KEY: "${secrets.llm.apiKey}"},
                config: {files: {a.txt: "planner at ${agents.planner.fqdn}"}}}
  search:
    image: ghcr.io/acme/search:2.0.0
    port: 8080
  reviewer:
    image: ghcr.io/acme/reviewer:1.0.0
    port: 8080
"""

ARGO = """
apiVersion: agentgen/v1
name: shop
version: 0.1.0
secrets:
  llm: {keys: [apiKey]}
agents:
  planner:
    image: ghcr.io/acme/planner:1.8.2
    port: 8080
    config: {files: {prompts.yaml: "self: ${self.url}"}}
    rollout:
      strategy: canary
      engine: argo
      canary:
        tag: 1.9.0
        steps: [{setWeight: 10}, {pause: {}}]
        env: {SEARCH: "${agents.search.url}", TOKEN: "${secrets.llm.apiKey}"}
        config: {files: {prompts.yaml: "search: ${agents.search.host}"}}
  search:
    image: ghcr.io/acme/search:2.0.0
    port: 8080
"""


def chart_of(tmp: Path, spec: str) -> Path:
    f = tmp / "spec.yaml"
    f.write_text(textwrap.dedent(spec).lstrip())
    return generate(f, tmp / "out")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return chart_of(tmp_path_factory.mktemp("wiring"), SPEC)


@pytest.fixture(scope="module")
def argo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return chart_of(tmp_path_factory.mktemp("wiring-argo"), ARGO)


def pod(workload: dict[str, Any]) -> dict[str, Any]:
    p: dict[str, Any] = workload["spec"]["template"]
    return p


def env_list(workload: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = pod(workload)["spec"]["containers"][0].get("env", [])
    return out


def env_of(workload: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in env_list(workload)}


def validate(objs: list[dict[str, Any]]) -> None:
    import kubernetes_validate

    for o in objs:
        if is_custom(o):
            assert_crd_valid(o)
        else:
            kubernetes_validate.validate(o, "1.30.0", strict=True)


def test_canary_env_and_config_resolve_as_the_agents_own(helm: Path, shop: Path) -> None:
    objs = template(helm, shop)
    validate(objs)
    deps, cms = by_kind(objs, "Deployment"), by_kind(objs, "ConfigMap")
    canary = env_of(deps["rel-planner-canary"])
    assert canary["SEARCH"] == "http://rel-search:8080"
    assert canary["CODER"] == "http://rel-coder:8080"
    assert cms["rel-planner-canary-config"]["data"] == {"prompts.yaml": "self: rel-planner search: rel-search:8080"}
    assert cms["rel-planner-config"]["data"] == {"prompts.yaml": "self: http://rel-planner:8080"}
    green = env_of(deps["rel-coder-green"])
    assert green["REVIEWER"] == "http://rel-reviewer:8080"
    assert cms["rel-coder-green-config"]["data"] == {"a.txt": "planner at rel-planner.default.svc"}
    assert "${" not in yaml.safe_dump([o for o in objs if o["kind"] in ("Deployment", "ConfigMap")])


def test_track_references_follow_the_release_name(helm: Path, shop: Path) -> None:
    objs = template(helm, shop, "--set", "fullnameOverride=prod", release="other")
    assert env_of(by_kind(objs, "Deployment")["prod-planner-canary"])["SEARCH"] == "http://prod-search:8080"
    assert by_kind(objs, "ConfigMap")["prod-planner-canary-config"]["data"]["prompts.yaml"] == \
        "self: prod-planner search: prod-search:8080"


def test_agents_a_track_references_admit_it(helm: Path, shop: Path) -> None:
    policies = by_kind(template(helm, shop), "NetworkPolicy")

    def callers(name: str) -> set[str]:
        out: set[str] = set()
        for rule in policies[name]["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                for expr in peer.get("podSelector", {}).get("matchExpressions", []):
                    out |= set(expr["values"])
        return out

    assert "planner" in callers("rel-search")  # only the canary calls search
    assert "coder" in callers("rel-reviewer")  # only the green slot calls reviewer
    assert "coder" in callers("rel-planner")  # the green slot's config file names planner


def test_secret_reference_in_a_canary_env_becomes_a_secret_variable(helm: Path, shop: Path) -> None:
    canary = by_kind(template(helm, shop), "Deployment")["rel-planner-canary"]
    env = env_list(canary)
    names = [e["name"] for e in env]
    var = "AGENTGEN_SECRET_LLM_APIKEY"
    assert names.index(var) < names.index("TOKEN")
    assert env[names.index(var)]["valueFrom"] == {"secretKeyRef": {"name": "rel-llm", "key": "apiKey"}}
    assert env[names.index("TOKEN")]["value"] == f"Bearer $({var})"
    assert "test-apiKey" not in yaml.safe_dump(canary)


def test_canary_env_is_ordered_by_its_uses(helm: Path, shop: Path) -> None:
    deps = by_kind(template(helm, shop), "Deployment")
    for workload in deps.values():
        names = [e["name"] for e in env_list(workload)]
        for i, e in enumerate(env_list(workload)):
            for used in re.findall(r"\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)", e.get("value", "")):
                if used in names:
                    assert names.index(used) < i, (workload["metadata"]["name"], names)
    names = [e["name"] for e in env_list(deps["rel-planner-canary"])]
    assert names.index("PREFIX") < names.index("GREETING") and names.index("MODEL") < names.index("GREETING")
    # the stable keeps the agent's own order
    assert [e["name"] for e in env_list(deps["rel-planner"])] == ["MODEL", "CODER", "DB_PASSWORD"]


def test_canary_override_that_uses_a_canary_variable_moves_after_it(helm: Path, tmp_path: Path) -> None:
    spec = SPEC.replace('MODEL: gpt-5-mini', 'MODEL: "$(PREFIX)-mini"')
    deps = by_kind(template(helm, chart_of(tmp_path, spec)), "Deployment")
    names = [e["name"] for e in env_list(deps["rel-planner-canary"])]
    assert names.index("PREFIX") < names.index("MODEL") < names.index("GREETING")


def test_each_track_carries_the_checksums_of_what_it_reads(helm: Path, shop: Path) -> None:
    deps = by_kind(template(helm, shop), "Deployment")

    def checksums(name: str) -> set[str]:
        ann = pod(deps[name])["metadata"].get("annotations", {})
        return {k for k in ann if k.startswith("checksum/secret-")}

    # planner reads db through env, mounts llm with reload: restart; its canary also reads llm through env
    assert checksums("rel-planner") == {"checksum/secret-db", "checksum/secret-llm"}
    assert checksums("rel-planner-canary") == {"checksum/secret-db", "checksum/secret-llm"}
    # only the green slot reads llm
    assert checksums("rel-coder-green") == {"checksum/secret-llm"}
    assert checksums("rel-coder-blue") == set()


def test_a_secret_only_the_canary_reads_rolls_the_canary(helm: Path, shop: Path) -> None:
    one = by_kind(template(helm, shop), "Deployment")
    two = by_kind(template(helm, shop, "--set", "secrets.llm.values.apiKey=rotated"), "Deployment")
    ann = "checksum/secret-llm"
    assert pod(one["rel-coder-green"])["metadata"]["annotations"][ann] != \
        pod(two["rel-coder-green"])["metadata"]["annotations"][ann]
    assert pod(one["rel-coder-blue"]) == pod(two["rel-coder-blue"])


def test_reloader_watches_an_existing_secret_a_canary_reads(helm: Path, tmp_path: Path) -> None:
    spec = SPEC.replace("llm: {keys: [apiKey]}", "llm: {keys: [apiKey], existingSecret: llm-keys, reload: restart}")
    deps = by_kind(template(helm, chart_of(tmp_path, spec)), "Deployment")
    assert deps["rel-coder-green"]["metadata"]["annotations"]["secret.reloader.stakater.com/reload"] == "llm-keys"
    green = env_list(deps["rel-coder-green"])
    assert {"name": "AGENTGEN_SECRET_LLM_APIKEY",
            "valueFrom": {"secretKeyRef": {"name": "llm-keys", "key": "apiKey"}}} in green


def _strip(workload: dict[str, Any], *drop: str) -> dict[str, Any]:
    """A pod template without what a track may change: image, env, its config volume, labels and
    the checksums of config and of secrets only one track reads (drop)."""
    import copy

    p = copy.deepcopy(pod(workload))
    del p["metadata"]["labels"]
    ann = p["metadata"].get("annotations", {})
    for k in ("checksum/config", *drop):
        ann.pop(k, None)
    if not ann:
        p["metadata"].pop("annotations", None)
    c = p["spec"]["containers"][0]
    del c["image"]
    c.pop("env", None)
    for v in p["spec"]["volumes"]:
        if v["name"] == "config":
            v["configMap"]["name"] = "<config>"
    return p


def test_a_canary_pod_differs_from_the_stable_only_in_its_version(helm: Path, shop: Path) -> None:
    deps = by_kind(template(helm, shop), "Deployment")
    stable, canary = deps["rel-planner"], deps["rel-planner-canary"]
    assert _strip(stable) == _strip(canary)
    # what they share is there: the agent-card readiness probe, the secret mount, the sidecar
    c = pod(canary)["spec"]["containers"]
    assert c[0]["readinessProbe"]["httpGet"]["path"] == "/.well-known/agent-card.json"
    assert {"name": "secret-llm", "mountPath": "/var/run/llm", "readOnly": True} in c[0]["volumeMounts"]
    assert [x["name"] for x in c] == ["planner", "proxy"]
    # labels: only the track and the revision differ
    ls, lc = pod(stable)["metadata"]["labels"], pod(canary)["metadata"]["labels"]
    assert {k for k in ls if ls[k] != lc.get(k)} == {"agentgen.io/track", "agentgen.io/revision"}
    blue, green = deps["rel-coder-blue"], deps["rel-coder-green"]
    sb, sg = _strip(blue), _strip(green, "checksum/secret-llm")
    sb["spec"]["volumes"] = [v for v in sb["spec"]["volumes"] if v["name"] != "config"]
    sg["spec"]["volumes"] = [v for v in sg["spec"]["volumes"] if v["name"] != "config"]
    for s in (sb, sg):
        s["spec"]["containers"][0]["volumeMounts"] = [m for m in s["spec"]["containers"][0]["volumeMounts"]
                                                      if m["name"] != "config"]
    assert sb == sg


def test_a_canary_pod_is_in_every_network_policy_its_agent_is_in(helm: Path, shop: Path) -> None:
    objs = template(helm, shop)
    canary = pod(by_kind(objs, "Deployment")["rel-planner-canary"])["metadata"]["labels"]
    policy = by_kind(objs, "NetworkPolicy")["rel-planner"]
    assert all(canary.get(k) == v for k, v in policy["spec"]["podSelector"]["matchLabels"].items())
    peers = [p for rule in policy["spec"]["ingress"] for p in rule.get("from", [])]
    assert {"namespaceSelector": {"matchLabels": {"team": "web"}}} in peers


def test_argo_versions_resolve_their_files_and_env(helm: Path, argo: Path) -> None:
    objs = template(helm, argo)
    validate(objs)
    cms = [o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("rel-planner-config-")]
    assert sorted(c["data"]["prompts.yaml"] for c in cms) == ["search: rel-search", "self: http://rel-planner:8080"]
    rollout = by_kind(objs, "Rollout")["rel-planner"]
    env = env_of(rollout)
    assert env["SEARCH"] == "http://rel-search:8080"
    assert env["TOKEN"] == "$(AGENTGEN_SECRET_LLM_APIKEY)"
    assert env["AGENTGEN_SECRET_LLM_APIKEY"] == {"secretKeyRef": {"name": "rel-llm", "key": "apiKey"}}
    assert "checksum/secret-llm" in pod(rollout)["metadata"]["annotations"]
    peers = [p for rule in by_kind(objs, "NetworkPolicy")["rel-search"]["spec"]["ingress"]
             for p in rule.get("from", [])]
    assert any("planner" in e["values"] for p in peers for e in p.get("podSelector", {}).get("matchExpressions", []))


BAD = """
apiVersion: agentgen/v1
name: shop
version: 0.1.0
secrets:
  llm: {keys: [apiKey]}
agents:
  planner:
    image: ghcr.io/acme/planner:1.8.2
    port: 8080
    env: {MODEL: gpt-5}
    rollout:
      strategy: canary
      canary:
        tag: 1.9.0
        weight: 10
        env:
          FULL: "$(NOPE)-x"
          C1: "$(C2)"
          C2: "$(C1)"
          BAD: "${agents.nobody.url}"
          KEY: "${secrets.llm.apiKy}"
          FINE: "$(MODEL)"
        config: {files: {prompts.yaml: "${self.hots} ${agents.serch.url}"}}
  search:
    image: ghcr.io/acme/search:2.0.0
    port: 8080
    rollout:
      strategy: blueGreen
      blueGreen:
        active: blue
        blue: {tag: 1.0.0}
        green: {tag: 1.1.0, env: {X: "${agents.planner.prot}"}}
"""


def test_track_env_and_config_are_checked_at_generate_time(tmp_path: Path) -> None:
    f = tmp_path / "spec.yaml"
    f.write_text(textwrap.dedent(BAD).lstrip())
    proc = helmgen_cli("generate", str(f), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
    lines = proc.stderr.splitlines()

    def line(field: str) -> str:
        hits = [x for x in lines if f": agents.{field}: " in x]
        assert hits, (field, proc.stderr)
        assert hits[0].startswith(f"{f}:")
        return hits[0]

    assert "$(NOPE)" in line("planner.rollout.canary.env.FULL")
    assert "C1 → C2 → C1" in line("planner.rollout.canary.env.C1")
    assert "'nobody'" in line("planner.rollout.canary.env.BAD")
    assert "apiKy" in line("planner.rollout.canary.env.KEY")
    assert "did you mean" in line("planner.rollout.canary.config.files.prompts.yaml")
    assert "prot" in line("search.rollout.blueGreen.green.env.X")
    assert "FINE" not in proc.stderr


def test_a_hook_job_cannot_be_canaried(tmp_path: Path) -> None:
    f = tmp_path / "spec.yaml"
    f.write_text(textwrap.dedent("""
        apiVersion: agentgen/v1
        name: shop
        version: 0.1.0
        agents:
          migrate:
            image: ghcr.io/acme/migrate:1.0.0
            kind: Job
            job: {hook: [pre-upgrade]}
            rollout: {strategy: canary, canary: {tag: 1.1.0, weight: 10}}
        """).lstrip())
    proc = helmgen_cli("generate", str(f), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2 and "agents.migrate.rollout" in proc.stderr, proc.stderr


def test_revision_hashes_the_version_as_written_not_as_resolved(helm: Path, shop: Path) -> None:
    """agentgen.io/revision names what the spec wrote (image, env, config), so a version keeps its
    revision across releases and environments; a changed referenced value still rolls the pods,
    through the changed env or the config checksum."""
    one = by_kind(template(helm, shop), "Deployment")["rel-planner-canary"]
    two = by_kind(template(helm, shop, "--set", "agents.search.ports.http.port=9999", "--set",
                           "fullnameOverride=prod", release="other"), "Deployment")["prod-planner-canary"]
    rev = "agentgen.io/revision"
    assert pod(one)["metadata"]["labels"][rev] == pod(two)["metadata"]["labels"][rev]
    assert env_of(two)["SEARCH"] == "http://prod-search:9999" != env_of(one)["SEARCH"]
    ann = "checksum/config"
    assert pod(one)["metadata"]["annotations"][ann] != pod(two)["metadata"]["annotations"][ann]


TRACK_AGENT = ("  p:\n    image: ghcr.io/acme/p:1.0\n    port: 8080\n    replicas: 2\n"
               "    env: {A: one, B: '$(A)-two'}\n    config: {files: {f.txt: 'at ${self.host}'}}\n"
               "    rollout:\n      strategy: canary\n      canary:\n        tag: '1.1'\n        weight: 50\n"
               "        env: {B: '$(Z)', Z: '${agents.base.url}', W: '$(B)'}\n"
               "        config: {files: {f.txt: 'base at ${agents.base.fqdn}'}}\n")
TRACK_VALUES = {"agents": {"p": {
    "image": {"repository": "ghcr.io/acme/p", "tag": "1.0"}, "ports": {"http": {"port": 8080}}, "replicas": 2,
    "env": {"A": {"value": "one"}, "B": {"value": "$(A)-two"}},
    "config": {"files": {"f.txt": "at ${self.host}"}},
    "rollout": {"strategy": "canary", "canary": {
        "tag": "1.1", "weight": 50,
        "env": {"B": {"value": "$(Z)"}, "Z": {"value": "${agents.base.url}"}, "W": {"value": "$(B)"}},
        "config": {"files": {"f.txt": "base at ${agents.base.fqdn}"}}}}}}}


def test_a_canary_added_in_a_values_file_renders_as_in_the_spec(tmp_path: Path, helm: Path) -> None:
    head = "apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\nappVersion: '1.0.0'\nagents:\n"
    base = "  base: {image: ghcr.io/acme/base:1, port: 8000}\n"
    (tmp_path / "in").mkdir()
    (tmp_path / "without").mkdir()
    in_spec = chart_of(tmp_path / "in", head + base + TRACK_AGENT)
    without = chart_of(tmp_path / "without", head + base)
    values = tmp_path / "agents.yaml"
    values.write_text(yaml.safe_dump(TRACK_VALUES))
    want = {(o["kind"], o["metadata"]["name"]): o for o in template(helm, in_spec)}
    got = {(o["kind"], o["metadata"]["name"]): o for o in template(helm, without, "-f", str(values))}
    assert sorted(got) == sorted(want)
    for k in want:
        assert got[k] == want[k], k
    canary = got[("Deployment", "rel-p-canary")]
    names = [e["name"] for e in env_list(canary)]
    assert names.index("Z") < names.index("B") < names.index("W")
    assert env_of(canary)["Z"] == "http://rel-base:8000"
    assert got[("ConfigMap", "rel-p-canary-config")]["data"] == {"f.txt": "base at rel-base.default.svc"}
    assert [e["name"] for e in env_list(got[("Deployment", "rel-p")])] == ["A", "B"]


def test_reloader_watches_an_existing_secret_an_argo_canary_reads(helm: Path, tmp_path: Path) -> None:
    spec = ARGO.replace("llm: {keys: [apiKey]}", "llm: {keys: [apiKey], existingSecret: llm-keys, reload: restart}")
    objs = template(helm, chart_of(tmp_path, spec))
    rollout = by_kind(objs, "Rollout")["rel-planner"]
    assert rollout["metadata"]["annotations"]["secret.reloader.stakater.com/reload"] == "llm-keys"
    assert env_of(rollout)["AGENTGEN_SECRET_LLM_APIKEY"] == {"secretKeyRef": {"name": "llm-keys", "key": "apiKey"}}
    assert_crd_valid(rollout)


def test_a_track_may_not_reference_an_agent_an_environment_disables(tmp_path: Path) -> None:
    f = tmp_path / "spec.yaml"
    f.write_text(textwrap.dedent(ARGO).lstrip() + "environments:\n  prod:\n    agents:\n      search: {enabled: false}\n")
    proc = helmgen_cli("generate", str(f), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert "environments.prod.agents.planner.rollout.canary.env.SEARCH: ${agents.search.url}: agent 'search' " \
           "is disabled in environment 'prod'" in proc.stderr


RICH = """
apiVersion: agentgen/v1
name: shop
version: 0.1.0
appVersion: 1.8.2
secrets:
  llm: {keys: [apiKey]}
agents:
  planner:
    image: ghcr.io/acme/planner:1.8.2
    protocol: a2a
    ports: {http: 8080, metrics: 9090}
    scaling: {minReplicas: 4, maxReplicas: 8, cpu: 70}
    env: {MODEL: gpt-5, K: {secret: llm, key: apiKey}}
    envFrom: [{secret: llm, prefix: LLM_}]
    config: {files: {a.txt: x}, reload: live}
    monitoring: {port: metrics, serviceMonitor: true}
    expose: {gateway: {name: gw}, host: a.example.com}
    podAnnotations: {team: ai}
    podLabels: {tier: brain}
    initContainers: [{name: init, image: busybox:1.36, command: [sh, -c, "true"]}]
    volumes: [{name: cache, emptyDir: {}}]
    volumeMounts: [{name: cache, mountPath: /cache}]
    securityContext: {runAsUser: null}
    rbac: {rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]}
    talksTo: [coder]
    rollout:
      strategy: canary
      canary: {tag: 1.9.0, weight: 25, env: {MODEL: gpt-5-mini}}
  coder:
    image: ghcr.io/acme/coder:2.0.0
    port: 8080
"""
RICH_BLUE_GREEN = RICH.replace(
    "strategy: canary\n      canary: {tag: 1.9.0, weight: 25, env: {MODEL: gpt-5-mini}}",
    "strategy: blueGreen\n      blueGreen: {active: blue, blue: {}, green: {tag: 1.9.0, env: {MODEL: gpt-5-mini}}}")


@pytest.mark.parametrize(("spec", "first", "second"), [(RICH, "rel-planner", "rel-planner-canary"),
                                                       (RICH_BLUE_GREEN, "rel-planner-blue", "rel-planner-green")],
                         ids=["canary", "blueGreen"])
def test_with_every_pod_setting_only_the_version_differs(helm: Path, tmp_path: Path, spec: str, first: str,
                                                         second: str) -> None:
    objs = template(helm, chart_of(tmp_path, spec))
    validate(objs)
    deps = by_kind(objs, "Deployment")
    a, b = pod(deps[first]), pod(deps[second])
    assert _strip(deps[first]) == _strip(deps[second])
    assert {k for k in a["metadata"]["labels"] if a["metadata"]["labels"][k] != b["metadata"]["labels"].get(k)} == \
        {"agentgen.io/track", "agentgen.io/revision"}
    assert a["metadata"]["annotations"]["checksum/secret-llm"] == b["metadata"]["annotations"]["checksum/secret-llm"]
    assert a["metadata"]["labels"]["tier"] == "brain" and b["metadata"]["annotations"]["team"] == "ai"
