"""The pass-through Kubernetes pod fields, checked against what the chart adds to the pod itself:
its volumes (tmp, config, data), their mount paths, the agent's container name and the selector labels."""

from __future__ import annotations

import copy
import re
from typing import Any

from helmgen.spec.aspects import Checker
from helmgen.spec.model import POD_FIELDS

SELECTOR_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component")
_HOST_FIELDS = ("hostNetwork", "hostPID", "hostIPC")


def check_pod(chk: Checker, a: dict[str, Any]) -> dict[str, Any]:
    pod = {k: copy.deepcopy(a[k]) for k in POD_FIELDS if k in a}
    config_path, state_path = _chart_paths(chk, a)
    volumes = _check_volumes(chk, pod, config_path, state_path)
    _check_mounts(chk, pod, config_path, state_path, volumes)
    _check_containers(chk, pod)
    for i, t in enumerate(pod.get("tolerations", [])):
        if not isinstance(t, dict):
            chk.err(f"tolerations[{i}]", "expected a toleration (a mapping)",
                    "for example {key: dedicated, operator: Exists, effect: NoSchedule}")
    for field in ("securityContext", "podSecurityContext"):
        _check_security_context(chk, field, a.get(field) or {})
    for key in pod.get("podLabels", {}):
        if key in SELECTOR_LABELS:
            chk.err(f"podLabels.{key}", "is set by the chart (a selector label)", "choose another label key")
    return pod


def _norm(path: str) -> str:
    return path.rstrip("/") or "/"


def _chart_paths(chk: Checker, a: dict[str, Any]) -> tuple[str | None, str | None]:
    """Where the chart mounts the config files and the state volume (None: not mounted)."""
    config_path = (a.get("config") or {}).get("mountPath", f"/etc/{chk.name}") if a.get("config") else None
    state_path = (a.get("state") or {}).get("mountPath", "/data") if a.get("state") else None
    if config_path and _norm(config_path) == "/tmp":
        chk.err("config.mountPath", f"{config_path!r} is where the chart mounts the writable /tmp",
                "mount the config files at another path")
    if state_path and _norm(state_path) == "/tmp":
        chk.err("state.mountPath", f"{state_path!r} is where the chart mounts the writable /tmp",
                "mount the state volume at another path")
    if config_path and state_path and _norm(config_path) == _norm(state_path):
        chk.err("config.mountPath", f"{config_path!r} is also state.mountPath",
                "the config files and the state volume need two paths")
    return config_path, state_path


def _chart_volumes(config_path: str | None, state_path: str | None) -> dict[str, str]:
    chart_volumes = {"tmp": "the writable /tmp"}
    if config_path:
        chart_volumes["config"] = "config.files"
    if state_path:
        chart_volumes["data"] = "state"
    return chart_volumes


def _check_volumes(chk: Checker, pod: dict[str, Any], config_path: str | None, state_path: str | None) -> set[str]:
    """The names of the pod's own volumes; none may be one of the chart's or be listed twice."""
    chart_volumes = _chart_volumes(config_path, state_path)
    seen: set[str] = set()
    for i, vol in enumerate(pod.get("volumes", [])):
        if not isinstance(vol, dict):
            continue
        name = vol.get("name")
        if not _name(chk, f"volumes[{i}].name", name, "volume"):
            continue
        if name in chart_volumes:
            chk.err(f"volumes[{i}].name", f"{name!r} is the name of the chart's own volume for {chart_volumes[name]}",
                    "give your volume another name")
        elif name in seen:
            chk.err(f"volumes[{i}].name", f"{name!r} is listed twice")
        seen.add(str(name))  # a valid name (checked above)
    return seen


