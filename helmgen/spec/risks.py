"""What is valid but risky: warnings, printed like problems, that leave the exit code at 0.

Each check takes one agent's merged fields (plain data) and yields (field, message, hint).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Finding = tuple[str, str, str]

_REFERENCE = re.compile(r"\$\{[^}]*\}|\$\([^)]*\)")  # ${agents.x.host}, $(VAR): resolved later, never secrets
_KNOWN_TOKENS = (
    (re.compile(r"(?<![A-Za-z0-9])sk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_-]{20,}"), "an API key (sk-...)"),
    (re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])"), "an AWS access key id"),
    (re.compile(r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{30,}"), "a GitHub token"),
    (re.compile(r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{30,}"), "a GitHub token"),
    (re.compile(r"(?<![A-Za-z0-9])xox[baprs]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}"),
     "a JSON Web Token"),  # also after `Bearer `
)
_URL_PASSWORD = re.compile(r"://[^/\s:@]*:([^/\s@]+)@")  # the user may be empty: redis://:secret@host
_OPAQUE = re.compile(r"[A-Za-z0-9+/_-]{32,}={0,2}")
_HEX = re.compile(r"[0-9a-fA-F]{32,}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def credential_kind(value: str) -> str | None:
    """What kind of secret a literal looks like, or None. References (`${…}`, `$(…)`) are not
    literals; URLs and paths are not opaque strings (only a password inside a URL counts)."""
    text = _REFERENCE.sub(" ", value)
    for pattern, kind in _KNOWN_TOKENS:
        m = pattern.search(text)
        if m and re.search(r"\d", m.group(0)):
            return kind
    m = _URL_PASSWORD.search(text)
    if m:
        return "a password inside a URL"
    for word in text.split():
        if opaque := _opaque_kind(word):
            return opaque
    return None


def _opaque_kind(word: str) -> str | None:
    """A long random-looking word: hex, or base64 with upper and lower case and digits."""
    if "://" in word or word.startswith("/") or not _OPAQUE.fullmatch(word) or _UUID.fullmatch(word):
        return None
    if max(len(part) for part in re.split(r"[-_/]", word)) < 16:  # names and paths of words, not random
        return None
    if _HEX.fullmatch(word):
        if len(word) in (40, 64):  # a git commit SHA or a sha256 digest: identifiers, not secrets
            return None
        return "a hex-encoded secret" if re.search(r"\d", word) and re.search(r"[a-fA-F]", word) else None
    if re.search(r"\d", word) and re.search(r"[a-z]", word) and re.search(r"[A-Z]", word):
        return "a base64-encoded secret"
    return None


def env_literals(a: dict[str, Any]) -> Iterator[Finding]:
    for var, e in a.get("env", {}).items():
        if isinstance(e.get("value"), str) and (kind := credential_kind(e["value"])):
            yield (f"env.{var}", f"the literal value looks like {kind}",
                   "a secret in the spec ends up in values.yaml and in git; use {secret: NAME, key: KEY}")


def wildcard_rbac(a: dict[str, Any]) -> Iterator[Finding]:
    for field in ("rules", "clusterRules"):  # clusterRules: the same grant in every namespace
        for i, rule in enumerate((a.get("rbac") or {}).get(field) or []):
            if not isinstance(rule, dict):
                continue
            for key in ("apiGroups", "resources", "verbs"):
                items = rule.get(key)
                if isinstance(items, list) and "*" in items:
                    yield (f"rbac.{field}[{i}].{key}", f"'*' grants every one of {key}",
                           "least privilege: list only what the agent needs")


def _privileged(context: Any, field: str) -> Iterator[Finding]:
    if not isinstance(context, dict):
        return
    if context.get("privileged") is True:
        yield (f"{field}.privileged", "a privileged container has full access to the node",
               "drop privileged; add only the capabilities the container needs")



def host_access(a: dict[str, Any]) -> Iterator[Finding]:
    yield from _privileged(a.get("securityContext"), "securityContext")
    yield from _privileged(a.get("podSecurityContext"), "podSecurityContext")
    for field in ("initContainers", "sidecars"):
        for i, c in enumerate(a.get(field, [])):
            if isinstance(c, dict):
                yield from _privileged(c.get("securityContext"), f"{field}[{i}].securityContext")
    for i, v in enumerate(a.get("volumes", [])):
        if isinstance(v, dict) and "hostPath" in v:
            yield (f"volumes[{i}].hostPath", "a hostPath volume reads or writes the node's filesystem",
                   "use an emptyDir, a ConfigMap, a Secret or a PersistentVolumeClaim")


def _kind(a: dict[str, Any]) -> str:
    return a.get("kind") or ("StatefulSet" if "state" in a else "CronJob" if "schedule" in a else "Deployment")


def untagged_job(a: dict[str, Any]) -> Iterator[Finding]:
    """A Job's pod template cannot change, and an image without tag or digest takes the appVersion."""
    image = a.get("image")
    if _kind(a) == "Job" and isinstance(image, dict) and not image.get("tag") and not image.get("digest"):
        yield ("image", "has no tag or digest, so the Job takes the appVersion as its tag; its pod template is "
                        "immutable: a new appVersion makes helm upgrade fail", "give it its own tag")


