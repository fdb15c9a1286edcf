"""Every generated chart on the real Helm 4.3.1 and 3.17.3: lint, Kubernetes schemas, restricted Pod
Security, names, labels and selectors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import (
    CRD_KINDS,
    K8S_VERSIONS,
    by_kind,
    helm_path,
    run_helm,
    secret_sets,
)
from tests.rendered import ALL_SPECS, RELEASES, assert_restricted, helm_test_hooks, is_test_hook, objects, pod_specs


@pytest.mark.parametrize("spec", [s.stem for s in ALL_SPECS])
def test_helm_lint_strict_passes_on_both_versions(charts: dict[str, Path], helm: Path, spec: str) -> None:
    proc = run_helm(helm, "lint", "--strict", str(charts[spec]))
    assert "0 chart(s) failed" in proc.stdout
    for env_file in sorted(charts[spec].glob("values-*.yaml")):
        proc = run_helm(helm, "lint", "--strict", str(charts[spec]), "-f", str(env_file))
        assert "0 chart(s) failed" in proc.stdout, env_file.name



class _NoDuplicates(yaml.SafeLoader):
    """PyYAML silently keeps the last of two equal keys; Kubernetes may not. Refuse them."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
        dupes = {k for k in keys if keys.count(k) > 1}
        assert not dupes, f"duplicate keys {dupes} at line {node.start_mark.line + 1}"
        return super().construct_mapping(node, deep=deep)



@pytest.mark.parametrize("spec", [s.stem for s in ALL_SPECS])
def test_rendered_yaml_has_no_duplicate_keys(charts: dict[str, Path], spec: str) -> None:
    out = run_helm(helm_path("4.3.1"), "template", "rel", str(charts[spec]), *secret_sets(charts[spec])).stdout
    assert list(yaml.load_all(out, Loader=_NoDuplicates))



@pytest.mark.parametrize("spec", [s.stem for s in ALL_SPECS])
def test_both_helm_versions_render_the_same_objects(rendered: Any, spec: str) -> None:
    for release in RELEASES:
        assert objects(rendered, spec, release, "4.3.1") == objects(rendered, spec, release, "3.17.3")



@pytest.mark.parametrize("k8s", K8S_VERSIONS)
@pytest.mark.parametrize("spec", [s.stem for s in ALL_SPECS])
def test_every_object_is_valid_kubernetes_in_strict_mode(rendered: Any, spec: str, k8s: str) -> None:
    import kubernetes_validate

    checked = 0
    for release in RELEASES:
        for obj in objects(rendered, spec, release):
            if obj["kind"] in CRD_KINDS:
                continue
            try:
                kubernetes_validate.validate(obj, k8s, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{obj['kind']}/{obj['metadata']['name']} is invalid for {k8s}: {exc}")
            checked += 1
    assert checked > 0



@pytest.mark.parametrize("spec", [s.stem for s in ALL_SPECS])
def test_every_pod_meets_the_restricted_pod_security_standard(rendered: Any, spec: str) -> None:
    pods = pod_specs(objects(rendered, spec))
    assert pods
    for name, pod in pods:
        assert_restricted(name, pod)



@pytest.mark.parametrize("spec", [s.stem for s in ALL_SPECS])
def test_agent_containers_have_requests_limits_and_a_writable_tmp(rendered: Any, spec: str) -> None:
    for o in objects(rendered, spec):
        if o["kind"] not in ("Deployment", "StatefulSet", "Job", "CronJob") or is_test_hook(o):
            continue
        pod = dict(pod_specs([o]))[o["metadata"]["name"]]
        main = pod["containers"][0]
        assert main["resources"]["requests"]["cpu"] and main["resources"]["requests"]["memory"]
        assert main["resources"]["limits"]["cpu"] and main["resources"]["limits"]["memory"]
        assert {"name": "tmp", "mountPath": "/tmp"} in main["volumeMounts"]
        assert {"name": "tmp", "emptyDir": {}} in pod["volumes"]
        if main["securityContext"].get("readOnlyRootFilesystem") is not False:
            assert main["securityContext"]["readOnlyRootFilesystem"] is True



@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("spec", [s.stem for s in ALL_SPECS])
def test_names_are_unique_per_kind_and_fit_63_characters(rendered: Any, spec: str, release: str) -> None:
    seen: set[tuple[str, str]] = set()
    for o in objects(rendered, spec, release):
        name = o["metadata"]["name"]
        assert len(name) <= (52 if o["kind"] in ("StatefulSet", "CronJob") else 63), (o["kind"], name)
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name), name
        assert (o["kind"], name) not in seen, f"two {o['kind']} objects named {name}"
        seen.add((o["kind"], name))
        for k, v in o["metadata"].get("labels", {}).items():
            assert len(str(v)) <= 63, (k, v)