def _check_mounts(chk: Checker, pod: dict[str, Any], config_path: str | None, state_path: str | None,
                  volumes: set[str]) -> None:
    """Each mount names a volume of the pod at a path nothing else is mounted at."""
    chart_paths = {"/tmp": "the writable /tmp"}
    if config_path:
        chart_paths[_norm(config_path)] = "the config files (config.mountPath)"
    if state_path:
        chart_paths[_norm(state_path)] = "the state volume (state.mountPath)"
    known = volumes | set(_chart_volumes(config_path, state_path))
    complete = "volumes" not in chk.partial  # a volume with problems may be the one a mount names
    mounted: set[str] = set()
    for i, mount in enumerate(pod.get("volumeMounts", [])):
        if isinstance(mount, dict):
            _check_mount_path(chk, f"volumeMounts[{i}].mountPath", mount.get("mountPath"), chart_paths, mounted)
            _check_mount_name(chk, f"volumeMounts[{i}].name", mount.get("name"), known, complete)


def _check_mount_path(chk: Checker, field: str, path: Any, chart_paths: dict[str, str], mounted: set[str]) -> None:
    if path is None:
        chk.err(field, "is required")
    elif not isinstance(path, str):
        chk.err(field, "expected a path (a string)")
    else:
        where = chart_paths.get(_norm(path))
        if where:
            chk.err(field, f"{path!r} is where the chart mounts {where}", "mount your volume at another path")
        elif _norm(path) in mounted:
            chk.err(field, f"{path!r} is mounted twice")
        mounted.add(_norm(path))


def _check_mount_name(chk: Checker, field: str, name: Any, known: set[str], complete: bool) -> None:
    if name is None:
        chk.err(field, "is required", "the name of one of the pod's volumes")
    elif not isinstance(name, str):
        chk.err(field, "expected a volume name (a string)")
    elif name not in known and complete:
        import difflib

        close = difflib.get_close_matches(name, sorted(known), n=1)
        chk.err(field, f"names volume {name!r}, which the pod does not have",
                f'did you mean "{close[0]}"?' if close else "volumes: " + ", ".join(sorted(known)))


def _check_containers(chk: Checker, pod: dict[str, Any]) -> None:
    """Init containers, sidecars and the agent's own container share one set of names."""
    containers = {chk.name: "the agent's own container"}
    for field in ("initContainers", "sidecars"):
        for i, c in enumerate(pod.get(field, [])):
            if not isinstance(c, dict) or not _name(chk, f"{field}[{i}].name", c.get("name"), "container"):
                continue
            if c["name"] in containers:
                chk.err(f"{field}[{i}].name", f"{c['name']!r} is already the name of {containers[c['name']]}",
                        "init containers, sidecars and the agent's container share one set of names")
            containers.setdefault(c["name"], f"{field}[{i}]")


def _check_security_context(chk: Checker, field: str, context: dict[str, Any]) -> None:
    for key in _HOST_FIELDS:
        if key in context:
            chk.err(f"{field}.{key}", f"is not a {field} field",
                    f"{key} is a field of the pod, which the chart does not set; a pod that needs it "
                    "comes in through extraManifests")
    for key, value in context.items():
        if isinstance(value, dict) and any(v is None for v in value.values()):
            chk.err(f"{field}.{key}", "null removes a whole field of the secure defaults, not part of one",
                    f"set {key}: null, or give {key} in full")


def _name(chk: Checker, field: str, name: Any, what: str) -> bool:
    """A pass-through object's `name`: a DNS-1123 label, as Kubernetes requires of volumes and containers."""
    if name is None:
        chk.err(field, "is required", f"every {what} needs a name")
    elif not isinstance(name, str):
        got = ("a list" if isinstance(name, list) else "a mapping" if isinstance(name, dict)
               else f"the boolean {str(name).lower()}" if isinstance(name, bool) else f"the number {name}")
        chk.err(field, f"expected a {what} name (a string), got {got}")
    elif len(name) > 63 or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name):
        chk.err(field, f"{name[:70]!r} is not a valid {what} name",
                "a DNS-1123 label: at most 63 lowercase letters, digits and '-'")
    else:
        return True
    return False
