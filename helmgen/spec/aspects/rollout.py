"""The rolling update of a Deployment or StatefulSet."""

from __future__ import annotations

from typing import Any

from helmgen.spec.aspects import Checker, int_or_percent


def check_rollout(chk: Checker, a: dict[str, Any]) -> dict[str, Any]:
    rollout: dict[str, Any] = int_or_percent(
        {"strategy": "rolling", "maxSurge": "25%", "maxUnavailable": 0, **a.get("rollout", {})})
    if rollout["maxSurge"] in (0, "0%") and rollout["maxUnavailable"] in (0, "0%"):
        chk.err("rollout", "maxSurge and maxUnavailable cannot both be 0")
    return rollout
