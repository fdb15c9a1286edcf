"""Cross-field checks that only the Argo engine (rollout.engine: argo) needs; the checks shared with
the native engine are in spec/rollout.py."""

from __future__ import annotations

from typing import Any, Protocol


class ArgoChecker(Protocol):
    bad: set[str]

    def err(self, field: str, message: str, hint: str = "") -> None: ...


def check_argo(chk: ArgoChecker, a: dict[str, Any], kind: str) -> None:
    """A blue-green Rollout names the live and the preview Service, which exist only for an agent with ports."""
    rollout = a.get("rollout") or {}
    if rollout.get("engine") != "argo" or kind != "Deployment" or chk.bad & {"port", "ports"}:
        return
    if rollout.get("strategy") == "blueGreen" and not a.get("ports"):
        chk.err("rollout.strategy", "blueGreen with engine argo needs ports: Argo switches traffic between the "
                "live and the preview Service, and an agent without ports has no Service",
                "add port or ports, or use strategy canary")