def unprobed(a: dict[str, Any]) -> Iterator[Finding]:
    """A long-running agent with neither ports (for the default TCP probes) nor health has no probes."""
    if _kind(a) in ("Deployment", "StatefulSet") and not a.get("ports") and not a.get("health") \
            and a.get("health") is not False:
        yield ("health", "no ports and no health: Kubernetes cannot tell whether it is alive",
               "give health: {liveness: {exec: [...]}, readiness: {exec: [...]}}, or health: false to say so")


CHECKS = (env_literals, wildcard_rbac, host_access, untagged_job, unprobed)


def agent_warnings(a: dict[str, Any]) -> Iterator[Finding]:
    for check in CHECKS:
        yield from check(a)


_POD_KINDS = {"Pod": (), "Deployment": ("spec", "template"), "StatefulSet": ("spec", "template"),
              "DaemonSet": ("spec", "template"), "ReplicaSet": ("spec", "template"), "Job": ("spec", "template"),
              "ReplicationController": ("spec", "template"), "CronJob": ("spec", "jobTemplate", "spec", "template")}


def manifest_warnings(m: dict[str, Any]) -> Iterator[Finding]:
    """The same risks in an extraManifests object: a pod (or a workload's pod template) with host
    access or a privileged container, a Role or ClusterRole with wildcards. Fields are relative to it."""
    kind = m.get("kind")
    if kind in ("Role", "ClusterRole"):
        rules = m.get("rules") if isinstance(m.get("rules"), list) else []
        for field, message, hint in wildcard_rbac({"rbac": {"rules": rules}}):
            yield (field.removeprefix("rbac."), message, hint)
        return
    if kind not in _POD_KINDS:
        return
    pod: Any = m
    for key in _POD_KINDS[kind]:
        pod = pod.get(key) if isinstance(pod, dict) else None
    spec = pod.get("spec") if isinstance(pod, dict) else None
    if not isinstance(spec, dict):
        return
    base = ".".join((*_POD_KINDS[kind], "spec"))
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(host) is True:
            yield (f"{base}.{host}", f"{host} shares the node's namespace with the pod",
                   "a pod rarely needs this; it bypasses the pod's isolation")
    for field in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(field) or []):
            if isinstance(c, dict):
                yield from _privileged(c.get("securityContext"), f"{base}.{field}[{i}].securityContext")
    for i, v in enumerate(spec.get("volumes") or []):
        if isinstance(v, dict) and "hostPath" in v:
            yield (f"{base}.volumes[{i}].hostPath", "a hostPath volume reads or writes the node's filesystem",
                   "use an emptyDir, a ConfigMap, a Secret or a PersistentVolumeClaim")
