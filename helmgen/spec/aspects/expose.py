"""The Ingress: which of the agent's ports it routes to (a number is turned into the port's name)."""

from __future__ import annotations

from typing import Any

from helmgen.spec.aspects import Checker, ports_of


def check_expose(chk: Checker, a: dict[str, Any]) -> dict[str, Any] | None:
    expose: dict[str, Any] | None = a.get("expose")
    if not expose:
        return expose
    ports = ports_of(a)
    if not ports:
        chk.err("expose", "the agent has no port to expose", "add port or ports")
        return expose
    expose = {"path": "/", "pathType": "Prefix", "port": next(iter(ports)), "annotations": {}, **expose}
    chk.port_ref(ports, expose["port"], "expose.port")
    if isinstance(expose["port"], int):
        named = [n for n, p in ports.items() if p["port"] == expose["port"]]
        if not named:
            chk.err("expose.port", f"{expose['port']} is not one of the agent's ports",
                    "ports: " + ", ".join(f"{n}={p['port']}" for n, p in ports.items()))
        else:
            expose["port"] = named[0]
    return expose
