"""Canary and blue-green on the native engine, rendered by the real Helm 4.3.1 and 3.17.3: the
workloads of each track, the Services and HTTPRoute in front of them, replicas by weight, disruption
budgets, autoscaling, config per track, the revision label, and the switch by one value."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import CRD_KINDS, by_kind, generate, template

CRD_SCHEMAS = Path(__file__).parent / "crd-schemas"

SPEC = """
apiVersion: agentgen/v1
name: shop
version: 0.1.0
appVersion: 1.8.2
agents:
  planner:
    image: ghcr.io/acme/planner:1.8.2
    port: 8080
    replicas: 4
    env: {MODEL: gpt-5, TEMPERATURE: "0.2"}
    config: {files: {prompts.yaml: "greeting: hello", tools.yaml: "search: on"}}
    talksTo: [coder]
    rollout:
      strategy: canary
      canary:
        tag: 1.9.0
        weight: 10
        env: {MODEL: gpt-5-mini}
        config: {files: {prompts.yaml: "greeting: hi"}}
  coder:
    image: ghcr.io/acme/coder:2.0.0
    port: 8080
    replicas: 2
    rollout:
      strategy: blueGreen
      blueGreen:
        active: blue
        blue: {tag: 2.0.0}
        green: {tag: 2.1.0, env: {MODEL: gpt-5-mini}}
  caller:
    image: ghcr.io/acme/caller:1.0.0
    port: 8080
    talksTo: [planner, coder]
