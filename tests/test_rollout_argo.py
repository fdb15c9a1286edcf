"""rollout.engine: argo (issue #11): an Argo Rollouts Rollout instead of the Deployment, its
AnalysisTemplate, scaling that targets the Rollout, a ConfigMap per version's files, and the bad
input around them. Every Argo object is validated against its CRD's strict JSON schema."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import SPECS, by_kind, generate, helmgen_cli, template
from tests.crd import assert_crd_valid

ARGO_SPEC = SPECS / "argo-rollouts.yaml"
ERROR_RATE = ('sum(rate(http_requests_total{code=~"5..",service="{{args.service}}"}[2m])) / '
              'sum(rate(http_requests_total{service="{{args.service}}"}[2m]))')


@pytest.fixture(scope="module")
def argo_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(ARGO_SPEC, tmp_path_factory.mktemp("argo"))


@pytest.fixture
def objs(helm: Path, argo_chart: Path) -> list[dict[str, Any]]:
    return template(helm, argo_chart)


def _validate_pod_template(rollout: dict[str, Any]) -> None:
    """The Rollout's selector and pod template are a Deployment's: validate them as one, strictly."""
    import kubernetes_validate

    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": rollout["metadata"]["name"]},
                  "spec": {"selector": rollout["spec"]["selector"], "template": rollout["spec"]["template"]}}
    kubernetes_validate.validate(deployment, "1.30.0", strict=True)


def _container(rollout: dict[str, Any]) -> dict[str, Any]:
    return rollout["spec"]["template"]["spec"]["containers"][0]


def _env(rollout: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in _container(rollout).get("env", [])}


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_argo_objects_validate_against_their_crd_schemas(objs: list[dict[str, Any]]) -> None:
    argo = [o for o in objs if o["apiVersion"].startswith("argoproj.io/")]
    assert {o["kind"] for o in argo} == {"Rollout", "AnalysisTemplate"}
    for o in argo:
        assert_crd_valid(o)
        if o["kind"] == "Rollout":
            _validate_pod_template(o)


def test_a_rollout_replaces_the_deployment(objs: list[dict[str, Any]]) -> None:
    rollouts = by_kind(objs, "Rollout")
    assert sorted(rollouts) == ["rel-planner", "rel-queue-worker", "rel-writer"]
    assert by_kind(objs, "Deployment") == {}
    services = by_kind(objs, "Service")
    for name, r in rollouts.items():
        assert r["apiVersion"] == "argoproj.io/v1alpha1"
        selector = r["spec"]["selector"]["matchLabels"]
        # the same selector rules as a Deployment: minimal, stable labels, and the live Service selects these pods
        assert selector == {"app.kubernetes.io/name": "argo-crew", "app.kubernetes.io/instance": "rel",
                            "app.kubernetes.io/component": name.removeprefix("rel-")}
        assert services[name]["spec"]["selector"] == selector
        assert _matches(selector, r["spec"]["template"]["metadata"]["labels"])


def test_canary_steps_and_the_canary_version(objs: list[dict[str, Any]]) -> None:
    r = by_kind(objs, "Rollout")["rel-planner"]
    canary = r["spec"]["strategy"]["canary"]
    assert canary["steps"] == [{"setWeight": 10}, {"pause": {"duration": "5m"}}, {"setWeight": 50}, {"pause": {}}]
    assert "replicas" in r["spec"] and r["spec"]["replicas"] == 4
    # the Rollout's template is the new version: the canary's tag, env and config over the agent's
    assert _container(r)["image"] == "ghcr.io/acme/planner:1.9.0"
    assert _env(r)["MODEL"] == "gpt-5-mini"
    assert _env(r)["LOG_LEVEL"] == "info"
    assert "trafficRouting" not in canary  # traffic follows the replica ratio
    labels = r["spec"]["template"]["metadata"]["labels"]
    assert len(labels["agentgen.io/revision"]) == 10
    assert "agentgen.io/track" not in labels and "helm.sh/chart" not in labels


def test_canary_background_analysis_with_the_live_service(objs: list[dict[str, Any]]) -> None:
    r = by_kind(objs, "Rollout")["rel-planner"]
    assert r["spec"]["strategy"]["canary"]["analysis"] == {
        "templates": [{"templateName": "rel-planner"}],
        "args": [{"name": "service", "value": "rel-planner"}],
    }
    t = by_kind(objs, "AnalysisTemplate")["rel-planner"]
    assert t["spec"]["args"] == [{"name": "service"}]
    metrics = {m["name"]: m for m in t["spec"]["metrics"]}
    assert list(metrics) == ["error-rate", "p95-latency-seconds", "eval-score"]
    err = metrics["error-rate"]
    assert err["successCondition"] == "result[0] <= 0.01"
    assert err["provider"] == {"prometheus": {"address": "http://prometheus.monitoring:9090", "query": ERROR_RATE}}
    assert metrics["p95-latency-seconds"]["successCondition"] == "result[0] <= 4"
    assert metrics["p95-latency-seconds"]["provider"]["prometheus"]["query"] == (
        'histogram_quantile(0.95, sum by (le) (rate(latency_bucket{service="{{args.service}}"}[5m])))')
    ev = metrics["eval-score"]
    assert ev["successCondition"] == "result[0] >= 0.8"
    assert (ev["interval"], ev["count"], ev["failureLimit"]) == ("5m", 3, 1)
    # a metric without interval is measured every minute for as long as the rollout runs
    assert err["interval"] == "1m" and "count" not in err and "failureLimit" not in err


def test_blue_green_with_active_and_preview_services(objs: list[dict[str, Any]]) -> None:
    r = by_kind(objs, "Rollout")["rel-writer"]
    bg = r["spec"]["strategy"]["blueGreen"]
    assert bg["activeService"] == "rel-writer"
    assert bg["previewService"] == "rel-writer-preview"
    assert bg["autoPromotionEnabled"] is False
    # the check before promotion runs against the preview, where the new version answers
    assert bg["prePromotionAnalysis"]["args"] == [{"name": "service", "value": "rel-writer-preview"}]
    assert bg["prePromotionAnalysis"]["templates"] == [{"templateName": "rel-writer"}]
    # the template is the active slot's version
    assert _container(r)["image"] == "ghcr.io/acme/writer:1.0.0"
    assert "replicas" not in r["spec"]  # scaled by its HorizontalPodAutoscaler
    services = by_kind(objs, "Service")
    preview = services["rel-writer-preview"]
    assert preview["spec"]["selector"] == r["spec"]["selector"]["matchLabels"]
    assert preview["spec"]["ports"] == services["rel-writer"]["spec"]["ports"]
    t = by_kind(objs, "AnalysisTemplate")["rel-writer"]
    assert t["spec"]["metrics"] == [{
        "name": "error-rate", "interval": "1m", "successCondition": "result[0] <= 0.01",
        "provider": {"prometheus": {"address": "http://prometheus.monitoring:9090", "query": ERROR_RATE}}}]


def test_autoscalers_target_the_rollout(objs: list[dict[str, Any]]) -> None:
    hpa = by_kind(objs, "HorizontalPodAutoscaler")["rel-writer"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                             "name": "rel-writer"}
    keda = by_kind(objs, "ScaledObject")["rel-queue-worker"]
    assert keda["spec"]["scaleTargetRef"] == {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                              "name": "rel-queue-worker"}
    assert_crd_valid(keda)


def test_disruption_budget_and_network_policy_select_the_rollout_pods(objs: list[dict[str, Any]]) -> None:
    rollouts = by_kind(objs, "Rollout")
    pdbs = by_kind(objs, "PodDisruptionBudget")
    policies = by_kind(objs, "NetworkPolicy")
    for name, r in rollouts.items():
        labels = r["spec"]["template"]["metadata"]["labels"]
        assert _matches(pdbs[name]["spec"]["selector"]["matchLabels"], labels)
        # exactly one budget selects the pods: the eviction API refuses pods under two
        assert [p for p in pdbs.values() if _matches(p["spec"]["selector"]["matchLabels"], labels)] == [pdbs[name]]
        assert any(_matches(p["spec"]["podSelector"].get("matchLabels", {}), labels)
                   and p["spec"]["podSelector"].get("matchLabels") for p in policies.values())


def _config_maps(objs: list[dict[str, Any]], agent: str) -> dict[str, dict[str, Any]]:
    return {n: o for n, o in by_kind(objs, "ConfigMap").items() if n.startswith(f"rel-{agent}-config")}


def _mounted_config(rollout: dict[str, Any]) -> str:
    return next(v["configMap"]["name"] for v in rollout["spec"]["template"]["spec"]["volumes"] if v["name"] == "config")


def test_a_canary_with_changed_files_keeps_the_stables_config_map(objs: list[dict[str, Any]]) -> None:
    maps = _config_maps(objs, "planner")
    assert len(maps) == 2
    by_files = {o["data"]["prompts.yaml"]: n for n, o in maps.items()}
    assert set(by_files) == {"system: plan carefully\n", "system: plan briefly\n"}
    for n in maps:
        assert n.startswith("rel-planner-config-") and len(n) == len("rel-planner-config-") + 10
    # the Rollout's template (the canary) mounts the canary's files; the stable's stay in the release for an abort
    r = by_kind(objs, "Rollout")["rel-planner"]
    assert _mounted_config(r) == by_files["system: plan briefly\n"]


def _promoted(spec: dict[str, Any]) -> dict[str, Any]:
    """What promote does to the planner: the canary's version becomes the agent's, the steps stay."""
    out = copy.deepcopy(spec)
    out["version"] = "1.0.1"  # a release usually bumps the chart version too
    p = out["agents"]["planner"]
    canary = p["rollout"]["canary"]
    p["image"] = "ghcr.io/acme/planner:" + canary.pop("tag")
    p["env"].update(canary.pop("env"))
    p["config"]["files"].update(canary.pop("config")["files"])
    return out


def test_after_promotion_one_config_map_and_the_same_pod_template(tmp_path: Path, helm: Path,
                                                                  objs: list[dict[str, Any]]) -> None:
    spec = yaml.safe_load(ARGO_SPEC.read_text())
    promoted = tmp_path / "promoted.yaml"
    promoted.write_text(yaml.safe_dump(_promoted(spec), sort_keys=False))  # as promote edits: env keeps its order
    after = template(helm, generate(promoted, tmp_path / "out"))
    maps = _config_maps(after, "planner")
    assert next(iter(maps.values()))["data"] == {"prompts.yaml": "system: plan briefly\n"}
    assert len(maps) == 1
    before_r, after_r = by_kind(objs, "Rollout")["rel-planner"], by_kind(after, "Rollout")["rel-planner"]
    # promoting by values changes nothing Argo sees, even with a new chart version: the pods Argo promoted stay
    assert after_r["metadata"]["labels"]["helm.sh/chart"] == "argo-crew-1.0.1"
    assert after_r["spec"]["template"] == before_r["spec"]["template"]
    assert set(maps) <= set(_config_maps(objs, "planner"))


def test_blue_green_slots_keep_both_config_maps(tmp_path: Path, helm: Path) -> None:
    spec = tmp_path / "bg.yaml"
    spec.write_text("apiVersion: agentgen/v1\nname: bg\nversion: 0.1.0\nagents:\n  a:\n"
                    "    image: ghcr.io/acme/a:1\n    port: 8080\n    config: {files: {p.txt: one}}\n"
                    "    rollout:\n      strategy: blueGreen\n      engine: argo\n"
                    "      blueGreen: {active: green, blue: {}, green: {config: {files: {p.txt: two}}}}\n")
    objs = template(helm, generate(spec, tmp_path / "out"))
    maps = {o["data"]["p.txt"]: n for n, o in by_kind(objs, "ConfigMap").items()}
    assert set(maps) == {"one", "two"}
    assert _mounted_config(by_kind(objs, "Rollout")["rel-a"]) == maps["two"]


def test_queries_pass_through_helm_verbatim(tmp_path: Path, helm: Path) -> None:
    query = 'sum(x{a="{{args.service}}",b="{{ .Release.Name }}",c="{{- fail \\"no\\" }}",d="$(X)",e="${HOME}"})'
    spec = tmp_path / "q.yaml"
    spec.write_text(yaml.safe_dump({
        "apiVersion": "agentgen/v1", "name": "q", "version": "0.1.0",
        "agents": {"a": {"image": "ghcr.io/acme/a:1", "port": 8080, "rollout": {
            "strategy": "canary", "engine": "argo", "canary": {"tag": "2", "steps": [{"setWeight": 5}]},
            "analysis": {"prometheus": "http://prom:9090", "query": query, "maxErrorRate": 0.05}}}}}))
    objs = template(helm, generate(spec, tmp_path / "out"))
    t = by_kind(objs, "AnalysisTemplate")["rel-a"]
    assert t["spec"]["metrics"][0]["provider"]["prometheus"]["query"] == query
    assert t["spec"]["metrics"][0]["successCondition"] == "result[0] <= 0.05"
    assert_crd_valid(t)


@pytest.mark.parametrize(("written", "condition"), [
    ("max: 0.00001", "result[0] <= 0.00001"), ("max: 2500000000000000000000", "result[0] <= 2500000000000000000000"),
    ("min: 0.75", "result[0] >= 0.75"), ("min: 0", "result[0] >= 0"), ("max: 3", "result[0] <= 3")])
def test_thresholds_are_plain_decimals(tmp_path: Path, helm: Path, written: str, condition: str) -> None:
    """Go would print 1e-05; the condition holds plain digits, which every expression parser reads."""
    spec = tmp_path / "t.yaml"
    spec.write_text(HEAD + ARGO + "      canary: {tag: '2'}\n      analysis:\n" + PROM
                    + f"        metrics: [{{name: m, query: up, {written}}}]\n")
    t = by_kind(template(helm, generate(spec, tmp_path / "out")), "AnalysisTemplate")["rel-a"]
    assert t["spec"]["metrics"][0]["successCondition"] == condition


HEAD = ("apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\n"
        "agents:\n  a:\n    image: ghcr.io/acme/a:1\n    port: 8080\n")
ARGO = "    rollout:\n      strategy: canary\n      engine: argo\n"
PROM = "        prometheus: http://prom:9090\n"

# id -> (the agent's rollout lines, a line stderr must hold)
BAD: dict[str, tuple[str, str]] = {
    "step-with-two-actions": (ARGO + "      canary: {tag: '2', steps: [{setWeight: 10, pause: {}}]}\n",
                              "agents.a.rollout.canary.steps[0]"),
    "step-empty": (ARGO + "      canary: {tag: '2', steps: [{}]}\n", "agents.a.rollout.canary.steps[0]"),
    "step-unknown-action": (ARGO + "      canary: {tag: '2', steps: [{setWieght: 10}]}\n",
                            "agents.a.rollout.canary.steps[0].setWieght"),
    "step-weight-out-of-range": (ARGO + "      canary: {tag: '2', steps: [{setWeight: 120}]}\n",
                                 "agents.a.rollout.canary.steps[0].setWeight"),
    "step-bad-duration": (ARGO + "      canary: {tag: '2', steps: [{pause: {duration: soon}}]}\n",
                          "agents.a.rollout.canary.steps[0].pause.duration"),
    "steps-not-a-list": (ARGO + "      canary: {tag: '2', steps: {setWeight: 10}}\n", "agents.a.rollout.canary.steps"),
    "analysis-without-query": (ARGO + "      canary: {tag: '2'}\n      analysis:\n" + PROM
                               + "        maxErrorRate: 0.01\n",
                               "agents.a.rollout.analysis.query"),
    "analysis-without-threshold": (ARGO + "      canary: {tag: '2'}\n      analysis:\n" + PROM + "        query: up\n",
                                   "agents.a.rollout.analysis.maxErrorRate"),
    "metric-without-threshold": (ARGO + "      canary: {tag: '2'}\n      analysis:\n" + PROM
                                 + "        metrics: [{name: m, query: up}]\n", "agents.a.rollout.analysis.metrics[0]"),
    "metric-min-and-max": (ARGO + "      canary: {tag: '2'}\n      analysis:\n" + PROM
                           + "        metrics: [{name: m, query: up, min: 1, max: 2}]\n",
                           "agents.a.rollout.analysis.metrics[0]"),
    "metric-without-query": (ARGO + "      canary: {tag: '2'}\n      analysis:\n" + PROM
                             + "        metrics: [{name: m, max: 2}]\n", "agents.a.rollout.analysis.metrics[0]"),
    "analysis-unknown-field": (ARGO + "      canary: {tag: '2'}\n      analysis:\n" + PROM
                               + "        query: up\n        maxErrorRate: 0.1\n        treshold: 1\n",
                               "agents.a.rollout.analysis.treshold"),
    "analysis-without-prometheus": (ARGO + "      canary: {tag: '2'}\n      analysis: {query: up, maxErrorRate: 0.1}\n",
                                    "agents.a.rollout.analysis"),
    "analysis-with-engine-native": ("    rollout:\n      strategy: canary\n      canary: {tag: '2', weight: 10}\n"
                                    "      analysis: {prometheus: 'http://p:9090', query: up, maxErrorRate: 0.1}\n",
                                    "agents.a.rollout.analysis"),
    "steps-with-engine-native": ("    rollout:\n      strategy: canary\n      engine: native\n"
                                 "      canary: {tag: '2', weight: 10, steps: [{setWeight: 10}]}\n",
                                 "agents.a.rollout.canary.steps"),
    "canary-unknown-field": (ARGO + "      canary: {tag: '2', stpes: [{setWeight: 10}]}\n",
                             "agents.a.rollout.canary.stpes"),
    "argo-with-rolling": ("    rollout: {strategy: rolling, engine: argo}\n", "agents.a.rollout.engine"),
    "argo-with-weight": (ARGO + "      canary: {tag: '2', weight: 10}\n", "agents.a.rollout.canary.weight"),
    "argo-on-a-statefulset": ("    state: {size: 1Gi}\n" + ARGO
                              + "      canary: {tag: '2', steps: [{setWeight: 10}]}\n",
                              "agents.a.rollout.strategy"),
    "engine-unknown": ("    rollout: {strategy: canary, engine: flagger, canary: {tag: '2', weight: 5}}\n",
                       "agents.a.rollout.engine"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_argo_input_is_a_positioned_error(tmp_path: Path, case: str) -> None:
    body, where = BAD[case]
    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + body)
    out = tmp_path / "out"
    proc = helmgen_cli("generate", str(spec), "-o", str(out))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith(f"{spec}:")]
    assert any(f": {where}" in ln and ln.split(":")[1].isdigit() for ln in lines), proc.stderr
    assert not out.exists()


def test_an_argo_agent_added_in_a_values_file_renders_as_in_the_spec(tmp_path: Path, helm: Path) -> None:
    head = ("apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\n"
            "agents:\n  base: {image: ghcr.io/acme/base:1, port: 8000}\n")
    rollout = {"strategy": "canary", "engine": "argo",
               "canary": {"tag": "2", "env": {"MODEL": "small"}, "config": {"files": {"p.txt": "two"}},
                          "steps": [{"setWeight": 25}, {"pause": {}}]},
               "analysis": {"prometheus": "http://prom:9090", "query": 'up{service="{{args.service}}"}',
                            "maxErrorRate": 0.02}}
    in_spec = tmp_path / "in.yaml"
    spec = yaml.safe_load(head)
    spec["agents"]["a"] = {"image": "ghcr.io/acme/a:1", "port": 8080, "replicas": 3, "env": {"MODEL": "big"},
                           "config": {"files": {"p.txt": "one"}}, "scaling": {"maxReplicas": 5}, "rollout": rollout}
    in_spec.write_text(yaml.safe_dump(spec))
    without = tmp_path / "without.yaml"
    without.write_text(head)
    values = tmp_path / "agents.yaml"
    values_rollout = copy.deepcopy(rollout)
    values_rollout["canary"]["env"] = {"MODEL": {"value": "small"}}
    values.write_text(yaml.safe_dump({"agents": {"a": {
        "image": {"repository": "ghcr.io/acme/a", "tag": "1"}, "ports": {"http": {"port": 8080}}, "replicas": 3,
        "env": {"MODEL": {"value": "big"}}, "config": {"files": {"p.txt": "one"}}, "scaling": {"maxReplicas": 5},
        "rollout": values_rollout}}}))
    want = {(o["kind"], o["metadata"]["name"]): o for o in template(helm, generate(in_spec, tmp_path / "a"))}
    got = {(o["kind"], o["metadata"]["name"]): o
           for o in template(helm, generate(without, tmp_path / "b"), "-f", str(values))}
    assert sorted(got) == sorted(want)
    for k in want:
        assert got[k] == want[k], k
    assert ("Rollout", "rel-a") in got and ("AnalysisTemplate", "rel-a") in got
    assert got[("HorizontalPodAutoscaler", "rel-a")]["spec"]["scaleTargetRef"]["kind"] == "Rollout"
    assert len([k for k in got if k[0] == "ConfigMap" and k[1].startswith("rel-a-config-")]) == 2


def test_a_gateway_canary_under_argo_keeps_one_backend_the_live_service(tmp_path: Path, helm: Path) -> None:
    """No trafficRouting: the HTTPRoute sends everything to the live Service, and Argo splits by pod ratio."""
    spec = tmp_path / "gw.yaml"
    spec.write_text(HEAD + "    expose: {gateway: {name: public, namespace: gateways}, host: a.example.org}\n" + ARGO
                    + "      canary: {tag: '2', steps: [{setWeight: 20}, {pause: {}}]}\n")
    objs = template(helm, generate(spec, tmp_path / "out"))
    route = by_kind(objs, "HTTPRoute")["rel-a"]
    assert_crd_valid(route)
    assert [b["name"] for rule in route["spec"]["rules"] for b in rule["backendRefs"]] == ["rel-a"]
    assert sorted(by_kind(objs, "Service")) == ["rel-a"]
    r = by_kind(objs, "Rollout")["rel-a"]
    assert "trafficRouting" not in r["spec"]["strategy"]["canary"]
    assert by_kind(objs, "Deployment") == {}


def test_notes_name_the_rollout_and_how_to_promote(argo_chart: Path, helm_env: dict[str, str]) -> None:
    """Only Helm 4 renders NOTES without a cluster (`install --dry-run=client`); Helm 3 asks the cluster first."""
    from tests.conftest import helm_path, run_helm, secret_sets

    env = {**helm_env, "KUBECONFIG": "/dev/null"}
    out = run_helm(helm_path("4.3.1"), "install", "rel", str(argo_chart), "--dry-run=client",
                   *secret_sets(argo_chart), env=env).stdout
    notes = out.split("NOTES:", 1)[1]
    assert "  - planner (Argo Rollout)" in notes
    assert "kubectl argo rollouts -n default get rollout rel-planner" in notes
    assert "kubectl argo rollouts -n default promote rel-writer" in notes
    assert "preview (a new version while Argo holds it): http://rel-writer-preview.default.svc:8080" in notes


def test_helm_test_checks_the_argo_preview_service(objs: list[dict[str, Any]]) -> None:
    jobs = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Job"
            and "helm.sh/hook" in o["metadata"].get("annotations", {})}
    text = yaml.safe_dump([j["spec"]["template"]["spec"] for j in jobs.values()])
    assert "tcp rel-writer-preview 8080" in text
    assert "tcp rel-planner-preview" not in text  # a canary has no preview


def test_the_revision_label_is_the_native_engines_for_the_same_version(tmp_path: Path, helm: Path) -> None:
    """agentgen.io/revision names a version whatever the engine: the Rollout's pods carry the hash the
    native canary's pods carry for the same image, env and config."""
    def rendered(engine: str) -> list[dict[str, Any]]:
        spec = tmp_path / f"{engine}.yaml"
        moves = "weight: 10" if engine == "native" else "steps: [{setWeight: 10}]"
        spec.write_text(HEAD + "    env: {MODEL: big}\n    config: {files: {p.txt: one}}\n"
                        f"    rollout:\n      strategy: canary\n      engine: {engine}\n"
                        "      canary: {tag: '2', env: {MODEL: small}, config: {files: {p.txt: two}}, "
                        f"{moves}}}\n")
        return template(helm, generate(spec, tmp_path / engine))

    native = by_kind(rendered("native"), "Deployment")
    rollout = by_kind(rendered("argo"), "Rollout")["rel-a"]
    revision = rollout["spec"]["template"]["metadata"]["labels"]["agentgen.io/revision"]
    assert revision == native["rel-a-canary"]["spec"]["template"]["metadata"]["labels"]["agentgen.io/revision"]
    assert revision != native["rel-a"]["spec"]["template"]["metadata"]["labels"]["agentgen.io/revision"]


