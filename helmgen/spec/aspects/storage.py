"""The state volume (a StatefulSet's claim) and the config files (a ConfigMap), defaults applied."""

from __future__ import annotations

from typing import Any

from helmgen.spec.aspects import Checker


def check_state(chk: Checker, a: dict[str, Any]) -> dict[str, Any] | None:
    state = a.get("state")
    if state:
        state = {"mountPath": "/data", "accessModes": ["ReadWriteOnce"], "storageClass": "", "retain": True, **state}
    return state


def check_config(chk: Checker, a: dict[str, Any]) -> dict[str, Any] | None:
    config = a.get("config")
    if config:
        config = {"mountPath": f"/etc/{chk.name}", "reload": "restart", **config}
    return config
