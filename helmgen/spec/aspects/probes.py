"""Health probes and the protocol the agent speaks (an a2a agent is ready when its card is served)."""

from __future__ import annotations

from typing import Any

from helmgen.spec.aspects import LONG_RUNNING, Checker, kind_of, ports_of

A2A_CARD = "/.well-known/agent-card.json"
_HANDLERS = ("path", "port", "scheme", "tcp", "grpc", "exec")


def probe(chk: Checker, p: dict[str, Any] | None, ports: dict[str, Any], field: str) -> dict[str, Any] | None:
    """A spec probe as a Kubernetes probe object; a port it names must be one of the agent's."""
    if p is None:
        return None
    timings = {k: v for k, v in p.items() if k not in _HANDLERS}
    if "path" in p:
        port = p.get("port") or next(iter(ports), None)
        if port is None:
            chk.err(field, "an HTTP probe needs a port", "give the agent a port or the probe a port")
            return None
        chk.port_ref(ports, port, field + ".port")
        http: dict[str, Any] = {"path": p["path"], "port": port}
        if "scheme" in p:
            http["scheme"] = p["scheme"]
        return {"httpGet": http, **timings}
    if "tcp" in p:
        chk.port_ref(ports, p["tcp"], field + ".tcp")
        return {"tcpSocket": {"port": p["tcp"]}, **timings}
    if "grpc" in p:
        return {"grpc": {"port": p["grpc"]}, **timings}
    return {"exec": {"command": list(p["exec"])}, **timings}


def check_health(chk: Checker, a: dict[str, Any]) -> dict[str, Any]:
    """liveness/readiness/startup: the spec's, or a TCP check of the first port of a long-running agent."""
    health_in = a.get("health")
    ports = ports_of(a)
    health: dict[str, Any] = {"liveness": None, "readiness": None, "startup": None}
    if health_in:
        for k in health:
            health[k] = probe(chk, health_in.get(k), ports, f"health.{k}")
    elif health_in is not False and ports and kind_of(a) in LONG_RUNNING \
            and next(iter(ports.values()))["protocol"] == "TCP":
        first = next(iter(ports))  # a TCP probe on a UDP or SCTP port would never succeed
        health["liveness"] = {"tcpSocket": {"port": first}}
        health["readiness"] = {"tcpSocket": {"port": first}}
    if a.get("protocol") == "a2a" and health_in is not False and not (health_in or {}).get("readiness") and ports:
        health["readiness"] = {"httpGet": {"path": a.get("agentCard", A2A_CARD), "port": next(iter(ports))}}
    return health


def check_protocol(chk: Checker, a: dict[str, Any]) -> str:
    """The protocol; anything but plain http needs a port (a2a for its agent card)."""
    protocol: str = a.get("protocol", "http")
    health_in = a.get("health")
    if ports_of(a):
        return protocol
    if protocol == "a2a" and health_in is not False and not (health_in or {}).get("readiness"):
        chk.err("protocol", "a2a needs a port to serve its agent card")
    if protocol != "http" and not (protocol == "a2a" and health_in is not False):
        chk.err("protocol", f"{protocol} needs a port", "add port or ports")
    return protocol