def test_argo_blue_green_without_ports_is_an_error(tmp_path: Path) -> None:
    """Argo switches between the live and the preview Service; an agent without ports has neither."""
    spec = tmp_path / "spec.yaml"
    spec.write_text("apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\nagents:\n  a:\n"
                    "    image: ghcr.io/acme/a:1\n    health: false\n"
                    "    rollout: {strategy: blueGreen, engine: argo, blueGreen: {active: blue, blue: {tag: '1'}, "
                    "green: {tag: '2'}}}\n")
    proc = helmgen_cli("generate", str(spec), "-o", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert (f"{spec}:8:15: agents.a.rollout.strategy: blueGreen with engine argo needs ports" in proc.stderr
            ), proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("sets", "message"), [
    (["--set", "agents.a.rollout.engine=argo"],
     "agents.a.rollout.engine: argo takes strategy canary or blueGreen, not rolling"),
    (["--set", "agents.b.rollout.engine=argo", "--set", "agents.b.rollout.strategy=blueGreen",
      "--set", "agents.b.rollout.blueGreen.active=blue", "--set", "agents.b.rollout.blueGreen.green.tag=2"],
     "agents.b.rollout.strategy: blueGreen with engine argo needs ports"),
])
def test_values_the_checker_would_refuse_fail_the_render(tmp_path: Path, helm: Path, sets: list[str],
                                                          message: str) -> None:
    from tests.conftest import run_helm

    spec = tmp_path / "spec.yaml"
    spec.write_text(HEAD + "  b:\n    image: ghcr.io/acme/b:1\n    health: false\n")
    proc = run_helm(helm, "template", "rel", str(generate(spec, tmp_path / "out")), *sets, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr, proc.stderr
