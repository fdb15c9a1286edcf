"""Canary and blue-green as a user writes them, on both engines, rendered by the real Helm 4.3.1 and
3.17.3: every object validated (kubernetes-validate strict, CRD schemas), and the invariants of issue
11 checked on each chart (tests/rollout_invariants.py): every pod carries agentgen.io/revision, no pod
under two disruption budgets, autoscalers on the stable only with no replicas field fighting them,
callers' URLs on rendered Services, selectors that never overlap."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import by_kind, generate, run_helm, secret_sets, template
from tests.rollout_invariants import invariant_problems, validate_objects

LONG_RELEASE = "a-very-long-release-name-for-testing-limits"

SHOP = """
apiVersion: agentgen/v1
name: shop
version: 0.1.0
appVersion: 1.8.2
networkPolicy: true
defaults:
  rollout: {strategy: rolling, maxSurge: 1}
secrets:
  llm: {keys: [OPENAI_API_KEY]}
agents:
  planner:
    image: ghcr.io/acme/planner:1.7.0
    ports: {http: 8080, metrics: 9090}
    replicas: 4
    env: {MODEL: gpt-5, KEY: {secret: llm, key: OPENAI_API_KEY}}
    config: {reload: live, files: {prompts.yaml: "greeting: hello", tools.yaml: "search: on"}}
    monitoring: {port: metrics, serviceMonitor: true}
    expose: {host: planner.example.com, path: /}
    talksTo: [coder]
    scaling:
      engine: keda
      minReplicas: 2
      maxReplicas: 10
      triggers: [{type: cpu, metricType: Utilization, metadata: {value: "60"}}]
    rollout:
      strategy: canary
      canary:
        image: ghcr.io/acme/planner-next
        weight: 25
        env: {MODEL: gpt-5-mini}
        config: {files: {prompts.yaml: "greeting: hi"}}
  coder:
    image: ghcr.io/acme/coder:2.0.0
    port: 8080
    replicas: 2
    scaling: {minReplicas: 2, maxReplicas: 6, cpu: 70}
    health: /healthz
    talksTo: [planner]
    rollout:
      strategy: blueGreen
      blueGreen:
        active: blue
        blue: {tag: 2.0.0}
        green: {tag: 2.1.0, env: {MODEL: gpt-5-mini}, config: {files: {p.yaml: "x"}}}
  worker:
    image: ghcr.io/acme/worker:1.0.0
    port: 8080
    talksTo: [planner, coder]
"""


def chart_of(tmp_path: Path, spec: str, name: str = "spec") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    f = tmp_path / f"{name}.yaml"
    f.write_text(textwrap.dedent(spec).lstrip())
    return generate(f, tmp_path / f"out-{name}")


def assert_sound(objs: list[dict[str, Any]]) -> None:
    problems = validate_objects(objs) + invariant_problems(objs)
    assert not problems, "\n".join(problems)


def image_of(workload: dict[str, Any]) -> str:
    return str(workload["spec"]["template"]["spec"]["containers"][0]["image"])


def labels_of(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return chart_of(tmp_path_factory.mktemp("shop"), SHOP)


def test_realistic_chart_is_valid_and_holds_the_invariants(shop: Path, helm: Path) -> None:
    objs = template(helm, shop, release=LONG_RELEASE)
    assert_sound(objs)
    deployments = by_kind(objs, "Deployment")
    assert sorted(deployments) == sorted(f"{LONG_RELEASE}-{n}" for n in
                                         ("planner", "planner-canary", "coder-blue", "coder-green", "worker"))


def test_lint_strict_passes(shop: Path, helm: Path) -> None:
    run_helm(helm, "lint", "--strict", str(shop), *secret_sets(shop))


def test_native_canary_image_without_a_tag_takes_the_app_version(shop: Path, helm: Path) -> None:
    """`canary.image: repo` (no tag) runs repo:<appVersion>, as docs/spec.md says and the Argo engine
    does; it never keeps the stable's own tag."""
    deployments = by_kind(template(helm, shop), "Deployment")
    assert image_of(deployments["rel-planner"]) == "ghcr.io/acme/planner:1.7.0"
    assert image_of(deployments["rel-planner-canary"]) == "ghcr.io/acme/planner-next:1.8.2"


