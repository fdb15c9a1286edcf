"""Requests and limits: requests default, limits default to the requests (Guaranteed QoS)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from helmgen.spec.aspects import Checker
from helmgen.spec.fields import quantity_value
from helmgen.spec.model import DEFAULT_REQUESTS


def quantity(text: str) -> Decimal:
    """The value of a quantity the checker has accepted (so it is one, and within bounds)."""
    return quantity_value(text) or Decimal(0)


def check_resources(chk: Checker, a: dict[str, Any]) -> dict[str, dict[str, Any]]:
    res = a.get("resources", {})
    requests = {**DEFAULT_REQUESTS, **res.get("requests", {})}
    limits = {**requests, **res.get("limits", {})}
    for k in set(requests) & set(limits):
        if quantity(limits[k]) < quantity(requests[k]):
            chk.err(f"resources.limits.{k}", f"{limits[k]} is less than the request {requests[k]}")
    gpu = res.get("gpu")
    if gpu and gpu.get("count", 0) > 0:  # an environment's `resource: null` goes back to the default
        limits[gpu.get("resource", "nvidia.com/gpu")] = gpu["count"]
    return {"requests": requests, "limits": limits}
