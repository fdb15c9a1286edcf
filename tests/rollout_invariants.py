"""Invariants every rendered chart with rollouts must hold, whatever the spec: used by
tests/test_rollout_adversarial.py on many specs (kinds, selectors, budgets, autoscalers, Services, URLs)."""

from __future__ import annotations

from typing import Any

from tests.crd import crd_problems, is_custom

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Rollout"}


def validate_objects(objs: list[dict[str, Any]], k8s: str = "1.30.0") -> list[str]:
    """kubernetes-validate strict for core kinds, the CRD schemas for custom resources."""
    import kubernetes_validate

    problems: list[str] = []
    for obj in objs:
        if is_custom(obj):
            problems += crd_problems(obj)
            continue
        try:
            kubernetes_validate.validate(obj, k8s, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{obj['kind']} {obj['metadata']['name']}: {exc}")
    return problems


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector (matchLabels, and matchExpressions In / NotIn / Exists / DoesNotExist) on labels."""
    plain = "matchLabels" not in selector and "matchExpressions" not in selector
    match: dict[str, str] = selector if plain else (selector.get("matchLabels") or {})
    if not all(labels.get(k) == v for k, v in match.items()):
        return False
    for e in selector.get("matchExpressions", []) or []:
        key, op, values = e["key"], e["operator"], e.get("values", [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def pod_templates(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Workload name -> its pod template (Deployments, StatefulSets, Rollouts, Jobs, CronJobs)."""
    out: dict[str, dict[str, Any]] = {}
    for o in objs:
        if "test" in str(o["metadata"].get("annotations", {}).get("helm.sh/hook", "")):
            continue  # helm test's own Jobs and Pods
        if o["kind"] in WORKLOAD_KINDS or o["kind"] == "Job":
            out[o["metadata"]["name"]] = o["spec"]["template"]
        elif o["kind"] == "CronJob":
            out[o["metadata"]["name"]] = o["spec"]["jobTemplate"]["spec"]["template"]
    return out


def invariant_problems(objs: list[dict[str, Any]]) -> list[str]:
    """Every way the chart breaks the rollout invariants of issue 11 (empty when it holds them all)."""
    problems: list[str] = []
    templates = pod_templates(objs)
    labels = {n: t["metadata"].get("labels", {}) for n, t in templates.items()}
    kinds = {o["metadata"]["name"]: o for o in objs if o["kind"] in WORKLOAD_KINDS}
    for name, lab in labels.items():
        if "agentgen.io/revision" not in lab:
            problems.append(f"{name}: pod template without agentgen.io/revision")
    # each workload selects its own pods, and no other workload's
    for name, w in kinds.items():
        sel = w["spec"]["selector"]
        if not selects(sel, labels[name]):
            problems.append(f"{name}: selector does not select its own pod template")
        for other, lab in labels.items():
            if other != name and selects(sel, lab):
                problems.append(f"{name}: selector also selects the pods of {other}")
    # no pod selected by two PodDisruptionBudgets
    pdbs = [o for o in objs if o["kind"] == "PodDisruptionBudget"]
    for name, lab in labels.items():
        mine = [p["metadata"]["name"] for p in pdbs if selects(p["spec"]["selector"], lab)]
        if len(mine) > 1:
            problems.append(f"{name}: pods selected by several PodDisruptionBudgets {mine}")
    # autoscalers: a target that exists, has no replicas field, and is targeted once
    targets: dict[str, list[str]] = {}
    for o in objs:
        if o["kind"] not in ("HorizontalPodAutoscaler", "ScaledObject"):
            continue
        ref = o["spec"]["scaleTargetRef"]
        targets.setdefault(ref["name"], []).append(f"{o['kind']} {o['metadata']['name']}")
        w = kinds.get(ref["name"])
        if w is None:
            problems.append(f"{o['kind']} {o['metadata']['name']}: targets {ref['name']}, which is not rendered")
        elif "replicas" in w["spec"]:
            problems.append(f"{ref['name']}: has replicas although {o['kind']} {o['metadata']['name']} scales it")
        elif ref.get("kind", "Deployment") != w["kind"]:
            problems.append(f"{o['kind']} {o['metadata']['name']}: targets kind {ref.get('kind')}, is {w['kind']}")
    for t, who in targets.items():
        if len(who) > 1:
            problems.append(f"{t}: scaled by several autoscalers {who}")
    # every Service selects some pods; every <X>_URL names a rendered Service
    services = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Service"}
    for name, svc in services.items():
        sel = svc["spec"].get("selector")
        if sel and not any(selects(sel, lab) for lab in labels.values()):
            problems.append(f"Service {name}: selects no pod of the chart")
    for name, t in templates.items():
        for c in t["spec"]["containers"]:
            for e in c.get("env", []) or []:
                if e["name"].endswith("_URL") and isinstance(e.get("value"), str) and "://" in e["value"]:
                    host = e["value"].split("://", 1)[1].split(":", 1)[0].split("/", 1)[0]
                    if host not in services:
                        problems.append(f"{name}: {e['name']}={e['value']} names no rendered Service")
    # a ServiceMonitor scrapes each pod through one Service only (else every sample counts twice); an Argo
    # preview Service is left out: Argo sets its selector at run time, and the analysis queries it by name
    argo_previews = {(o["spec"]["strategy"].get("blueGreen") or {}).get("previewService")
                     for o in objs if o["kind"] == "Rollout"}
    for sm in (o for o in objs if o["kind"] == "ServiceMonitor"):
        chosen = [svc for svc in services.values() if svc["metadata"]["name"] not in argo_previews
                  and selects(sm["spec"]["selector"], svc["metadata"].get("labels", {}))]
        for name, lab in labels.items():
            via = [svc["metadata"]["name"] for svc in chosen if svc["spec"].get("selector")
                   and selects(svc["spec"]["selector"], lab)]
            if len(via) > 1:
                problems.append(f"ServiceMonitor {sm['metadata']['name']}: scrapes {name} through {via}")
    # HTTPRoute backends are rendered Services; weights, when given, add up to 100
    for route in (o for o in objs if o["kind"] == "HTTPRoute"):
        for rule in route["spec"].get("rules", []):
            refs = rule.get("backendRefs", [])
            for ref in refs:
                if ref["name"] not in services:
                    problems.append(f"HTTPRoute {route['metadata']['name']}: backend {ref['name']} is not rendered")
            weights = [ref["weight"] for ref in refs if "weight" in ref]
            if weights and sum(weights) != 100:
                problems.append(f"HTTPRoute {route['metadata']['name']}: weights {weights} do not add up to 100")
    # an Argo Rollout names rendered Services and AnalysisTemplates
    analyses = {o["metadata"]["name"] for o in objs if o["kind"] == "AnalysisTemplate"}
    for ro in (o for o in objs if o["kind"] == "Rollout"):
        strategy = ro["spec"]["strategy"]
        bg = strategy.get("blueGreen") or {}
        for svc in (bg.get("activeService"), bg.get("previewService")):
            if svc and svc not in services:
                problems.append(f"Rollout {ro['metadata']['name']}: Service {svc} is not rendered")
        runs = [(strategy.get("canary") or {}).get("analysis"), bg.get("prePromotionAnalysis")]
        for run in filter(None, runs):
            for t in run.get("templates", []):
                if t["templateName"] not in analyses:
                    problems.append(f"Rollout {ro['metadata']['name']}: AnalysisTemplate {t['templateName']} "
                                    "is not rendered")
            for arg in run.get("args", []):
                if arg.get("name") == "service" and arg.get("value") not in services:
                    problems.append(f"Rollout {ro['metadata']['name']}: analysis service {arg.get('value')} "
                                    "is not rendered")
    # every ConfigMap a pod mounts is rendered
    cms = {o["metadata"]["name"] for o in objs if o["kind"] == "ConfigMap"}
    for name, t in templates.items():
        for v in t["spec"].get("volumes", []) or []:
            cm = v.get("configMap", {}).get("name")
            if cm and cm not in cms:
                problems.append(f"{name}: mounts ConfigMap {cm}, which is not rendered")
    # object names: at most 63 characters for Services and labels-bearing names, unique per kind
    seen: set[tuple[str, str]] = set()
    for o in objs:
        key = (o["kind"], o["metadata"]["name"])
        if key in seen:
            problems.append(f"{key}: rendered twice")
        seen.add(key)
        if o["kind"] in ("Service", "Deployment", "StatefulSet", "Rollout") and len(o["metadata"]["name"]) > 63:
            problems.append(f"{key}: name longer than 63 characters")
    return problems
