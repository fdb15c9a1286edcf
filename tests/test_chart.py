"""The generated charts on the real Helm 4.3.1 and 3.17.3: lint, render, Kubernetes schemas,
restricted Pod Security, names, and the fields of every rendered object."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import (CRD_KINDS, EXAMPLES, HELM_VERSIONS, K8S_VERSIONS, SPECS, by_kind, generate, helm_path,
                            run_helm, secret_sets, template, tree_bytes)

ALL_SPECS = [*EXAMPLES, *sorted(SPECS.glob("*.yaml"))]
RELEASES = ("rel", "a-release-name-that-is-long-enough-to-overflow-names", "my.dotted.release")


@pytest.fixture(scope="module")
def charts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("charts")
    return {spec.stem: generate(spec, out) for spec in ALL_SPECS}


@pytest.fixture(scope="module")
def rendered(charts: dict[str, Path]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Every chart rendered by both Helm versions under several release names."""
    out = {}
    for name, chart in charts.items():
        for version in HELM_VERSIONS:
            for release in RELEASES:
                out[(name, version, release)] = template(helm_path(version), chart, release=release)
    return out


def objects(rendered: dict[tuple[str, str, str], list[dict[str, Any]]], spec: str, release: str = "rel",
            version: str = "4.3.1") -> list[dict[str, Any]]:
    return rendered[(spec, version, release)]


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
    workloads = [o for o in objs if o["kind"] in ("Deployment", "StatefulSet", "Rollout")]
    for svc in by_kind(objs, "Service").values():
        sel = svc["spec"]["selector"]
        for pod in tests:
            assert not sel.items() <= pod["metadata"]["labels"].items(), (svc["metadata"]["name"], pod["metadata"]["name"])
        assert any(sel.items() <= w["spec"]["template"]["metadata"]["labels"].items() for w in workloads)
        for w in workloads:
            assert w["spec"]["selector"]["matchLabels"].items() <= w["spec"]["template"]["metadata"]["labels"].items()


def test_generation_is_deterministic(tmp_path: Path) -> None:
    for spec in ALL_SPECS:
        a = generate(spec, tmp_path / "a")
        b = generate(spec, tmp_path / "b")
        assert tree_bytes(a) == tree_bytes(b)