def test_native_and_argo_canary_run_the_same_image(tmp_path: Path, helm: Path) -> None:
    native = SHOP
    argo = SHOP.replace("        weight: 25\n", "        steps: [{setWeight: 25}]\n").replace(
        "      strategy: canary\n", "      strategy: canary\n      engine: argo\n")
    n = by_kind(template(helm, chart_of(tmp_path, native, "native")), "Deployment")["rel-planner-canary"]
    a = by_kind(template(helm, chart_of(tmp_path, argo, "argo")), "Rollout")["rel-planner"]
    assert image_of(a) == image_of(n) == "ghcr.io/acme/planner-next:1.8.2"
    assert labels_of(a)["agentgen.io/revision"] == labels_of(n)["agentgen.io/revision"]


DIGEST = "sha256:" + "a" * 64
PINNED = f"""
apiVersion: agentgen/v1
name: pinned
version: 0.1.0
appVersion: 1.8.2
agents:
  api:
    image: ghcr.io/acme/api:1.0.0@{DIGEST}
    port: 8080
    replicas: 3
    rollout:
      strategy: canary
      ENGINE
      canary: {{tag: 1.1.0, MOVES}}
"""


@pytest.mark.parametrize("engine", ["native", "argo"])
def test_canary_tag_over_a_pinned_digest_runs_the_new_tag(tmp_path: Path, helm: Path, engine: str) -> None:
    """A canary's `tag` replaces the agent's tag and digest on both engines: a kept digest would win over the
    tag at pull time, so the canary would silently run the stable's image."""
    moves = "weight: 30" if engine == "native" else "steps: [{setWeight: 30}, {pause: {}}]"
    spec = PINNED.replace("ENGINE", f"engine: {engine}").replace("MOVES", moves)
    objs = template(helm, chart_of(tmp_path, spec))
    assert_sound(objs)
    if engine == "native":
        canary = by_kind(objs, "Deployment")["rel-api-canary"]
    else:
        canary = by_kind(objs, "Rollout")["rel-api"]
    assert image_of(canary) == "ghcr.io/acme/api:1.1.0"


BAD_HEAD = """\
apiVersion: agentgen/v1
name: bad
version: 0.1.0
appVersion: 1.8.2
agents:
  a:
    image: ghcr.io/acme/a:1.8.2
    port: 8080
"""

