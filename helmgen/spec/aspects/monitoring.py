"""Metrics scraping: the port it names (a number the agent does not serve becomes port `metrics`)."""

from __future__ import annotations

from typing import Any, NamedTuple

from helmgen.spec.aspects import LONG_RUNNING, Checker, kind_of, ports_of


class Monitoring(NamedTuple):
    monitoring: dict[str, Any] | None
    ports: dict[str, Any]  # the agent's ports, with `metrics` added when monitoring needs it


def check_monitoring(chk: Checker, a: dict[str, Any]) -> Monitoring:
    ports = ports_of(a)
    if a.get("monitoring") is None:
        return Monitoring(None, ports)
    monitoring = {"path": "/metrics", "serviceMonitor": False, "allowFrom": [], **a["monitoring"]}
    port = monitoring.get("port")
    if "port" not in monitoring:
        if not ports:
            chk.err("monitoring.port", "is required when the agent has no ports")
        monitoring["port"] = next(iter(ports), "")
    elif isinstance(port, str):
        chk.port_ref(ports, port, "monitoring.port")
    elif port not in [p["port"] for p in ports.values()]:
        if "metrics" in ports:
            chk.err("monitoring.port", "is not among the agent's ports and the name 'metrics' is taken")
        ports = {**ports, "metrics": {"port": port, "protocol": "TCP"}}
        monitoring["port"] = "metrics"
    else:
        monitoring["port"] = next(k for k, p in ports.items() if p["port"] == port)
    if monitoring["serviceMonitor"] and kind_of(a) not in LONG_RUNNING:
        chk.err("monitoring.serviceMonitor", "needs a Service; a Job or CronJob has none")
    return Monitoring(monitoring, ports)
