"""The fields of the rendered objects for the examples and the test specs."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    HELM_VERSIONS,
    by_kind,
    generate,
    helm_path,
    template,
)
from tests.rendered import assert_restricted, helm_test_hooks, objects


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