# (the agent's extra lines, the problems printed): each a positioned error, exit 2, nothing written
BAD: dict[str, tuple[str, list[str]]] = {
    "weight-above-100": ("    rollout: {strategy: canary, canary: {tag: '2', weight: 101}}\n",
                         ["bad.yaml:9:60: agents.a.rollout.canary.weight: 101 is out of range"]),
    "weight-negative": ("    rollout: {strategy: canary, canary: {tag: '2', weight: -1}}\n",
                        ["bad.yaml:9:60: agents.a.rollout.canary.weight: -1 is out of range"]),
    "unknown-active-slot": ("    rollout: {strategy: blueGreen, blueGreen: {active: cyan, green: {tag: '2'}}}\n",
                            ["bad.yaml:9:56: agents.a.rollout.blueGreen.active: 'cyan' is not allowed"]),
    "canary-same-tag": ("    rollout: {strategy: canary, canary: {tag: 1.8.2, weight: 10}}\n",
                        ["bad.yaml:9:33: agents.a.rollout.canary: is identical to the stable version"]),
    # `repo` with no tag is repo:<appVersion>, here the stable's own image
    "canary-untagged-image-is-the-stable": (
        "    rollout: {strategy: canary, canary: {image: ghcr.io/acme/a, weight: 10}}\n",
        ["bad.yaml:9:33: agents.a.rollout.canary: is identical to the stable version"]),
    "blue-untagged-equals-green": (
        "    rollout: {strategy: blueGreen, blueGreen: {active: blue, blue: {image: ghcr.io/acme/a}, green: {}}}\n",
        ["bad.yaml:9:36: agents.a.rollout.blueGreen: blue and green are identical"]),
    "blue-equals-green": ("    rollout: {strategy: blueGreen, blueGreen: {active: blue, blue: {env: {A: x}}, "
                          "green: {env: {A: x}}}}\n",
                          ["bad.yaml:9:36: agents.a.rollout.blueGreen: blue and green are identical"]),
    "canary-on-cronjob": ("    schedule: '@daily'\n    rollout: {strategy: canary, canary: {tag: '2', weight: 5}}\n",
                          ["bad.yaml:10:5: agents.a.rollout: applies to a Deployment or StatefulSet, not to a "
                           "CronJob"]),
    "canary-on-job": ("    kind: Job\n    rollout: {strategy: canary, canary: {tag: '2', weight: 5}}\n",
                      ["bad.yaml:10:5: agents.a.rollout: applies to a Deployment or StatefulSet, not to a Job"]),
    "statefulset-canary": ("    state: {size: 1Gi}\n    rollout: {strategy: canary, canary: {tag: '2', weight: 5}}\n",
                           ["bad.yaml:10:15: agents.a.rollout.strategy: canary is not possible for a StatefulSet"]),
    "step-with-both": ("    rollout: {strategy: canary, engine: argo, canary: {tag: '2', "
                       "steps: [{setWeight: 5, pause: {}}]}}\n",
                       ["bad.yaml:9:74: agents.a.rollout.canary.steps[0]: gives setWeight and pause"]),
    "step-weight-out-of-range": (
        "    rollout: {strategy: canary, engine: argo, canary: {tag: '2', steps: [{setWeight: 150}]}}\n",
        ["bad.yaml:9:86: agents.a.rollout.canary.steps[0].setWeight: 150 is out of range"]),
    "steps-not-a-list": ("    rollout: {strategy: canary, engine: argo, canary: {tag: '2', steps: {setWeight: 5}}}\n",
                         ["bad.yaml:9:73: agents.a.rollout.canary.steps: expected a list, got a mapping"]),
    "analysis-without-query": (
        "    rollout: {strategy: canary, engine: argo, canary: {tag: '2', steps: [{setWeight: 5}]},\n"
        "              analysis: {prometheus: 'http://p:9090', maxErrorRate: 0.01}}\n",
        ["bad.yaml:10:25: agents.a.rollout.analysis.query: is required"]),
    "analysis-without-threshold": (
        "    rollout: {strategy: canary, engine: argo, canary: {tag: '2', steps: [{setWeight: 5}]},\n"
        "              analysis: {prometheus: 'http://p:9090', query: up}}\n",
        ["bad.yaml:10:25: agents.a.rollout.analysis.maxErrorRate: is required"]),
    "metric-min-and-max": (
        "    rollout: {strategy: canary, engine: argo, canary: {tag: '2', steps: [{setWeight: 5}]},\n"
        "              analysis: {prometheus: 'http://p:9090', metrics: [{name: m, query: up, min: 1, max: 2}]}}\n",
        ["bad.yaml:10:65: agents.a.rollout.analysis.metrics[0]: gives min and max together"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_rollout_input_is_a_positioned_error_and_writes_nothing(tmp_path: Path, case: str) -> None:
    from tests.conftest import helmgen_cli

    extra, expected = BAD[case]
    (tmp_path / "bad.yaml").write_text(BAD_HEAD + extra)
    proc = helmgen_cli("generate", "bad.yaml", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    for want in expected:
        assert any(line.startswith(want) for line in lines), f"{want!r} not in:\n{proc.stderr}"
    assert not (tmp_path / "out").exists()


def test_images_lists_an_untagged_canary_with_the_app_version(tmp_path: Path) -> None:
    from tests.conftest import helmgen_cli

    (tmp_path / "spec.yaml").write_text(textwrap.dedent(SHOP).lstrip())
    proc = helmgen_cli("images", "spec.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "ghcr.io/acme/planner-next:1.8.2" in proc.stdout.splitlines()


BUDGETED = """
apiVersion: agentgen/v1
name: pdb
version: 0.1.0
agents:
  api:
    image: ghcr.io/acme/api:1.0.0
    ports: {http: 8080, metrics: 9100}
    replicas: 4
    disruption: {minAvailable: 3}
    monitoring: {port: metrics}
    rollout:
      strategy: canary
      canary: {tag: 1.1.0, weight: 10}
"""


def test_a_canary_budget_never_forbids_every_eviction(tmp_path: Path, helm: Path) -> None:
    """The agent's minAvailable (3, sized for its 4 stable pods) on the 1-pod canary would let no canary pod be
    evicted, so node drains would stall: the canary's budget lets one pod go at a time; the stable keeps the
    agent's."""
    objs = template(helm, chart_of(tmp_path, BUDGETED))
    assert_sound(objs)
    pdbs = by_kind(objs, "PodDisruptionBudget")
    assert by_kind(objs, "Deployment")["rel-api-canary"]["spec"]["replicas"] == 1
    assert pdbs["rel-api"]["spec"]["minAvailable"] == 3
    canary_budget = pdbs["rel-api-canary"]["spec"]
    assert canary_budget == {"maxUnavailable": 1, "selector": canary_budget["selector"]}
    # the canary's pods are scraped like the stable's
    deployments = by_kind(objs, "Deployment")
    annotations = [deployments[n]["spec"]["template"]["metadata"]["annotations"] for n in ("rel-api", "rel-api-canary")]
    assert all(a["prometheus.io/port"] == "9100" and a["prometheus.io/scrape"] == "true" for a in annotations)


def matrix_spec() -> dict[str, Any]:
    """One chart, 24 rollout agents: each engine and strategy with six mixes of scaling (none, HPA, KEDA),
    exposure (none, Ingress, Gateway), monitoring (annotations, ServiceMonitor) and config (none, restart,
    live, the track changing the files), half the Argo ones with several analysis metrics; and a caller of all."""
    mixes = [("none", "none", False, "none"), ("hpa", "ingress", True, "restart"), ("keda", "gateway", False, "live"),
             ("hpa", "gateway", True, "none"), ("keda", "ingress", True, "restart"), ("none", "gateway", True, "live")]
    agents: dict[str, Any] = {}
    i = 0
    for engine in ("native", "argo"):
        for strategy in ("canary", "blueGreen"):
            for scaling, expose, sm, reload in mixes:
                name = f"{engine[0]}{strategy[0]}{i}"
                i += 1
                a: dict[str, Any] = {"image": f"ghcr.io/acme/{name}:1.0.0", "ports": {"http": 8080, "metrics": 9100},
                                     "replicas": 3, "env": {"MODEL": "big"},
                                     "monitoring": {"port": "metrics", "serviceMonitor": sm}}
                track: dict[str, Any] = {"tag": "1.1.0", "env": {"MODEL": "small"}}
                if reload != "none":
                    a["config"] = {"reload": reload, "files": {"p.yaml": "one"}}
                    track["config"] = {"files": {"p.yaml": "two"}}
                if scaling == "hpa":
                    a["scaling"] = {"minReplicas": 2, "maxReplicas": 5, "cpu": 60}
                elif scaling == "keda":
                    a["scaling"] = {"engine": "keda", "minReplicas": 1, "maxReplicas": 5, "triggers": [
                        {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60"}}]}
                if expose == "ingress":
                    a["expose"] = {"host": f"{name}.example.com"}
                elif expose == "gateway":
                    a["expose"] = {"gateway": {"name": "gw", "namespace": "infra"}, "host": f"{name}.example.com"}
                rollout: dict[str, Any] = {"strategy": strategy, "engine": engine}
                if strategy == "canary":
                    moves = {"weight": 34} if engine == "native" else {"steps": [{"setWeight": 34}, {"pause": {}}]}
                    rollout["canary"] = {**track, **moves}
                else:
                    rollout["blueGreen"] = {"active": "blue", "blue": {}, "green": track}
                if engine == "argo" and i % 2:
                    rollout["analysis"] = {"prometheus": "http://prometheus.monitoring:9090", "metrics": [
                        {"name": "error-rate", "query": 'sum(rate(e{service="{{args.service}}"}[2m]))', "max": 0.01},
                        {"name": "score", "query": 'avg(s{service="{{args.service}}"})', "min": 0.8,
                         "interval": "5m", "count": 3, "failureLimit": 1}]}
                a["rollout"] = rollout
                agents[name] = a
    agents["caller"] = {"image": "ghcr.io/acme/caller:1.0.0", "port": 8080, "talksTo": sorted(agents)}
    return {"apiVersion": "agentgen/v1", "name": "matrix", "version": "0.1.0", "appVersion": "1.0.0",
            "agents": agents}


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import yaml

    return chart_of(tmp_path_factory.mktemp("matrix"), yaml.safe_dump(matrix_spec(), sort_keys=False), "matrix")


def test_every_mix_of_rollout_and_features_is_valid(matrix: Path, helm: Path) -> None:
    objs = template(helm, matrix, release=LONG_RELEASE)
    assert_sound(objs)
    run_helm(helm, "lint", "--strict", str(matrix))
    # callers reach every agent through its live Service, never a track's
    caller = by_kind(objs, "Deployment")[f"{LONG_RELEASE}-caller"]
    urls = {e["name"]: e["value"] for e in caller["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert len(urls) == 24
    for name, url in urls.items():
        assert url == f"http://{LONG_RELEASE}-{name[:-4].lower()}:8080"


def test_every_mix_switches_by_value(matrix: Path, helm: Path) -> None:
    """Every blue-green agent switched to green and every native canary moved to weight 100: still valid, and a
    native blue-green switch changes only its Services' selectors."""
    spec = matrix_spec()
    sets: list[str] = []
    for name, a in spec["agents"].items():
        if "blueGreen" in a.get("rollout", {}):
            sets += ["--set", f"agents.{name}.rollout.blueGreen.active=green"]
    before = template(helm, matrix)
    after = template(helm, matrix, *sets)
    assert_sound(after)
    changed = {(o["kind"], o["metadata"]["name"]) for o in after if o not in before}
    native_bg = {n for n, a in spec["agents"].items() if a.get("rollout", {}).get("strategy") == "blueGreen"
                 and a["rollout"]["engine"] == "native"}
    for kind, name in changed:
        agent = name.removeprefix("rel-").removesuffix("-preview")
        if agent in native_bg:
            assert kind == "Service", (kind, name)
    assert {("Service", f"rel-{n}{s}") for n in native_bg for s in ("", "-preview")} <= changed
    canaries = [n for n, a in spec["agents"].items() if a.get("rollout", {}).get("strategy") == "canary"
                and a["rollout"]["engine"] == "native"]
    full = template(helm, matrix, *[x for n in canaries for x in ("--set", f"agents.{n}.rollout.canary.weight=100")])
    assert_sound(full)


def test_a_long_full_name_override_keeps_every_track_apart(shop: Path, helm: Path) -> None:
    """fullnameOverride of 63 characters: every name is shortened, and the stable, canary, blue, green, preview
    and per-track config names stay distinct and valid."""
    objs = template(helm, shop, "--set", "fullnameOverride=" + "x" * 63)
    assert_sound(objs)
    deployments = by_kind(objs, "Deployment")
    assert len(deployments) == 5
    assert all(len(n) <= 63 for n in deployments)
    assert len({o["metadata"]["name"] for o in objs if o["kind"] == "Service"}) == 4  # 3 live + 1 preview


ENVIRONMENTS = """
apiVersion: agentgen/v1
name: env
version: 0.1.0
appVersion: 2.0.0
defaults:
  rollout: {strategy: canary, canary: {weight: 20}}
agents:
  api:
    image: ghcr.io/acme/api:1.0.0
    port: 8080
    replicas: 5
    config: {files: {p.yaml: "a"}}
    scaling: {minReplicas: 5, maxReplicas: 10, cpu: 50}
  front:
    image: ghcr.io/acme/front:1.0.0
    port: 8080
    talksTo: [api]
environments:
  prod:
    agents:
      api:
        rollout: {canary: {image: ghcr.io/acme/api-next, config: {files: {p.yaml: "b"}}}}
"""


def test_an_environment_starts_a_canary_from_defaults_without_touching_the_stable(tmp_path: Path,
                                                                                   helm: Path) -> None:
    """`defaults` make every agent a canary agent with weight 20 and no version (so no canary runs); the prod
    environment gives api a canary image and config: the canary runs (1 pod of ceil(5 × 20%)), with its own
    ConfigMap and the appVersion tag, and the stable's pod template stays byte for byte the same, so it
    does not restart."""
    chart = chart_of(tmp_path, ENVIRONMENTS)
    base = template(helm, chart)
    prod = template(helm, chart, "-f", str(chart / "values-prod.yaml"))
    assert_sound(base)
    assert_sound(prod)
    assert sorted(by_kind(base, "Deployment")) == ["rel-api", "rel-front"]
    deployments = by_kind(prod, "Deployment")
    assert sorted(deployments) == ["rel-api", "rel-api-canary", "rel-front"]
    assert deployments["rel-api"] == by_kind(base, "Deployment")["rel-api"]
    canary = deployments["rel-api-canary"]
    assert canary["spec"]["replicas"] == 1
    assert image_of(canary) == "ghcr.io/acme/api-next:2.0.0"
    assert by_kind(prod, "ConfigMap")["rel-api-canary-config"]["data"] == {"p.yaml": "b"}
    assert by_kind(prod, "ConfigMap")["rel-api-config"]["data"] == {"p.yaml": "a"}
    assert by_kind(prod, "HorizontalPodAutoscaler")["rel-api"]["spec"]["scaleTargetRef"]["name"] == "rel-api"


PUBLIC = """
apiVersion: agentgen/v1
name: pub
version: 0.1.0
agents:
  api:
    image: ghcr.io/acme/api:1.0.0
    port: 8080
    replicas: 2
    service:
      type: LoadBalancer
      annotations: {external-dns.alpha.kubernetes.io/hostname: api.example.com}
    expose: {gateway: {name: gw, namespace: infra}, host: api.example.com}
    rollout:
      strategy: canary
      ENGINE
      canary: {tag: 1.1.0, MOVES}
  bg:
    image: ghcr.io/acme/bg:1.0.0
    port: 8080
    service:
      type: LoadBalancer
      annotations: {external-dns.alpha.kubernetes.io/hostname: bg.example.com}
    rollout:
      strategy: blueGreen
      ENGINE
      blueGreen: {active: blue, green: {tag: "2"}}
"""


@pytest.mark.parametrize("engine", ["native", "argo"])
def test_only_the_live_service_takes_the_agents_service_type_and_annotations(tmp_path: Path, helm: Path,
                                                                             engine: str) -> None:
    """A LoadBalancer agent with an external-dns hostname: only its live Service is a LoadBalancer with that
    annotation. The preview and a gateway canary's per-track Services are ClusterIP without it (else each would
    be a second paid load balancer claiming the same DNS name as the live one)."""
    moves = "weight: 30" if engine == "native" else "steps: [{setWeight: 30}]"
    objs = template(helm, chart_of(tmp_path, PUBLIC.replace("ENGINE", f"engine: {engine}").replace("MOVES", moves)))
    assert_sound(objs)
    services = by_kind(objs, "Service")
    extra = {"rel-bg-preview"} | ({"rel-api-stable", "rel-api-canary"} if engine == "native" else set())
    assert set(services) == {"rel-api", "rel-bg"} | extra
    for live in ("rel-api", "rel-bg"):
        assert services[live]["spec"]["type"] == "LoadBalancer"
        assert "external-dns.alpha.kubernetes.io/hostname" in services[live]["metadata"]["annotations"]
    for name in extra:
        assert services[name]["spec"]["type"] == "ClusterIP", name
        assert not services[name]["metadata"].get("annotations"), name


VALUES_FILE_AGENT = """
agents:
  extra:
    image: {repository: ghcr.io/acme/extra, tag: "1.0.0"}
    ports: {http: {port: 8080}}
    replicas: 4
    disruption: {minAvailable: 3}
    expose: {gateway: {name: gw, namespace: infra}, host: extra.example.com}
    rollout:
      strategy: canary
      canary: {image: {repository: ghcr.io/acme/extra-next}, weight: 25}
"""


def test_a_values_file_canary_agent_takes_the_app_version_and_its_own_budget(shop: Path, helm: Path,
                                                                             tmp_path: Path) -> None:
    values = tmp_path / "extra.yaml"
    values.write_text(textwrap.dedent(VALUES_FILE_AGENT).lstrip())
    objs = template(helm, shop, "-f", str(values))
    assert_sound(objs)
    deployments = by_kind(objs, "Deployment")
    assert image_of(deployments["rel-extra"]) == "ghcr.io/acme/extra:1.0.0"
    assert image_of(deployments["rel-extra-canary"]) == "ghcr.io/acme/extra-next:1.8.2"
    assert deployments["rel-extra-canary"]["spec"]["replicas"] == 1
    assert by_kind(objs, "PodDisruptionBudget")["rel-extra-canary"]["spec"]["maxUnavailable"] == 1
    route = by_kind(objs, "HTTPRoute")["rel-extra"]
    assert [(b["name"], b["weight"]) for b in route["spec"]["rules"][0]["backendRefs"]] == [
        ("rel-extra-stable", 75), ("rel-extra-canary", 25)]


PROMOTABLE = f"""\
apiVersion: agentgen/v1
name: pr
version: 0.1.0
appVersion: 1.8.2
agents:
  # the planner
  planner:
    image: ghcr.io/acme/planner:1.7.0@{DIGEST}
    port: 8080
    replicas: 4
    env: {{MODEL: big}}
    config: {{files: {{p.yaml: one}}}}
    rollout:
      strategy: canary
      canary:
        VERSION   # the new version
        weight: 10
        env: {{MODEL: small}}
        config: {{files: {{p.yaml: two}}}}
"""


@pytest.mark.parametrize("version", ["image: ghcr.io/acme/planner-next", "tag: 1.9.0"])
def test_promotion_makes_the_stable_run_exactly_what_the_canary_ran(tmp_path: Path, helm: Path, version: str) -> None:
    """An untagged canary image or a canary tag over a pinned digest: after `helmgen promote`, the stable's pod
    template (image, env, revision) is the canary's before it."""
    from tests.conftest import helmgen_cli

    spec = tmp_path / "pr.yaml"
    spec.write_text(PROMOTABLE.replace("VERSION", version))
    before = by_kind(template(helm, generate(spec, tmp_path / "before")), "Deployment")["rel-planner-canary"]
    proc = helmgen_cli("promote", str(spec), "planner")
    assert proc.returncode == 0, proc.stderr
    after = by_kind(template(helm, generate(spec, tmp_path / "after")), "Deployment")["rel-planner"]
    for w in (before, after):
        w["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = None  # the ConfigMap's name differs
        w["spec"]["template"]["spec"]["volumes"] = None
        w["spec"]["template"]["metadata"]["labels"].pop("agentgen.io/track")
    assert image_of(after) == image_of(before) != ""
    assert after["spec"]["template"] == before["spec"]["template"]


BAD_ENVIRONMENTS = """\
apiVersion: agentgen/v1
name: en
version: 0.1.0
agents:
  db:
    image: ghcr.io/acme/db:1.0.0
    port: 5432
    state: {size: 1Gi}
  api:
    image: ghcr.io/acme/api:1.0.0
    port: 8080
    rollout:
      strategy: blueGreen
      blueGreen: {active: blue, green: {tag: "2"}}
  c:
    image: ghcr.io/acme/c:1.0.0
    port: 8080
    rollout: {strategy: canary, canary: {tag: "2", weight: 5}}
environments:
  prod:
    agents:
      db: {rollout: {strategy: canary, canary: {tag: "2", weight: 10}}}
      api: {rollout: {blueGreen: {active: purple}}}
      c: {rollout: {canary: {weight: 300}}}
  dev:
    agents:
      c: {rollout: {canary: {tag: 1.0.0}}}
      api: {rollout: {blueGreen: {green: {tag: 1.0.0}}}}
"""


def test_bad_rollouts_in_environments_are_positioned_errors(tmp_path: Path) -> None:
    """An environment's override is checked as the merged agent: a StatefulSet given a canary, an unknown slot, a
    weight out of range, a canary or slot made identical to the stable: every problem at once, exit 2."""
    from tests.conftest import helmgen_cli

    (tmp_path / "en.yaml").write_text(BAD_ENVIRONMENTS)
    proc = helmgen_cli("generate", "en.yaml", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 2
    lines = [line.split(" (")[0] for line in proc.stderr.splitlines()]
    assert lines == [
        "en.yaml:22:22: environments.prod.agents.db.rollout.strategy: canary is not possible for a StatefulSet: it "
        "takes rolling only",
        "en.yaml:23:43: environments.prod.agents.api.rollout.blueGreen.active: 'purple' is not allowed",
        "en.yaml:24:38: environments.prod.agents.c.rollout.canary.weight: 300 is out of range",
        "en.yaml:27:21: environments.dev.agents.c.rollout.canary: is identical to the stable version",
        "en.yaml:28:23: environments.dev.agents.api.rollout.blueGreen: blue and green are identical",
        "5 problems found; nothing written.",
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("setting", "message"), [
    ("agents.planner.rollout.canary.steps[0].setWeight=10",
     "agents.planner.rollout.canary.steps: applies to engine argo, not to native"),
    ("agents.planner.rollout.analysis.query=up", "agents.planner.rollout.analysis: needs engine: argo"),
    ("agents.worker.rollout.strategy=blueGreen", "agents.worker.rollout.blueGreen.active: is required"),
    ("agents.planner.rollout.engine=argo",
     "agents.planner.rollout.canary.weight: applies to engine native, not to argo"),
])
def test_values_the_checker_refuses_fail_the_render_on_the_native_engine(shop: Path, helm: Path, setting: str,
                                                                         message: str) -> None:
    """Set with --set or in a values file, rollout settings the spec's checker refuses are not silently ignored
    (steps or analysis on the native engine would promise checks that never run): the render fails naming the
    field."""
    proc = run_helm(helm, "template", "rel", str(shop), *secret_sets(shop), "--set", setting, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr


def test_config_per_track_live_and_restart(shop: Path, helm: Path) -> None:
    """planner (reload: live): neither track's pods carry a config checksum, and the canary mounts its own
    ConfigMap of the merged files. coder's green slot (restart, config only on that slot): its checksum covers
    its own files and the blue slot mounts no config."""
    objs = template(helm, shop)
    deployments = by_kind(objs, "Deployment")
    maps = by_kind(objs, "ConfigMap")

    def mounted(name: str) -> str | None:
        volumes = deployments[name]["spec"]["template"]["spec"].get("volumes", [])
        return next((v["configMap"]["name"] for v in volumes if "configMap" in v), None)

    def checksum(name: str) -> str | None:
        annotations = deployments[name]["spec"]["template"]["metadata"].get("annotations") or {}
        return annotations.get("checksum/config")

    assert checksum("rel-planner") is None and checksum("rel-planner-canary") is None
    assert mounted("rel-planner") == "rel-planner-config"
    assert maps["rel-planner-config"]["data"] == {"prompts.yaml": "greeting: hello", "tools.yaml": "search: on"}
    assert mounted("rel-planner-canary") == "rel-planner-canary-config"
    assert maps["rel-planner-canary-config"]["data"] == {"prompts.yaml": "greeting: hi", "tools.yaml": "search: on"}
    assert mounted("rel-coder-blue") is None and checksum("rel-coder-blue") is None
    assert mounted("rel-coder-green") == "rel-coder-green-config"
    assert checksum("rel-coder-green")
    changed = by_kind(template(helm, shop, "--set-string",
                               "agents.coder.rollout.blueGreen.green.config.files.p\\.yaml=y"), "Deployment")
    assert changed["rel-coder-green"]["spec"]["template"]["metadata"]["annotations"]["checksum/config"] != \
        checksum("rel-coder-green")
    assert changed["rel-coder-blue"] == deployments["rel-coder-blue"]
