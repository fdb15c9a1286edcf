"""Upgrades, release names and the `helm test` hooks on the real Helm 4.3.1 and 3.17.3: fields that
Kubernetes will not let an upgrade change stay byte-identical across chart versions and appVersions;
release names Helm accepts never give an object Kubernetes rejects."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLES, SPECS, by_kind, generate, run_helm, secret_sets, template

UPGRADE_SPECS = [*EXAMPLES, SPECS / "every-field.yaml", SPECS / "long-stateful.yaml"]


def immutable_fields(objs: list[dict[str, Any]]) -> dict[str, str]:
    """Every field that `helm upgrade` cannot change (or that must keep selecting the same pods),
    keyed by kind/name/field, as YAML text."""
    out: dict[str, Any] = {}
    for o in objs:
        key = f"{o['kind']}/{o['metadata']['name']}"
        spec = o.get("spec", {})
        if o["kind"] in ("Deployment", "StatefulSet", "PodDisruptionBudget", "ServiceMonitor", "Job"):
            out[f"{key}/selector"] = spec.get("selector")
        if o["kind"] == "StatefulSet":
            out[f"{key}/volumeClaimTemplates"] = spec.get("volumeClaimTemplates")
            out[f"{key}/serviceName"] = spec["serviceName"]
        if o["kind"] == "Service":
            out[f"{key}/selector"] = spec.get("selector")
        if o["kind"] == "Job":
            # immutable; the specs give agent Jobs their own tags, and `helm test` Jobs use a fixed image
            out[f"{key}/template"] = spec["template"]
        if o["kind"] in ("HorizontalPodAutoscaler", "ScaledObject"):
            out[f"{key}/scaleTargetRef"] = spec["scaleTargetRef"]
        if o["kind"] == "NetworkPolicy":
            out[f"{key}/podSelector"] = spec["podSelector"]
            out[f"{key}/from"] = [rule.get("from") for rule in spec.get("ingress", [])]
    return {k: yaml.safe_dump(v, sort_keys=True) for k, v in out.items()}


def with_versions(chart: Path, dest: Path, version: str, app_version: str) -> Path:
    copy = dest / f"{chart.name}-{version}-{app_version}" / chart.name
    shutil.copytree(chart, copy)
    meta = yaml.safe_load((copy / "Chart.yaml").read_text())
    meta["version"], meta["appVersion"] = version, app_version
    (copy / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    return copy


@pytest.mark.parametrize("spec", UPGRADE_SPECS, ids=lambda p: p.stem)
def test_upgrade_immutable_fields_do_not_change_between_chart_versions(tmp_path: Path, helm: Path, spec: Path) -> None:
    chart = generate(spec, tmp_path / "gen")
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for version, app_version in (("1.0.0", "1.0.0"), ("1.0.1", "1.0.0"), ("2.3.0+build.9", "2.0"),
                                 ("2.3.0-rc.1", "2.1")):
        objs = template(helm, with_versions(chart, tmp_path, version, app_version), "--namespace", "ns")
        assert any(o["metadata"]["labels"].get("helm.sh/chart", "").endswith(version.replace("+", "_"))
                   for o in objs)  # the versions did change
        seen[(version, app_version)] = immutable_fields(objs)
    first, *rest = seen.values()
    assert any("/selector" in k for k in first)
    if "port" in spec.read_text():  # the `helm test` Jobs' pod templates are compared too
        assert any(k.startswith("Job/") and k.endswith("-test/template") for k in first), list(first)
    if "state:" in spec.read_text():
        assert any(k.endswith("/volumeClaimTemplates") and v.strip() != "null" for k, v in first.items())
    for other in rest:
        assert other == first


def test_volume_claim_templates_carry_only_selector_labels(tmp_path: Path, helm: Path) -> None:
    objs = template(helm, generate(SPECS / "every-field.yaml", tmp_path))
    memory = by_kind(objs, "StatefulSet")["rel-memory"]
    (vct,) = memory["spec"]["volumeClaimTemplates"]
    assert vct["metadata"]["labels"] == {"app.kubernetes.io/name": "every-field", "app.kubernetes.io/instance": "rel",
                                         "app.kubernetes.io/component": "memory"}


DNS_1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"
DNS_1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"


def assert_valid_objects(objs: list[dict[str, Any]]) -> None:
    """kubernetes-validate in strict mode (as tests/test_chart.py) plus the name rules it does not check."""
    import re

    import kubernetes_validate

    from tests.conftest import CRD_KINDS, K8S_VERSIONS

    for obj in objs:
        name = obj["metadata"]["name"]
        assert len(name) <= 63, name
        assert re.fullmatch(DNS_1035 if obj["kind"] == "Service" else DNS_1123_LABEL, name), f"{obj['kind']}/{name}"
        if obj["kind"] in CRD_KINDS:
            continue
        for k8s in K8S_VERSIONS:
            kubernetes_validate.validate(obj, k8s, strict=True)


@pytest.mark.parametrize("release", ["1st", "9.lives", "0"])
def test_release_names_that_start_with_a_digit_fail_naming_full_name_override(tmp_path: Path, helm: Path,
                                                                                release: str) -> None:
    chart = generate(SPECS / "every-field.yaml", tmp_path)
    proc = run_helm(helm, "template", release, str(chart), *secret_sets(chart), check=False)
    assert proc.returncode != 0 and proc.stdout == ""
    assert f'release name "{release}"' in proc.stderr and "--set fullnameOverride=" in proc.stderr, proc.stderr
    objs = template(helm, chart, "--set", "fullnameOverride=first", release=release)
    assert "first-planner" in by_kind(objs, "Service")
    assert {o["metadata"]["labels"]["app.kubernetes.io/instance"] for o in objs} == {release}
    assert_valid_objects(objs)


def test_invalid_full_name_override_fails_naming_it(tmp_path: Path, helm: Path) -> None:
    chart = generate(SPECS / "every-field.yaml", tmp_path)
    for bad in ("2nd", "Upper", "under_score"):
        proc = run_helm(helm, "template", "rel", str(chart), *secret_sets(chart), "--set", f"fullnameOverride={bad}",
                        check=False)
        assert proc.returncode != 0 and "fullnameOverride" in proc.stderr and "pattern" in proc.stderr, proc.stderr
        # the values schema says so first; without it, the templates still do
        proc = run_helm(helm, "template", "rel", str(chart), *secret_sets(chart), "--set", f"fullnameOverride={bad}",
                        "--skip-schema-validation", check=False)
        assert proc.returncode != 0 and f'fullnameOverride "{bad}"' in proc.stderr, proc.stderr


@pytest.mark.parametrize("release", ["my.dotted.release", "a1.b2", "x"])
def test_dotted_release_names_give_valid_names(tmp_path: Path, helm: Path, release: str) -> None:
    objs = template(helm, generate(SPECS / "every-field.yaml", tmp_path), release=release)
    assert f"{release.replace('.', '-')}-planner" in by_kind(objs, "Service")
    assert_valid_objects(objs)


def test_every_namespaced_object_names_the_release_namespace(tmp_path: Path, helm: Path) -> None:
    objs = template(helm, generate(SPECS / "every-field.yaml", tmp_path), "--namespace", "agents-ns")
    cluster_scoped = {"PriorityClass"}
    for o in objs:
        where = f"{o['kind']}/{o['metadata']['name']}"
        if o["kind"] in cluster_scoped:
            assert "namespace" not in o["metadata"], where
        else:
            assert o["metadata"].get("namespace") == "agents-ns", where
    assert by_kind(objs, "ConfigMap")["extra-settings"]["metadata"]["namespace"] == "agents-ns"


HOOK_SPEC = """\
apiVersion: agentgen/v1
name: hooks
version: 0.1.0
agents:
  front:
    image: ghcr.io/acme/front:1
    ports: {http: 8080, admin: 9000}
    protocol: a2a
    health: {readiness: {path: /v1/card.json, port: admin}}
    talksTo: [sleepy, idle, busy]
  sleepy:
    image: ghcr.io/acme/sleepy:1
    port: 8080
    protocol: a2a
    talksTo: [busy]
    scaling:
      engine: keda
      minReplicas: 0
      maxReplicas: 3
      triggers: [{type: cron, metadata: {timezone: UTC, start: 0 8 * * *, end: 0 18 * * *, desiredReplicas: "1"}}]
  idle: {image: ghcr.io/acme/idle:1, port: 7000, replicas: 0}
  busy:
    image: ghcr.io/acme/busy:1
    port: 7000
    protocol: a2a
    health: {liveness: /healthz}
  legacy:
    image: ghcr.io/acme/legacy:1
    port: 8000
    protocol: a2a
    health: {readiness: {path: /.well-known/agent.json, scheme: HTTPS}}
  tcpready:
    image: ghcr.io/acme/tcpready:1
    ports: {grpc: 5000}
    protocol: a2a
    health: {readiness: {tcp: grpc}}