"""


def chart_of(tmp_path: Path, spec: str = SPEC) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    f = tmp_path / "spec.yaml"
    f.write_text(textwrap.dedent(spec).lstrip())
    return generate(f, tmp_path / "out")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return chart_of(tmp_path_factory.mktemp("shop"))


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


def container(workload: dict[str, Any]) -> dict[str, Any]:
    c: dict[str, Any] = workload["spec"]["template"]["spec"]["containers"][0]
    return c


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def validate_all(objs: list[dict[str, Any]]) -> None:
    """Core objects with kubernetes-validate (strict); HTTPRoute and ServiceMonitor against their CRD schemas."""
    import jsonschema
    import kubernetes_validate

    crd = {"HTTPRoute": "gateway.networking.k8s.io/httproute_v1.json",
           "ServiceMonitor": "monitoring.coreos.com/servicemonitor_v1.json"}
    for obj in objs:
        if obj["kind"] in crd:
            jsonschema.validate(obj, json.loads((CRD_SCHEMAS / crd[obj["kind"]]).read_text()))
        elif obj["kind"] not in CRD_KINDS:
            kubernetes_validate.validate(obj, "1.30.0", strict=True)


def test_canary_is_a_second_workload_behind_the_live_service(shop: Path, helm: Path) -> None:
    objs = template(helm, shop, release="r")
    validate_all(objs)
    deps = by_kind(objs, "Deployment")
    stable, canary = deps["r-planner"], deps["r-planner-canary"]
    assert stable["spec"]["replicas"] == 4 and canary["spec"]["replicas"] == 1  # ceil(4 * 10 / 100)
    assert stable["spec"]["selector"]["matchLabels"]["agentgen.io/track"] == "stable"
    assert canary["spec"]["selector"]["matchLabels"]["agentgen.io/track"] == "canary"
    # the stable workload never selects a canary pod, and the reverse
    assert not selects(stable["spec"]["selector"]["matchLabels"], pod_labels(canary))
    assert not selects(canary["spec"]["selector"]["matchLabels"], pod_labels(stable))
    # the live Service selects both tracks; callers keep its URL
    live = by_kind(objs, "Service")["r-planner"]["spec"]["selector"]
    assert selects(live, pod_labels(stable)) and selects(live, pod_labels(canary))
    assert env_of(container(deps["r-caller"]))["PLANNER_URL"] == "http://r-planner:8080"
    assert "r-planner-stable" not in by_kind(objs, "Service")  # only with a gateway
    # the canary's version: its tag, its env over the agent's, its config files over the agent's
    assert container(stable)["image"] == "ghcr.io/acme/planner:1.8.2"
    assert container(canary)["image"] == "ghcr.io/acme/planner:1.9.0"
    assert env_of(container(stable))["MODEL"] == "gpt-5"
    assert env_of(container(canary))["MODEL"] == "gpt-5-mini"
    assert env_of(container(canary))["TEMPERATURE"] == "0.2"
    assert env_of(container(canary))["CODER_URL"] == "http://r-coder:8080"
    cms = by_kind(objs, "ConfigMap")
    assert cms["r-planner-config"]["data"] == {"prompts.yaml": "greeting: hello", "tools.yaml": "search: on"}
    assert cms["r-planner-canary-config"]["data"] == {"prompts.yaml": "greeting: hi", "tools.yaml": "search: on"}
    vol = {v["name"]: v for v in canary["spec"]["template"]["spec"]["volumes"]}
    assert vol["config"]["configMap"]["name"] == "r-planner-canary-config"
    vol = {v["name"]: v for v in stable["spec"]["template"]["spec"]["volumes"]}
    assert vol["config"]["configMap"]["name"] == "r-planner-config"
    # probes and identity as the stable's
    for key in ("livenessProbe", "readinessProbe", "resources", "securityContext"):
        assert container(canary)[key] == container(stable)[key]
    assert canary["spec"]["template"]["spec"]["serviceAccountName"] == stable["spec"]["template"]["spec"]["serviceAccountName"]
    # NetworkPolicy membership: the agent's policy covers the canary's pods, and a canary calls as the agent
    policies = by_kind(objs, "NetworkPolicy")
    assert selects(policies["r-planner"]["spec"]["podSelector"]["matchLabels"], pod_labels(canary))
    coder_peers = policies["r-coder"]["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]
    assert pod_labels(canary)["app.kubernetes.io/component"] in coder_peers["values"]
    # each track its own disruption budget
    pdbs = by_kind(objs, "PodDisruptionBudget")
    assert pdbs["r-planner"]["spec"]["selector"]["matchLabels"] == stable["spec"]["selector"]["matchLabels"]
    assert pdbs["r-planner-canary"]["spec"]["selector"]["matchLabels"] == canary["spec"]["selector"]["matchLabels"]


def test_revision_label_tells_tracks_apart_and_follows_values(shop: Path, helm: Path) -> None:
    objs = template(helm, shop, release="r")
    deps = by_kind(objs, "Deployment")
    rev = {name: pod_labels(d)["agentgen.io/revision"] for name, d in deps.items()}
    assert len(set(rev.values())) == len(rev)  # stable, canary, blue, green, caller: all differ
    assert all(len(r) == 10 for r in rev.values())
    # a prompt-only difference changes it too; so does a values override (computed at render time)
    again = by_kind(template(helm, shop, "--set", "agents.caller.image.tag=1.0.1", release="r"), "Deployment")
    assert pod_labels(again["r-caller"])["agentgen.io/revision"] != rev["r-caller"]
    assert pod_labels(again["r-planner"])["agentgen.io/revision"] == rev["r-planner"]
    prompt = by_kind(template(helm, shop, "--set", "agents.planner.rollout.canary.config.files.prompts\\.yaml=x",
                              release="r"), "Deployment")
    assert pod_labels(prompt["r-planner-canary"])["agentgen.io/revision"] != rev["r-planner-canary"]


@pytest.mark.parametrize(("replicas", "weight", "expected"), [(4, 0, 0), (4, 10, 1), (10, 25, 3), (3, 50, 2),
                                                              (2, 100, 2)])
def test_canary_replicas_follow_the_weight(shop: Path, helm: Path, replicas: int, weight: int, expected: int) -> None:
    objs = template(helm, shop, "--set", f"agents.planner.replicas={replicas}",
                    "--set", f"agents.planner.rollout.canary.weight={weight}", release="r")
    deps = by_kind(objs, "Deployment")
    assert deps["r-planner"]["spec"]["replicas"] == replicas
    assert deps["r-planner-canary"]["spec"]["replicas"] == expected


def test_a_canary_without_a_version_renders_only_the_stable(tmp_path: Path, helm: Path) -> None:
    spec = SPEC.replace("        tag: 1.9.0\n", "").replace("        env: {MODEL: gpt-5-mini}\n", "", 1) \
        .replace("        config: {files: {prompts.yaml: \"greeting: hi\"}}\n", "")
    objs = template(helm, chart_of(tmp_path, spec), release="r")
    assert "r-planner-canary" not in by_kind(objs, "Deployment")
    assert "r-planner-canary" not in by_kind(objs, "PodDisruptionBudget")
    assert "r-planner-canary-config" not in by_kind(objs, "ConfigMap")
    assert by_kind(objs, "Deployment")["r-planner"]["spec"]["replicas"] == 4


def test_switching_strategy_keeps_the_stable_selector(tmp_path: Path, helm: Path) -> None:
    """The selector is immutable: a live release goes from rolling to canary and back with helm upgrade."""
    rolling = chart_of(tmp_path, SPEC.replace("strategy: canary", "strategy: rolling")
                       .split("    rollout:\n      strategy: rolling")[0] + "  coder: {image: 'nginx:1', port: 80}\n"
                       "  caller: {image: 'nginx:1', port: 80}\n")
    before = by_kind(template(helm, rolling, release="r"), "Deployment")["r-planner"]
    after = by_kind(template(helm, chart_of(tmp_path / "c", SPEC), release="r"), "Deployment")["r-planner"]
    assert before["spec"]["selector"] == after["spec"]["selector"]


def test_autoscaling_targets_the_stable_workload_only(tmp_path: Path, helm: Path) -> None:
    spec = SPEC.replace("    replicas: 4\n", "    scaling: {minReplicas: 5, maxReplicas: 20}\n")
    objs = template(helm, chart_of(tmp_path, spec), release="r")
    validate_all(objs)
    deps = by_kind(objs, "Deployment")
    assert "replicas" not in deps["r-planner"]["spec"]  # the autoscaler owns them
    assert deps["r-planner-canary"]["spec"]["replicas"] == 1  # ceil(minReplicas 5 * 10 / 100)
    hpas = by_kind(objs, "HorizontalPodAutoscaler")
    assert list(hpas) == ["r-planner"]
    assert hpas["r-planner"]["spec"]["scaleTargetRef"]["name"] == "r-planner"


def test_gateway_canary_splits_traffic_by_weight(tmp_path: Path, helm: Path) -> None:
    spec = SPEC.replace("    talksTo: [coder]\n", "    talksTo: [coder]\n    expose: {host: shop.example.com, "
                                                     "gateway: {name: public, namespace: infra}}\n"
                                                     "    monitoring: {port: 8080, serviceMonitor: true}\n")
    objs = template(helm, chart_of(tmp_path, spec), release="r")
    validate_all(objs)
    route = by_kind(objs, "HTTPRoute")["r-planner"]
    refs = route["spec"]["rules"][0]["backendRefs"]
    assert refs == [{"name": "r-planner-stable", "port": 8080, "weight": 90},
                    {"name": "r-planner-canary", "port": 8080, "weight": 10}]
    svcs = by_kind(objs, "Service")
    deps = by_kind(objs, "Deployment")
    assert selects(svcs["r-planner-stable"]["spec"]["selector"], pod_labels(deps["r-planner"]))
    assert not selects(svcs["r-planner-stable"]["spec"]["selector"], pod_labels(deps["r-planner-canary"]))
    assert selects(svcs["r-planner-canary"]["spec"]["selector"], pod_labels(deps["r-planner-canary"]))
    assert not selects(svcs["r-planner-canary"]["spec"]["selector"], pod_labels(deps["r-planner"]))
    # the ServiceMonitor scrapes each pod once: through the live Service, not the per-track ones
    monitor = by_kind(objs, "ServiceMonitor")["r-planner"]["spec"]["selector"]
    assert monitor["matchExpressions"] == [{"key": "agentgen.io/route-backend", "operator": "DoesNotExist"}]
    assert [n for n, svc in svcs.items() if selects(monitor["matchLabels"], svc["metadata"]["labels"])
            and "agentgen.io/route-backend" not in svc["metadata"]["labels"]] == ["r-planner"]
    # the weights follow the value
    moved = template(helm, chart_of(tmp_path / "b", spec), "--set", "agents.planner.rollout.canary.weight=35",
                     release="r")
    assert [r["weight"] for r in by_kind(moved, "HTTPRoute")["r-planner"]["spec"]["rules"][0]["backendRefs"]] == [65, 35]


def test_blue_green_slots_and_services(shop: Path, helm: Path) -> None:
    objs = template(helm, shop, release="r")
    deps = by_kind(objs, "Deployment")
    assert "r-coder" not in deps
    blue, green = deps["r-coder-blue"], deps["r-coder-green"]
    assert container(blue)["image"] == "ghcr.io/acme/coder:2.0.0"
    assert container(green)["image"] == "ghcr.io/acme/coder:2.1.0"
    assert env_of(container(green))["MODEL"] == "gpt-5-mini" and "MODEL" not in env_of(container(blue))
    assert blue["spec"]["replicas"] == green["spec"]["replicas"] == 2
    svcs = by_kind(objs, "Service")
    live, preview = svcs["r-coder"]["spec"]["selector"], svcs["r-coder-preview"]["spec"]["selector"]
    assert selects(live, pod_labels(blue)) and not selects(live, pod_labels(green))
    assert selects(preview, pod_labels(green)) and not selects(preview, pod_labels(blue))
    pdbs = by_kind(objs, "PodDisruptionBudget")
    assert selects(pdbs["r-coder-blue"]["spec"]["selector"]["matchLabels"], pod_labels(blue))
    assert selects(pdbs["r-coder-green"]["spec"]["selector"]["matchLabels"], pod_labels(green))
    # helm test checks the live Service and the preview
    test_args = by_kind(objs, "Job")["r-coder-test"]["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "tcp r-coder 8080" in test_args and "tcp r-coder-preview 8080" in test_args


def test_switching_the_active_slot_changes_only_the_service_selectors(shop: Path, helm: Path) -> None:
    blue = template(helm, shop, release="r")
    green = template(helm, shop, "--set", "agents.coder.rollout.blueGreen.active=green", release="r")
    key = lambda o: (o["kind"], o["metadata"]["name"])  # noqa: E731
    before, after = {key(o): o for o in blue}, {key(o): o for o in green}
    assert before.keys() == after.keys()
    changed = sorted(k for k in before if before[k] != after[k])
    assert changed == [("Service", "r-coder"), ("Service", "r-coder-preview")]
    for k in changed:
        b, a = before[k], after[k]
        assert {**b, "spec": {**b["spec"], "selector": None}} == {**a, "spec": {**a["spec"], "selector": None}}
    assert after[("Service", "r-coder")]["spec"]["selector"]["agentgen.io/track"] == "green"
    assert after[("Service", "r-coder-preview")]["spec"]["selector"]["agentgen.io/track"] == "blue"


def test_no_pod_is_selected_by_two_disruption_budgets(shop: Path, helm: Path) -> None:
    objs = template(helm, shop, release="r")
    pdbs = [p["spec"]["selector"]["matchLabels"] for p in by_kind(objs, "PodDisruptionBudget").values()]
    for name, dep in by_kind(objs, "Deployment").items():
        # the caller runs one pod, so it has no budget; every track of planner and coder has exactly one
        assert sum(selects(p, pod_labels(dep)) for p in pdbs) == (0 if name == "r-caller" else 1), name


def test_agent_added_in_a_values_file_gets_its_canary(shop: Path, helm: Path, tmp_path: Path) -> None:
    values = tmp_path / "more.yaml"
    values.write_text(yaml.safe_dump({"agents": {"extra": {
        "image": {"repository": "ghcr.io/acme/extra", "tag": "1.0.0"}, "ports": {"http": {"port": 80}},
        "replicas": 3, "env": {"A": {"value": "1"}},
        "rollout": {"strategy": "canary", "canary": {"tag": "1.1.0", "weight": 50, "env": {"B": {"value": "2"}}}}}}}))
    objs = template(helm, shop, "-f", str(values), release="r")
    validate_all(objs)
    deps = by_kind(objs, "Deployment")
    assert deps["r-extra"]["spec"]["replicas"] == 3 and deps["r-extra-canary"]["spec"]["replicas"] == 2
    assert container(deps["r-extra-canary"])["image"] == "ghcr.io/acme/extra:1.1.0"
    assert env_of(container(deps["r-extra-canary"])) == {"A": "1", "B": "2"}
    assert set(by_kind(objs, "PodDisruptionBudget")) >= {"r-extra", "r-extra-canary"}


def test_blue_green_slots_each_autoscale(tmp_path: Path, helm: Path) -> None:
    spec = SPEC.replace("    replicas: 2\n", "    scaling: {minReplicas: 2, maxReplicas: 6}\n")
    objs = template(helm, chart_of(tmp_path, spec), release="r")
    validate_all(objs)
    deps = by_kind(objs, "Deployment")
    assert "replicas" not in deps["r-coder-blue"]["spec"] and "replicas" not in deps["r-coder-green"]["spec"]
    hpas = by_kind(objs, "HorizontalPodAutoscaler")
    assert {n: h["spec"]["scaleTargetRef"]["name"] for n, h in hpas.items()} == {
        "r-coder-blue": "r-coder-blue", "r-coder-green": "r-coder-green"}


@pytest.mark.parametrize("setting", ["agents.planner.rollout.canary.weight=101",
                                     "agents.coder.rollout.blueGreen.active=purple",
                                     "agents.planner.rollout.canary.colour=red"])
def test_values_schema_refuses_bad_rollout_values(shop: Path, helm: Path, setting: str) -> None:
    from tests.conftest import run_helm, secret_sets

    proc = run_helm(helm, "template", "r", str(shop), *secret_sets(shop), "--set", setting, check=False)
    assert proc.returncode != 0
    assert "rollout" in proc.stderr


def test_every_pod_carries_a_revision(tmp_path: Path, helm: Path) -> None:
    spec = SPEC + "  nightly: {image: 'ghcr.io/acme/n:1.0.0', schedule: '@daily'}\n" \
                  "  once: {image: 'ghcr.io/acme/o:1.0.0', kind: Job}\n"
    objs = template(helm, chart_of(tmp_path, spec), release="r")
    cron = by_kind(objs, "CronJob")["r-nightly"]["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    job = by_kind(objs, "Job")["r-once"]["spec"]["template"]["metadata"]["labels"]
    assert len(cron["agentgen.io/revision"]) == len(job["agentgen.io/revision"]) == 10
    assert "agentgen.io/track" not in job


def test_an_environment_starts_a_canary_or_switches_strategy(tmp_path: Path, helm: Path) -> None:
    chart = chart_of(tmp_path, """
        apiVersion: agentgen/v1
        name: envs
        version: 0.1.0
        agents:
          planner:
            image: ghcr.io/acme/planner:1.8.2
            port: 8080
            replicas: 4
            rollout: {strategy: canary, canary: {weight: 10}}
        environments:
          prod:
            agents:
              planner: {rollout: {canary: {tag: 1.9.0}}}
          dev:
            agents:
              planner: {rollout: {strategy: blueGreen, canary: null, blueGreen: {active: green, green: {tag: 2.0.0}}}}
        """)
    assert set(by_kind(template(helm, chart, release="r"), "Deployment")) == {"r-planner"}
    prod = by_kind(template(helm, chart, "-f", str(chart / "values-prod.yaml"), release="r"), "Deployment")
    assert container(prod["r-planner-canary"])["image"] == "ghcr.io/acme/planner:1.9.0"
    dev = template(helm, chart, "-f", str(chart / "values-dev.yaml"), release="r")
    validate_all(dev)
    assert set(by_kind(dev, "Deployment")) == {"r-planner-blue", "r-planner-green"}
    assert by_kind(dev, "Service")["r-planner"]["spec"]["selector"]["agentgen.io/track"] == "green"


def test_helm_lint_passes(shop: Path, helm: Path) -> None:
    from tests.conftest import run_helm, secret_sets

    proc = run_helm(helm, "lint", "--strict", str(shop), *secret_sets(shop), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_an_agent_added_in_a_values_file_renders_as_in_the_spec(tmp_path: Path, helm: Path) -> None:
    agent = {"image": "ghcr.io/acme/p:1.0.0", "port": 8080, "replicas": 3, "env": {"MODEL": "big"},
             "config": {"files": {"p.yaml": "v: 1"}},
             "rollout": {"strategy": "canary", "canary": {"tag": "1.1.0", "weight": 40, "env": {"MODEL": "small"},
                                                          "config": {"files": {"p.yaml": "v: 2"}}}}}
    chart = chart_of(tmp_path, "apiVersion: agentgen/v1\nname: same\nversion: 0.1.0\n"
                     + yaml.safe_dump({"agents": {"inspec": agent}}))
    values = tmp_path / "more.yaml"
    extra = {**agent, "image": {"repository": "ghcr.io/acme/p", "tag": "1.0.0"}, "ports": {"http": {"port": 8080}},
             "env": {"MODEL": {"value": "big"}}, "port": None,
             "rollout": {"strategy": "canary", "canary": {**agent["rollout"]["canary"],  # type: ignore[index]
                                                          "env": {"MODEL": {"value": "small"}}}}}
    del extra["port"]
    values.write_text(yaml.safe_dump({"agents": {"invalues": extra}}))
    objs = template(helm, chart, "-f", str(values), release="r")

    def agent_objects(name: str) -> dict[tuple[str, str], Any]:
        out = {}
        for o in objs:
            if o["metadata"]["labels"].get("app.kubernetes.io/component") == name:
                text = yaml.safe_dump(o).replace(name, "AGENT")
                out[(o["kind"], o["metadata"]["name"].replace(name, "AGENT"))] = yaml.safe_load(text)
        return out

    inspec, invalues = agent_objects("inspec"), agent_objects("invalues")
    assert ("Deployment", "r-AGENT-canary") in inspec
    assert inspec == invalues


def test_a_values_file_statefulset_with_a_canary_fails_naming_the_field(shop: Path, helm: Path) -> None:
    from tests.conftest import run_helm, secret_sets

    proc = run_helm(helm, "template", "r", str(shop), *secret_sets(shop), "--set", "agents.db.image.repository=x",
                    "--set", "agents.db.state.size=1Gi", "--set", "agents.db.rollout.strategy=canary", check=False)
    assert proc.returncode != 0
    assert "agents.db.rollout.strategy: canary is not possible for a StatefulSet: it takes rolling only" in proc.stderr