def test_chart_files(charts: dict[str, Path]) -> None:
    chart = charts["research-crew"]
    files = set(tree_bytes(chart))
    assert {"Chart.yaml", "values.yaml", "values.schema.json", "README.md", ".helmignore", "templates/NOTES.txt",
            "templates/tests/test-connection.yaml", "templates/_helpers.tpl"} <= files
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2" and meta["name"] == "research-crew" and meta["version"] == "0.3.0"
    assert meta["appVersion"] == "1.8.2" and meta["kubeVersion"] == ">=1.29.0-0"
    assert meta["home"] == "https://example.org/research-crew"
    assert meta["maintainers"] == [{"name": "Ada", "email": "ada@example.org"}]
    assert meta["annotations"]["artifacthub.io/license"] == "Apache-2.0"
    images = yaml.safe_load(meta["annotations"]["artifacthub.io/images"])
    assert {"name": "planner", "image": "ghcr.io/acme/planner:1.8.2"} in images
    schema = json.loads((chart / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert "$ref" not in json.dumps(schema).replace('"$ref": "#/definitions/agent"', "")
    readme = (chart / "README.md").read_text()
    assert "```mermaid" in readme and "a_planner --> a_worker" in readme and "a_worker --> a_evaluator" in readme
    assert "| `agents.<agent>.replicas` |" in readme
    values_text = (chart / "values.yaml").read_text()
    # a comment above every agent setting
    lines = values_text.splitlines()
    for i, line in enumerate(lines):
        if re.fullmatch(r"    [a-zA-Z]+:.*", line):
            assert lines[i - 1].lstrip().startswith("#"), line


def test_values_mirror_the_spec(charts: dict[str, Path]) -> None:
    values = yaml.safe_load((charts["research-crew"] / "values.yaml").read_text())
    planner = values["agents"]["planner"]
    assert planner["image"] == {"repository": "ghcr.io/acme/planner", "tag": "1.8.2", "digest": "",
                                "pullPolicy": "IfNotPresent"}
    assert planner["ports"] == {"http": {"port": 8080, "protocol": "TCP"}}
    assert planner["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}  # from defaults
    assert planner["env"]["LOG_LEVEL"] == {"value": "info"}  # defaults merged
    assert planner["env"]["MAX_STEPS"] == {"value": "12"}
    assert planner["health"]["liveness"] == {"httpGet": {"path": "/healthz", "port": "http"}}
    assert values["secrets"]["llm-keys"] == {"keys": ["openai", "anthropic"], "existingSecret": "", "external": None,
                                            "values": {}}
    assert values["agents"]["worker"]["health"]["readiness"] == {"httpGet": {"path": "/healthz", "port": "http"}}


def test_research_crew_fields(rendered: Any) -> None:
    objs = objects(rendered, "research-crew")
    deps = by_kind(objs, "Deployment")
    planner = deps["rel-planner"]
    assert "replicas" not in planner["spec"]  # the HPA owns it
    assert planner["spec"]["template"]["spec"]["serviceAccountName"] == "rel-planner"
    c = planner["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in c["env"]}
    assert env["WORKER_URL"]["value"] == "http://rel-worker:8080"
    assert env["RETRIEVER_URL"]["value"] == "http://rel-retriever:9000"
    assert env["OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "rel-llm-keys", "key": "openai"}
    assert c["readinessProbe"]["httpGet"]["path"] == "/.well-known/agent-card.json"
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert "checksum/config" in planner["spec"]["template"]["metadata"]["annotations"]
    assert planner["metadata"]["annotations"]["agentgen.io/description"] == "Breaks a research question into tasks"
    hpa = by_kind(objs, "HorizontalPodAutoscaler")["rel-planner"]
    assert hpa["spec"]["minReplicas"] == 2 and hpa["spec"]["maxReplicas"] == 10
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert deps["rel-worker"]["spec"]["replicas"] == 3
    wenv = {e["name"]: e for e in deps["rel-worker"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert wenv["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert wenv["MEM_LIMIT"]["valueFrom"]["resourceFieldRef"]["resource"] == "limits.memory"
    ann = deps["rel-worker"]["spec"]["template"]["metadata"]["annotations"]
    assert ann["prometheus.io/port"] == "9090" and ann["prometheus.io/scrape"] == "true"
    pdbs = by_kind(objs, "PodDisruptionBudget")
    assert set(pdbs) == {"rel-planner", "rel-worker"}  # agents that can run more than one pod
    assert pdbs["rel-worker"]["spec"]["maxUnavailable"] == 1
    sts = by_kind(objs, "StatefulSet")["rel-retriever"]
    assert sts["spec"]["serviceName"] == "rel-retriever"
    assert by_kind(objs, "Service")["rel-retriever"]["spec"]["clusterIP"] == "None"
    vct = sts["spec"]["volumeClaimTemplates"][0]
    assert vct["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"].endswith("@sha256:" + "0123456789abcdef" * 4)
    evaluator = deps["rel-evaluator"]["spec"]["template"]["spec"]
    assert evaluator["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert evaluator["containers"][0]["image"] == "ghcr.io/acme/evaluator:1.8.2"  # appVersion default
    assert evaluator["nodeSelector"] == {"accelerator": "nvidia"}
    cron = by_kind(objs, "CronJob")["rel-reindex"]
    assert cron["spec"]["schedule"] == "0 3 * * *"
    assert cron["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 2
    assert cron["spec"]["jobTemplate"]["spec"]["ttlSecondsAfterFinished"] == 3600
    ing = by_kind(objs, "Ingress")["rel-planner"]
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert ing["spec"]["tls"] == [{"secretName": "research-tls", "hosts": ["research.example.org"]}]
    assert ing["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"] == {"name": "rel-planner",
                                                                                 "port": {"name": "http"}}
    secret = by_kind(objs, "Secret")["rel-llm-keys"]
    assert base64.b64decode(secret["data"]["openai"]).decode() == "test-openai"
    cm = by_kind(objs, "ConfigMap")["rel-planner-config"]
    assert cm["data"]["prompts.yaml"] == 'system: "You plan research. Never run {{ template }} code."\n'


def test_network_policies_follow_talks_to(rendered: Any) -> None:
    nps = by_kind(objects(rendered, "research-crew"), "NetworkPolicy")
    assert set(nps) == {"rel-planner", "rel-worker", "rel-retriever", "rel-evaluator", "rel-reindex", "rel-tests"}
    # the helm test pods listen on nothing: their own NetworkPolicy admits no ingress
    tests = nps.pop("rel-tests")
    assert tests["spec"] == {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "research-crew-test",
                                                             "app.kubernetes.io/instance": "rel"}},
                             "policyTypes": ["Ingress"], "ingress": []}

    def callers(np: dict[str, Any]) -> set[str]:
        out: set[str] = set()
        for rule in np["spec"].get("ingress", []):
            for src in rule.get("from", []):
                for expr in src["podSelector"].get("matchExpressions", []):
                    out |= set(expr["values"])
        return out

    assert callers(nps["rel-retriever"]) == {"planner", "worker"}
    assert callers(nps["rel-evaluator"]) == {"worker"}
    assert callers(nps["rel-worker"]) == {"planner"}
    assert nps["rel-reindex"]["spec"]["ingress"] == []
    # exposed port open to anyone; monitoring port open to the scraper
    assert {"ports": [{"port": 8080, "protocol": "TCP"}]} in nps["rel-planner"]["spec"]["ingress"]
    assert {"ports": [{"port": 9090, "protocol": "TCP"}]} in nps["rel-worker"]["spec"]["ingress"]
    for np in nps.values():
        assert np["spec"]["policyTypes"] == ["Ingress"]


def test_network_policy_off(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("apiVersion: agentgen/v1\nname: s\nversion: 0.1.0\nnetworkPolicy: false\n"
                    "agents:\n  a: {image: nginx, port: 80}\n")
    objs = template(helm_path("4.3.1"), generate(spec, tmp_path))
    assert not by_kind(objs, "NetworkPolicy")


def test_helm_test_pods(rendered: Any) -> None:
    objs = objects(rendered, "research-crew")
    assert not by_kind(objs, "Pod")
    jobs = helm_test_hooks(objs)
    assert set(jobs) == {"rel-planner-test", "rel-worker-test", "rel-retriever-test", "rel-evaluator-test"}
    planner = jobs["rel-planner-test"]
    assert planner["kind"] == "Job" and planner["spec"]["backoffLimit"] == 0  # one failed check fails helm test
    assert planner["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    # the pod template carries the stable labels only; the Job itself all of them
    assert planner["spec"]["template"]["metadata"]["labels"] == {
        k: v for k, v in planner["metadata"]["labels"].items()
        if k not in ("helm.sh/chart", "app.kubernetes.io/version", "app.kubernetes.io/managed-by")}
    args = planner["spec"]["template"]["spec"]["containers"][0]["command"]
    joined = " ".join(args)
    assert "http http://rel-planner:8080/.well-known/agent-card.json" in joined
    assert "tcp rel-worker 8080" in joined and "tcp rel-retriever 9000" in joined
    assert planner["metadata"]["labels"]["app.kubernetes.io/component"] == "planner"


def test_every_field_spec(rendered: Any) -> None:
    objs = objects(rendered, "every-field")
    deps = by_kind(objs, "Deployment")
    assert set(deps) == {"rel-planner"}  # retired is disabled
    assert not [o for o in objs if "retired" in o["metadata"]["name"]]
    pod = deps["rel-planner"]["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert c["image"] == "registry.example.org:5000/acme/planner:1.10"
    assert c["imagePullPolicy"] == "Always"
    assert c["command"] == ["/bin/planner"] and c["args"] == ["--verbose", "--level=3"]
    assert {p["name"]: (p["containerPort"], p["protocol"]) for p in c["ports"]} == {
        "http": (8080, "TCP"), "grpc": (9090, "TCP"), "stats": (9125, "UDP"), "metrics": (9100, "TCP")}
    assert c["resources"]["limits"]["amd.com/gpu"] == 2
    assert c["resources"]["requests"]["ephemeral-storage"] == "1Gi"
    assert c["livenessProbe"] == {"grpc": {"port": 9090}, "periodSeconds": 20}
    assert c["readinessProbe"]["httpGet"] == {"path": "/ready", "port": 8080, "scheme": "HTTP"}
    assert c["startupProbe"] == {"exec": {"command": ["cat", "/tmp/started"]}, "failureThreshold": 60}
    env = {e["name"]: e for e in c["env"]}
    assert env["NUMBER"]["value"] == "42" and env["FLAG"]["value"] == "true"
    assert env["SHARED"]["value"] == "from-defaults"
    assert env["FROM_CM"]["valueFrom"]["configMapKeyRef"] == {"name": "planner-settings", "key": "mode", "optional": True}
    assert env["EXISTING"]["valueFrom"]["secretKeyRef"]["name"] == "prebuilt-token"
    assert env["UNDECLARED"]["valueFrom"]["secretKeyRef"]["name"] == "some-other-secret"
    assert env["SECRET_REF"]["valueFrom"]["secretKeyRef"]["name"] == "rel-llm"
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert env["MEMORY_URL"]["value"] == "http://rel-memory:6333"
    assert env["TOOLS_URL"]["value"] == "http://rel-tools:3000"
    assert c["envFrom"] == [{"configMapRef": {"name": "planner-env"}, "prefix": "CFG_"},
                            {"secretRef": {"name": "rel-vaulted", "optional": True}}]
    assert c["securityContext"]["readOnlyRootFilesystem"] is False  # loosened by the spec
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}  # the rest stays
    assert pod["securityContext"]["runAsUser"] == 10001 and pod["securityContext"]["runAsNonRoot"] is True
    assert pod["serviceAccountName"] == "planner-sa" and pod["automountServiceAccountToken"] is True
    assert pod["terminationGracePeriodSeconds"] == 45 and pod["priorityClassName"] == "high-priority"
    assert pod["imagePullSecrets"] == [{"name": "regcred"}, {"name": "other-cred"}]
    assert pod["tolerations"][0]["key"] == "dedicated"
    assert "podAntiAffinity" in pod["affinity"] and pod["topologySpreadConstraints"][0]["maxSkew"] == 1
    assert [ic["name"] for ic in pod["initContainers"]] == ["wait"]
    assert pod["initContainers"][0]["securityContext"]["allowPrivilegeEscalation"] is False
    sidecar = pod["containers"][1]
    assert sidecar["name"] == "proxy" and sidecar["securityContext"]["runAsUser"] == 10101
    assert {"name": "tmp", "mountPath": "/tmp"} in sidecar["volumeMounts"]
    assert {"name": "tmp", "mountPath": "/tmp"} in pod["initContainers"][0]["volumeMounts"]
    assert {"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}} in pod["volumes"]
    assert {"name": "cache", "mountPath": "/var/cache/planner"} in c["volumeMounts"]
    meta = deps["rel-planner"]["spec"]["template"]["metadata"]
    assert meta["labels"]["tier"] == "brain" and meta["labels"]["team"] == "agents"
    assert meta["annotations"]["example.org/owner"] == "planning"
    assert meta["annotations"]["prometheus.io/port"] == "9100" and meta["annotations"]["prometheus.io/path"] == "/prom"
    strategy = deps["rel-planner"]["spec"]["strategy"]["rollingUpdate"]
    assert strategy == {"maxSurge": 2, "maxUnavailable": 1}
    svc = by_kind(objs, "Service")
    assert svc["rel-planner"]["spec"]["type"] == "LoadBalancer"
    assert svc["rel-planner"]["metadata"]["annotations"] == {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
    assert svc["rel-memory"]["spec"]["clusterIP"] == "None"
    hpa = by_kind(objs, "HorizontalPodAutoscaler")["rel-planner"]
    assert [m.get("resource", {}).get("name") for m in hpa["spec"]["metrics"]] == ["cpu", "memory", None]
    assert hpa["spec"]["behavior"] == {"scaleDown": {"stabilizationWindowSeconds": 300}}
    so = by_kind(objs, "ScaledObject")["rel-tools"]
    assert so["apiVersion"] == "keda.sh/v1alpha1"
    assert so["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "rel-tools"}
    assert so["spec"]["minReplicaCount"] == 1 and so["spec"]["maxReplicaCount"] == 4 and so["spec"]["pollingInterval"] == 15
    assert "replicas" not in by_kind(objs, "StatefulSet")["rel-tools"]["spec"]
    pdbs = by_kind(objs, "PodDisruptionBudget")
    assert pdbs["rel-planner"]["spec"]["maxUnavailable"] == "25%"
    assert "rel-memory" not in pdbs  # disruption: false
    assert pdbs["rel-tools"]["spec"]["maxUnavailable"] == 1
    mem = by_kind(objs, "StatefulSet")["rel-memory"]
    assert mem["spec"]["replicas"] == 3
    assert mem["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "standard"
    mc = mem["spec"]["template"]["spec"]["containers"][0]
    assert "livenessProbe" not in mc and "readinessProbe" not in mc  # health: false
    assert {"name": "data", "mountPath": "/qdrant/storage"} in mc["volumeMounts"]
    assert mc["image"] == "ghcr.io/acme/memory:2.3.4@sha256:" + "a" * 64
    route = by_kind(objs, "HTTPRoute")["rel-tools"]
    assert route["spec"]["parentRefs"] == [{"name": "internal", "namespace": "infra", "sectionName": "https"}]
    assert route["spec"]["hostnames"] == ["tools.example.org"]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "rel-tools", "port": 3000}]
    assert route["spec"]["rules"][0]["matches"][0]["path"] == {"type": "PathPrefix", "value": "/mcp"}
    ing = by_kind(objs, "Ingress")["rel-planner"]
    assert ing["metadata"]["annotations"] == {"nginx.ingress.kubernetes.io/proxy-body-size": "8m"}
    assert ing["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/api"
    sm = by_kind(objs, "ServiceMonitor")["rel-tools"]
    assert sm["spec"]["endpoints"] == [{"port": "mcp", "path": "/metrics"}]
    assert sm["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "tools"
    es = by_kind(objs, "ExternalSecret")["rel-vaulted"]
    assert es["apiVersion"] == "external-secrets.io/v1"
    assert es["spec"]["secretStoreRef"] == {"name": "vault", "kind": "SecretStore"}
    assert es["spec"]["refreshInterval"] == "15m"
    assert es["spec"]["data"][0] == {"secretKey": "password", "remoteRef": {"key": "db/creds", "property": "password"}}
    assert set(by_kind(objs, "Secret")) == {"rel-llm"}  # existingSecret and external render no Secret
    sas = by_kind(objs, "ServiceAccount")
    assert "planner-sa" in sas and "shared-tools" not in sas
    assert sas["planner-sa"]["metadata"]["annotations"]["iam.gke.io/gcp-service-account"].startswith("planner@")
    assert all(sa["automountServiceAccountToken"] is False for sa in sas.values())
    rb = by_kind(objs, "RoleBinding")
    assert rb["rel-tools"]["subjects"][0]["name"] == "shared-tools"
    assert rb["rel-planner"]["subjects"][0]["name"] == "planner-sa"
    assert by_kind(objs, "Role")["rel-planner"]["rules"] == [{"apiGroups": [""], "resources": ["pods"],
                                                              "verbs": ["get", "list"]}]
    job = by_kind(objs, "Job")["rel-backfill"]
    assert {k: job["spec"][k] for k in ("backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished",
                                        "parallelism", "completions")} == {
        "backoffLimit": 1, "activeDeadlineSeconds": 600, "ttlSecondsAfterFinished": 120, "parallelism": 2,
        "completions": 4}
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    cron = by_kind(objs, "CronJob")["rel-nightly"]
    assert cron["spec"]["schedule"] == "@daily" and cron["spec"]["concurrencyPolicy"] == "Replace"
    assert cron["spec"]["successfulJobsHistoryLimit"] == 1 and cron["spec"]["jobTemplate"]["spec"]["backoffLimit"] == 0
    extra = by_kind(objs, "ConfigMap")["extra-settings"]
    assert extra["data"] == {"mode": "fast"}
    assert extra["metadata"]["labels"]["custom"] == "yes"
    assert extra["metadata"]["labels"]["app.kubernetes.io/instance"] == "rel"
    assert by_kind(objs, "PriorityClass")["high-priority"]["value"] == 100000


def test_strings_reach_the_manifests_verbatim(rendered: Any) -> None:
    objs = objects(rendered, "tricky-strings")
    dep = next(o for o in objs if o["kind"] == "Deployment" and "6576a18e" not in o["metadata"]["name"]
               and o["metadata"]["labels"]["app.kubernetes.io/component"].startswith("an-agent"))
    pod = dep["spec"]["template"]
    c = pod["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert env["TEMPLATE"] == "{{ .Values.secret }}"
    assert env["NO"] == "no" and env["NO_QUOTED"] == "no"
    assert env["LEADING_ZERO"] == "0123" and env["SCIENTIFIC"] == "1e3" and env["FLOAT_TEXT"] == "1.50"
    assert env["TRUE_WORD"] == "true" and env["BOOL"] == "true" and env["NULLISH"] == "null" and env["TILDE"] == "~"
    assert env["EMPTY"] == "" and env["MULTILINE"] == "line one\nline two\n"
    assert env["BACKSLASH"] == "C:\\path\\to\\{{x}}" and env["DOLLAR"] == "$(HOME) and ${HOME}"
    assert env["HASH"] == "# not a comment" and env["SPACES"] == "  padded  " and env["EMOJI"] == "🚀"
    assert env["CONTROL"] == "tab\there" and env["YAML_DOC"] == "---\nkey: value"
    assert c["args"] == ["--greeting={{ hello }}", "no", "0123"]
    assert c["image"] == "registry.example.org/acme/agent:0123"
    assert pod["metadata"]["annotations"]["example.org/template"] == "{{ .Chart.Name }}"
    assert pod["metadata"]["annotations"]["example.org/number"] == "007"
    assert dep["metadata"]["annotations"]["agentgen.io/description"] == '{{ fail "boom" }} — ünïcødé ✓ 🚀'
    cm = next(o for o in objs if o["kind"] == "ConfigMap")
    assert cm["data"] == {
        "template.txt": "Hello {{ .Values.name }}\n{{- range . }}x{{ end }}\n",
        "leading-space.txt": "  indented first line\nsecond\n",
        "no-newline.txt": "no trailing newline",
        "many-newlines.txt": "a\n\n\n",
        "crlf.txt": "windows\r\nline\r\n",
    }
    url = env["B_SECOND_AGENT_NAME_ALSO_FORTY_CHARS_XYZ_URL"]
    svc_names = set(by_kind(objs, "Service"))
    host = url.removeprefix("http://").rsplit(":", 1)[0]
    assert host in svc_names and url.endswith(":80")  # the first port in spec order (web), not alphabetical


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


def test_missing_secret_values_fail_install_naming_secret_and_key(charts: dict[str, Path], helm: Path) -> None:
    chart = charts["research-crew"]
    proc = run_helm(helm, "template", "rel", str(chart), "--set", "secrets.llm-keys.values.openai=x", check=False)
    assert proc.returncode != 0
    assert "secrets.llm-keys.values.anthropic" in proc.stderr
    assert "secrets.llm-keys.values.openai" not in proc.stderr.split("missing values")[1].split("(")[0]
    proc = run_helm(helm, "lint", "--strict", str(chart))  # lint is not an install: it passes without values


def test_no_secret_value_in_any_generated_file(charts: dict[str, Path]) -> None:
    for chart in charts.values():
        values = yaml.safe_load((chart / "values.yaml").read_text())
        for s in values["secrets"].values():
            assert s["values"] == {}


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


def test_udp_agents_and_bare_sidecars(tmp_path: Path) -> None:
    spec = tmp_path / "s.yaml"
    spec.write_text("apiVersion: agentgen/v1\nname: s\nversion: 0.1.0\nagents:\n"
                    "  dns: {image: ghcr.io/acme/dns:1, ports: {dns: {port: 53, protocol: UDP}}}\n"
                    "  app:\n    image: ghcr.io/acme/app:1\n    port: 80\n    talksTo: [dns]\n"
                    "    sidecars: [{name: log, image: ghcr.io/acme/log:1}]\n")
    objs = template(helm_path("4.3.1"), generate(spec, tmp_path))
    dns = by_kind(objs, "Deployment")["rel-dns"]["spec"]["template"]["spec"]["containers"][0]
    assert "livenessProbe" not in dns and "readinessProbe" not in dns  # a TCP probe on a UDP port never passes
    app_test = " ".join(helm_test_hooks(objs)["rel-app-test"]["spec"]["template"]["spec"]["containers"][0]["command"])
    assert "rel-dns" not in app_test  # nc -z would test TCP
    log = by_kind(objs, "Deployment")["rel-app"]["spec"]["template"]["spec"]["containers"][1]
    assert log["resources"]["limits"] == {"cpu": "100m", "memory": "128Mi"}
    assert {"name": "tmp", "mountPath": "/tmp"} in log["volumeMounts"]
    assert_restricted("app", by_kind(objs, "Deployment")["rel-app"]["spec"]["template"]["spec"])


@pytest.mark.parametrize("version", HELM_VERSIONS)
def test_zeros_are_values_not_defaults(tmp_path: Path, version: str) -> None:
    """0 is a setting like any other: maxSurge 0, replicas 0 and a grace period of 0 reach the objects."""
    spec = tmp_path / "s.yaml"
    spec.write_text("apiVersion: agentgen/v1\nname: s\nversion: 0.1.0\nagents:\n"
                    "  a:\n    image: ghcr.io/acme/a:1\n    port: 80\n    replicas: 0\n"
                    "    terminationGracePeriodSeconds: 0\n"
                    "    rollout: {strategy: rolling, maxSurge: 0, maxUnavailable: 1}\n"
                    "  b: {image: ghcr.io/acme/b:1, port: 80, replicas: 3}\n")
    deps = by_kind(template(helm_path(version), generate(spec, tmp_path)), "Deployment")
    a = deps["rel-a"]["spec"]
    assert a["replicas"] == 0
    assert a["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    assert a["template"]["spec"]["terminationGracePeriodSeconds"] == 0
    b = deps["rel-b"]["spec"]
    assert b["replicas"] == 3
    assert b["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": 0}
    assert b["template"]["spec"]["terminationGracePeriodSeconds"] == 30


def test_the_helm_test_script_runs_under_busybox(rendered: Any, tmp_path: Path) -> None:
    """The test pod's script with BusyBox's sh and nc (the test image's tools), against a port that
    answers on 127.0.0.1 and one that does not."""
    import shutil
    import socket
    import subprocess

    busybox = shutil.which("busybox")
    if not busybox:
        pytest.fail("busybox is not installed: run the tests with scripts/test.sh, which installs it")
    job = helm_test_hooks(objects(rendered, "research-crew"))["rel-worker-test"]
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[:2] == ["sh", "-c"] and any(a.startswith("tcp rel-") for a in command[4:])
    script = command[2]
    for tool in ("nc", "wget"):  # as in the busybox image: applets on PATH
        (tmp_path / tool).symlink_to(busybox)
    env = {"PATH": str(tmp_path)}
    import threading

    def serve(sock: socket.socket) -> None:  # accept, read to the client's end, close: like a server
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                while conn.recv(1024):
                    pass

    with socket.socket() as listener, socket.socket() as closed:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        threading.Thread(target=serve, args=(listener,), daemon=True).start()
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        up, down = listener.getsockname()[1], closed.getsockname()[1]
        ok = subprocess.run([busybox, "sh", "-c", script, "check", f"tcp 127.0.0.1 {up}"], capture_output=True,
                            text=True, timeout=30, env=env)
        assert ok.returncode == 0 and "ok   127.0.0.1" in ok.stdout, ok.stdout + ok.stderr
        bad = subprocess.run([busybox, "sh", "-c", script, "check", f"tcp 127.0.0.1 {up}", f"tcp 127.0.0.1 {down}"],
                             capture_output=True, text=True, timeout=30, env=env)
        assert bad.returncode == 1 and f"FAIL 127.0.0.1:{down}" in bad.stdout, bad.stdout + bad.stderr