"""


def hook_checks(objs: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each `helm test` Job's checks (the arguments after the script), by Job name."""
    out = {}
    for o in objs:
        if (o["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test":
            assert o["kind"] == "Job"
            command = o["spec"]["template"]["spec"]["containers"][0]["command"]
            assert command[:2] == ["sh", "-c"] and command[3] == "check"
            out[o["metadata"]["name"]] = command[4:]
    return out


def test_helm_test_skips_agents_that_may_have_no_pods(tmp_path: Path, helm: Path) -> None:
    spec = tmp_path / "hooks.yaml"
    spec.write_text(HOOK_SPEC)
    objs = template(helm, generate(spec, tmp_path))
    assert by_kind(objs, "ScaledObject")["rel-sleepy"]["spec"]["minReplicaCount"] == 0
    assert by_kind(objs, "Deployment")["rel-idle"]["spec"]["replicas"] == 0
    checks = hook_checks(objs)
    front = checks["rel-front-test"]
    assert "tcp rel-busy 7000" in front
    assert not [c for c in front if c.startswith(("tcp rel-sleepy", "tcp rel-idle", "http http://rel-sleepy"))]
    assert [c for c in front if c.startswith("skip rel-sleepy")] and [c for c in front if c.startswith("skip rel-idle")]
    # the agent scaled to zero: its own ports and card are skipped, its calls are still checked
    sleepy = checks["rel-sleepy-test"]
    assert sleepy[0].startswith("skip rel-sleepy") and "tcp rel-busy 7000" in sleepy
    assert not [c for c in sleepy if c.startswith(("tcp rel-sleepy", "http"))]
    assert not [c for c in checks["rel-idle-test"] if c.startswith("tcp")]


def test_helm_test_fetches_the_card_where_readiness_reads_it(tmp_path: Path, helm: Path) -> None:
    spec = tmp_path / "hooks.yaml"
    spec.write_text(HOOK_SPEC)
    objs = template(helm, generate(spec, tmp_path))
    checks = hook_checks(objs)
    probes = {n: d["spec"]["template"]["spec"]["containers"][0].get("readinessProbe")
              for n, d in by_kind(objs, "Deployment").items()}
    assert probes["rel-front"] == {"httpGet": {"path": "/v1/card.json", "port": "admin"}}
    assert [c for c in checks["rel-front-test"] if c.startswith("http")] == ["http http://rel-front:9000/v1/card.json"]
    assert probes["rel-busy"]["httpGet"]["path"] == "/.well-known/agent-card.json"
    assert [c for c in checks["rel-busy-test"] if c.startswith("http")] == [
        "http http://rel-busy:7000/.well-known/agent-card.json"]
    assert probes["rel-legacy"]["httpGet"] == {"path": "/.well-known/agent.json", "port": "http", "scheme": "HTTPS"}
    assert [c for c in checks["rel-legacy-test"] if c.startswith("http")] == [
        "http https://rel-legacy:8000/.well-known/agent.json"]
    # readiness is not an HTTP probe: the default card path on the primary port
    assert [c for c in checks["rel-tcpready-test"] if c.startswith("http")] == [
        "http http://rel-tcpready:5000/.well-known/agent-card.json"]


def test_the_helm_test_script_prints_skips_and_passes(tmp_path: Path) -> None:
    import subprocess

    busybox = shutil.which("busybox")
    if not busybox:
        pytest.fail("busybox is not installed: run the tests with scripts/test.sh, which installs it")
    spec = tmp_path / "hooks.yaml"
    spec.write_text(HOOK_SPEC)
    from tests.conftest import helm_path

    objs = template(helm_path("4.3.1"), generate(spec, tmp_path))
    job = next(o for o in objs if o["metadata"]["name"] == "rel-sleepy-test")
    command = job["spec"]["template"]["spec"]["containers"][0]["command"]
    skip = next(c for c in command[4:] if c.startswith("skip"))
    proc = subprocess.run([busybox, "sh", "-c", command[2], "check", skip], capture_output=True, text=True,
                          timeout=30, env={"PATH": str(tmp_path)})
    assert proc.returncode == 0 and proc.stdout.strip() == skip, proc.stdout + proc.stderr


def test_helm_test_objects_never_take_an_agents_name(tmp_path: Path, helm: Path) -> None:
    """An agent `a-test` of kind Job would own the Job name `rel-a-test`, and an agent `tests` the
    NetworkPolicy name `rel-tests`: the helm test objects then take a hashed name instead."""
    spec = tmp_path / "names.yaml"
    spec.write_text("apiVersion: agentgen/v1\nname: names\nversion: 0.1.0\nagents:\n"
                    "  a: {image: ghcr.io/acme/a:1, port: 80}\n"
                    "  a-test: {image: ghcr.io/acme/t:1, kind: Job}\n"
                    "  tests: {image: ghcr.io/acme/s:1, port: 80}\n")
    objs = template(helm, generate(spec, tmp_path))
    for kind in ("Job", "NetworkPolicy"):
        names = [o["metadata"]["name"] for o in objs if o["kind"] == kind]
        assert len(names) == len(set(names)), names
    jobs = by_kind(objs, "Job")
    assert "annotations" not in jobs["rel-a-test"]["metadata"]  # the agent's own Job keeps its name
    assert set(hook_checks(objs)) == {n for n in jobs if n.startswith("rel-a-test-")} | {"rel-tests-test"}
    nps = by_kind(objs, "NetworkPolicy")
    assert nps["rel-tests"]["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == "tests"
    (test_np,) = [n for n in nps if n.startswith("rel-tests-")]
    assert nps[test_np]["spec"]["ingress"] == []
    assert_valid_objects(objs)
