"""The generated charts of the examples and test specs, rendered by both Helm versions under several
release names (session fixtures in conftest), and helpers to read the rendered objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import EXAMPLES, HELM_VERSIONS, SPECS, generate, helm_path, template

ALL_SPECS = [*EXAMPLES, *sorted(SPECS.glob("*.yaml"))]
RELEASES = ("rel", "a-release-name-that-is-long-enough-to-overflow-names", "my.dotted.release")
Rendered = dict[tuple[str, str, str], list[dict[str, Any]]]


def generate_all(out: Path) -> dict[str, Path]:
    return {spec.stem: generate(spec, out) for spec in ALL_SPECS}


def render_all(charts: dict[str, Path]) -> Rendered:
    """Every chart rendered by both Helm versions under several release names."""
    out = {}
    for name, chart in charts.items():
        for version in HELM_VERSIONS:
            for release in RELEASES:
                objs = template(helm_path(version), chart, release=release)
                subcharts = (chart / "charts").is_dir()
                out[(name, version, release)] = [o for o in objs if not subcharts or own(o, chart.name)]
    return out


def own(obj: dict[str, Any], chart: str) -> bool:
    """Whether the chart itself renders `obj`, not one of its dependencies (a subchart's objects, such as
    the Bitnami stand-in's of tests/charts/bitnami, are the subchart's: the examples' tests check them)."""
    return str((obj["metadata"].get("labels") or {}).get("helm.sh/chart", "")).startswith(f"{chart}-")


def objects(rendered: dict[tuple[str, str, str], list[dict[str, Any]]], spec: str, release: str = "rel",
            version: str = "4.3.1") -> list[dict[str, Any]]:
    return rendered[(spec, version, release)]


def pod_specs(objs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for o in objs:
        spec = o.get("spec", {})
        if o["kind"] == "Pod":
            out.append((o["metadata"]["name"], spec))
        elif o["kind"] in ("Deployment", "StatefulSet", "Job"):
            out.append((o["metadata"]["name"], spec["template"]["spec"]))
        elif o["kind"] == "CronJob":
            out.append((o["metadata"]["name"], spec["jobTemplate"]["spec"]["template"]["spec"]))
    return out


def is_test_hook(o: dict[str, Any]) -> bool:
    return (o["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test"


def helm_test_hooks(objs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The `helm test` hooks (Jobs) by name."""
    return {o["metadata"]["name"]: o for o in objs if is_test_hook(o)}


def assert_restricted(name: str, pod: dict[str, Any]) -> None:
    """The restricted Pod Security Standard (kubernetes.io/docs/concepts/security/pod-security-standards)."""
    psc = pod.get("securityContext", {})
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        assert not pod.get(flag), f"{name}: {flag}"
    for vol in pod.get("volumes", []):
        assert "hostPath" not in vol, f"{name}: hostPath volume"
    for c in [*pod.get("initContainers", []), *pod["containers"]]:
        sc = c.get("securityContext", {})
        where = f"{name}/{c['name']}"
        assert sc.get("allowPrivilegeEscalation") is False, where
        assert sc.get("privileged") in (None, False), where
        assert "ALL" in sc.get("capabilities", {}).get("drop", []), where
        assert set(sc.get("capabilities", {}).get("add", [])) <= {"NET_BIND_SERVICE"}, where
        assert (sc.get("runAsNonRoot", psc.get("runAsNonRoot"))) is True, where
        assert sc.get("runAsUser", psc.get("runAsUser", 1)) != 0, where
        seccomp = sc.get("seccompProfile", psc.get("seccompProfile", {})).get("type")
        assert seccomp in ("RuntimeDefault", "Localhost"), where
        for port in c.get("ports", []):
            assert "hostPort" not in port, where

