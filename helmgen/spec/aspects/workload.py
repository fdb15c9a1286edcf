"""Workload kind, Service, scaling, replicas and the disruption budget."""

from __future__ import annotations

from typing import Any

from helmgen.spec.aspects import LONG_RUNNING, Checker, int_or_percent, kind_of, ports_of

_LONG_RUNNING_ONLY = ("scaling", "disruption", "replicas", "expose", "rollout")


def check_workload(chk: Checker, a: dict[str, Any]) -> str:
    """The workload kind; the fields that do not fit it are problems."""
    kind = kind_of(a)
    long_running = kind in LONG_RUNNING
    if "state" in a and kind != "StatefulSet":
        chk.err("state", f"needs kind StatefulSet, not {kind}", "drop kind or set it to StatefulSet")
    if kind == "CronJob" and "schedule" not in a:
        chk.err("schedule", "is required for a CronJob", "for example '0 * * * *'")
    if "schedule" in a and kind != "CronJob":
        chk.err("schedule", f"applies to a CronJob, not to a {kind}")
    if "job" in a and long_running:
        chk.err("job", f"applies to a Job or CronJob, not to a {kind}")
    for f in _LONG_RUNNING_ONLY:
        if f in a and not long_running and a[f] is not False:
            chk.err(f, f"applies to a Deployment or StatefulSet, not to a {kind}")
    return kind


def check_service(chk: Checker, a: dict[str, Any]) -> dict[str, Any]:
    """The agent's Service; a StatefulSet's is headless."""
    kind = kind_of(a)
    service = {"type": "ClusterIP", "annotations": {}, **a.get("service", {})}
    if kind == "StatefulSet" and service["type"] not in ("ClusterIP", "None"):
        chk.err("service.type", f"{service['type']} is not possible for a StatefulSet",
                "a StatefulSet's Service is headless (its governing Service)")
    if kind == "StatefulSet":
        service["type"] = "None"
    if "service" in a and not ports_of(a) and kind != "StatefulSet":
        chk.err("service", "the agent has no ports, so it has no Service", "add port or ports")
    return service


def check_scaling(chk: Checker, a: dict[str, Any]) -> dict[str, Any] | None:
    """The autoscaler, or None (`scaling: false` turns off a scaling inherited from defaults)."""
    scaling = a.get("scaling") or None
    if not scaling:
        return None
    scaling = dict(scaling)
    scaling.setdefault("minReplicas", 1)
    if scaling["minReplicas"] > scaling["maxReplicas"]:
        chk.err("scaling.minReplicas", f"{scaling['minReplicas']} is greater than maxReplicas "
                                       f"({scaling['maxReplicas']})")
    if scaling["engine"] == "hpa" and scaling["minReplicas"] < 1:
        chk.err("scaling.minReplicas", "0 needs engine: keda", "the HPA scales down to 1 at least")
    if scaling["engine"] == "hpa" and not any(k in scaling for k in ("cpu", "memory", "metrics")):
        scaling["cpu"] = 80
    return scaling


def check_replicas(chk: Checker, a: dict[str, Any]) -> int:
    replicas: int = a.get("replicas", 1)
    return replicas


def check_disruption(chk: Checker, a: dict[str, Any]) -> dict[str, Any] | None:
    """The PodDisruptionBudget: by default one pod at a time when the agent can run more than one."""
    disruption = a.get("disruption")
    if disruption is False or kind_of(a) not in LONG_RUNNING:
        return None
    scaling = a.get("scaling") or None
    max_pods = scaling["maxReplicas"] if scaling else a.get("replicas", 1)
    if disruption is None and max_pods > 1:
        disruption = {"maxUnavailable": 1}
    return int_or_percent(disruption)  # type: ignore[no-any-return]