@pytest.mark.parametrize("spec", [s.stem for s in ALL_SPECS])
def test_standard_labels_on_every_object_and_component_on_agent_objects(rendered: Any, spec: str,
                                                                        charts: dict[str, Path]) -> None:
    values = yaml.safe_load((charts[spec] / "values.yaml").read_text())
    agents = set(values["agents"])
    for o in objects(rendered, spec):
        labels = o["metadata"]["labels"]
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
                    "app.kubernetes.io/managed-by", "helm.sh/chart"):
            assert key in labels, (o["kind"], o["metadata"]["name"], key)
        assert labels["app.kubernetes.io/instance"] == "rel"
        if o["kind"] not in ("Secret", "ExternalSecret") and not o["metadata"]["name"].startswith(("extra-", "high-")) \
                and o["metadata"]["name"] != "rel-tests":  # the helm test pods' NetworkPolicy belongs to no agent
            assert labels.get("app.kubernetes.io/component") in agents, (o["kind"], o["metadata"]["name"])



@pytest.mark.parametrize("spec", [s.stem for s in ALL_SPECS])
def test_service_selectors_never_select_test_pods(rendered: Any, spec: str) -> None:
    objs = objects(rendered, spec)
    tests = [o["spec"]["template"] for o in helm_test_hooks(objs).values()]
    assert tests or not by_kind(objs, "Service")
    workloads = [o for o in objs if o["kind"] in ("Deployment", "StatefulSet")]
    for svc in by_kind(objs, "Service").values():
        sel = svc["spec"]["selector"]
        for pod in tests:
            assert not sel.items() <= pod["metadata"]["labels"].items(), (svc["metadata"]["name"], pod["metadata"]["name"])
        assert any(sel.items() <= w["spec"]["template"]["metadata"]["labels"].items() for w in workloads)
        for w in workloads:
            assert w["spec"]["selector"]["matchLabels"].items() <= w["spec"]["template"]["metadata"]["labels"].items()



@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("spec", [s.stem for s in ALL_SPECS])
def test_references_between_objects_resolve(rendered: Any, spec: str, release: str) -> None:
    objs = objects(rendered, spec, release)
    names = {(o["kind"], o["metadata"]["name"]) for o in objs}
    for o in objs:
        if o["kind"] in ("HorizontalPodAutoscaler", "ScaledObject"):
            ref = o["spec"]["scaleTargetRef"]
            assert (ref["kind"], ref["name"]) in names, ref
        if o["kind"] == "StatefulSet":
            assert ("Service", o["spec"]["serviceName"]) in names
    for where, pod in pod_specs(objs):
        for v in pod.get("volumes", []):
            if v["name"] == "config":  # the agent's config files: the chart's own ConfigMap
                assert ("ConfigMap", v["configMap"]["name"]) in names, where
        if o["kind"] in ("Ingress",):
            for rule in o["spec"]["rules"]:
                for p in rule["http"]["paths"]:
                    assert ("Service", p["backend"]["service"]["name"]) in names
        if o["kind"] == "HTTPRoute":
            for rule in o["spec"]["rules"]:
                for b in rule["backendRefs"]:
                    assert ("Service", b["name"]) in names



def test_long_release_names_are_shortened_consistently(rendered: Any) -> None:
    objs = objects(rendered, "research-crew", "a-release-name-that-is-long-enough-to-overflow-names")
    svcs = by_kind(objs, "Service")
    dep = by_kind(objs, "Deployment")
    planner = next(d for n, d in dep.items() if d["metadata"]["labels"]["app.kubernetes.io/component"] == "planner")
    env = {e["name"]: e.get("value") for e in planner["spec"]["template"]["spec"]["containers"][0]["env"]}
    host = env["WORKER_URL"].removeprefix("http://").rsplit(":", 1)[0]
    assert host in svcs
    dotted = objects(rendered, "research-crew", "my.dotted.release")
    assert "my-dotted-release-planner" in by_kind(dotted, "Service")

