"""Environment overrides of object fields: an override of an existing agent (and an environment's defaults)
may give a partial object, merged key by key over the spec's agent; the merged agent (or an agent that exists
only in the environment) must still have every required sub-field, reported where it was written."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.conftest import HELM_VERSIONS, by_kind, generate, helm_path, helmgen_cli, run_helm, template
from tests.crd import assert_crd_valid, is_custom

HEAD = """\
apiVersion: agentgen/v1
name: demo
version: 0.1.0
secrets:
  creds: {keys: [token]}
"""

Objs = list[dict[str, Any]]


def _container(objs: Objs, kind: str = "Deployment") -> dict[str, Any]:
    return by_kind(objs, kind)["rel-a"]["spec"]["template"]["spec"]["containers"][0]


def _state(objs: Objs) -> None:
    claim = by_kind(objs, "StatefulSet")["rel-a"]["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == "other"
    assert claim["resources"]["requests"]["storage"] == "1Gi"


def _scaling(objs: Objs) -> None:
    hpa = by_kind(objs, "HorizontalPodAutoscaler")["rel-a"]["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 4)


def _gateway(objs: Objs) -> None:
    route = by_kind(objs, "HTTPRoute")["rel-a"]["spec"]
    assert route["parentRefs"] == [{"name": "gw", "sectionName": "web"}]
    assert route["hostnames"] == ["a.example.org"]


def _config(objs: Objs) -> None:
    mounts = {m["name"]: m["mountPath"] for m in _container(objs)["volumeMounts"]}
    assert "/etc/other" in mounts.values()
    cm = by_kind(objs, "ConfigMap")["rel-a-config"]
    assert cm["data"] == {"a.txt": "hi"}


def _ports(objs: Objs) -> None:
    ports = {p["name"]: (p["containerPort"], p["protocol"]) for p in _container(objs)["ports"]}
    assert ports == {"http": (8080, "TCP"), "dns": (53, "TCP")}


def _gpu(objs: Objs) -> None:
    limits = _container(objs)["resources"]["limits"]
    assert limits.get("amd.com/gpu") == 1 and "nvidia.com/gpu" not in limits


def _secret_mount(objs: Objs) -> None:
    pod = by_kind(objs, "Deployment")["rel-a"]["spec"]["template"]
    assert "checksum/secret-creds" in pod["metadata"]["annotations"]
    mounts = {m["name"]: m["mountPath"] for m in pod["spec"]["containers"][0]["volumeMounts"]}
    assert mounts["secret-creds"] == "/var/creds"


# name: (the spec agent's fields, the override, its values-dev.yaml difference, the check on the rendered chart,
#        an environment-only agent's fields missing the required sub-field, the sub-field's path)
CASES: dict[str, tuple[str, str, dict[str, Any], Callable[[Objs], None], str, str]] = {
    "state.size": ("kind: StatefulSet\nport: 8080\nstate: {size: 1Gi}", "state: {storageClass: other}",
                   {"state": {"storageClass": "other"}}, _state,
                   "kind: StatefulSet\nport: 8080\nstate: {storageClass: other}", "state.size"),
    "scaling.maxReplicas": ("port: 8080\nscaling: {maxReplicas: 4}", "scaling: {minReplicas: 2}",
                            {"scaling": {"minReplicas": 2}}, _scaling,
                            "port: 8080\nscaling: {minReplicas: 2}", "scaling.maxReplicas"),
    "expose.gateway.name": ("port: 8080\nexpose: {host: a.example.org, gateway: {name: gw}}",
                            "expose: {gateway: {sectionName: web}}", {"expose": {"gateway": {"sectionName": "web"}}},
                            _gateway, "port: 8080\nexpose: {host: b.example.org, gateway: {sectionName: web}}",
                            "expose.gateway.name"),
    "config.files": ("port: 8080\nconfig: {files: {a.txt: hi}}", "config: {mountPath: /etc/other}",
                     {"config": {"mountPath": "/etc/other"}}, _config,
                     "port: 8080\nconfig: {mountPath: /etc/other}", "config.files"),
    "ports.P.port": ("ports: {http: 8080, dns: {port: 53, protocol: UDP}}", "ports: {dns: {protocol: TCP}}",
                     {"ports": {"dns": {"protocol": "TCP"}}}, _ports,
                     "ports: {http: 8080, dns: {protocol: TCP}}", "ports.dns.port"),
    "resources.gpu.count": ("port: 8080\nresources: {gpu: 1}", "resources: {gpu: {resource: amd.com/gpu}}",
                            {"resources": {"limits": {"amd.com/gpu": 1, "nvidia.com/gpu": None}}}, _gpu,
                            "port: 8080\nresources: {gpu: {resource: amd.com/gpu}}", "resources.gpu.count"),
    "secretMounts.S.mountPath": ("port: 8080\nsecretMounts: {creds: {mountPath: /var/creds}}",
                                 "secretMounts: {creds: {reload: restart}}",
                                 {"secretMounts": {"creds": {"reload": "restart"}}}, _secret_mount,
                                 "port: 8080\nsecretMounts: {creds: {reload: restart}}", "secretMounts.creds.mountPath"),
}


def _indent(text: str, n: int) -> str:
    return textwrap.indent(text, " " * n)


def _spec(agent: str, override: str) -> str:
    return (HEAD + "agents:\n  a:\n    image: ghcr.io/acme/a:1.0\n" + _indent(agent, 4) + "\n"
            + "environments:\n  dev:\n    agents:\n      a:\n" + _indent(override, 8) + "\n")


def _valid(objs: Objs) -> None:
    for obj in objs:
        if is_custom(obj):
            assert_crd_valid(obj)
        else:
            kubernetes_validate.validate(obj, "1.30.0", strict=True)


@pytest.mark.parametrize("helm_version", HELM_VERSIONS)
@pytest.mark.parametrize("case", CASES)
def test_a_partial_override_merges_over_the_agent(case: str, helm_version: str, tmp_path: Path) -> None:
    agent, override, difference, check, _, _ = CASES[case]
    spec = tmp_path / "spec.yaml"
    spec.write_text(_spec(agent, override))
    chart = generate(spec, tmp_path / "out")
    values = yaml.safe_load((chart / "values-dev.yaml").read_text())
    assert values == {"agents": {"a": difference}}  # only what differs
    helm = helm_path(helm_version)
    sets = ["--set", "secrets.creds.values.token=t"]
    run_helm(helm, "lint", "--strict", str(chart), "-f", str(chart / "values-dev.yaml"), *sets)
    objs = template(helm, chart, "-f", str(chart / "values-dev.yaml"))
    check(objs)
    _valid(objs)


@pytest.mark.parametrize("case", CASES)
def test_an_environment_only_agent_needs_every_required_sub_field(case: str, tmp_path: Path) -> None:
    _, _, _, _, only, field = CASES[case]
    text = (HEAD + "agents:\n  a:\n    image: ghcr.io/acme/a:1.0\n    port: 8080\n"
            + "environments:\n  dev:\n    agents:\n      b:\n        image: ghcr.io/acme/b:1.0\n"
            + _indent(only, 8) + "\n")
    (tmp_path / "spec.yaml").write_text(text)
    proc = helmgen_cli("generate", "spec.yaml", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()
    # placed at the object that lacks it: the nearest parent written in the override
    top = field.split(".")[0]
    lines = text.splitlines()
    line = next(i for i, s in enumerate(lines, 1) if s.startswith(f"        {top}:"))
    parent = field.rsplit(".", 1)[0].split(".")[-1]
    column = lines[line - 1].index(f"{parent}:") + 1 if parent != top else 9
    assert f"spec.yaml:{line}:{column}: environments.dev.agents.b.{field}: is required" in proc.stderr


def test_environment_defaults_take_a_partial_object_and_an_agent_without_it_is_a_positioned_error(
        tmp_path: Path) -> None:
    text = HEAD + textwrap.dedent("""\
        agents:
          a:
            image: ghcr.io/acme/a:1.0
            kind: StatefulSet
            port: 8080
            state: {size: 1Gi}
          b:
            image: ghcr.io/acme/b:1.0
            port: 8080
        environments:
          dev:
            defaults:
              state: {storageClass: other}
        """)
    (tmp_path / "spec.yaml").write_text(text)
    proc = helmgen_cli("generate", "spec.yaml", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 2
    assert "spec.yaml:18:7: environments.dev.agents.b.state.size: is required" in proc.stderr
    assert "agents.a" not in proc.stderr  # a has a size: the partial default merges over it
    assert not (tmp_path / "out").exists()


def test_environment_defaults_with_a_partial_object_render_the_merged_object(tmp_path: Path) -> None:
    text = _spec("kind: StatefulSet\nport: 8080\nstate: {size: 1Gi}", "replicas: 1").replace(
        "    agents:\n      a:\n", "    defaults:\n      state: {storageClass: other}\n    agents:\n      a:\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text(text)
    chart = generate(spec, tmp_path / "out")
    helm = helm_path(HELM_VERSIONS[0])
    objs = template(helm, chart, "-f", str(chart / "values-dev.yaml"))
    _state(objs)
    _valid(objs)


KEDA = ("port: 8080\nscaling: {engine: keda, maxReplicas: 4, triggers: [{type: cron, metadata: {timezone: UTC, "
        "start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: '2'}}]}")


def _keda(objs: Objs) -> None:
    scaled = by_kind(objs, "ScaledObject")["rel-a"]["spec"]
    assert scaled["maxReplicaCount"] == 9 and scaled["triggers"][0]["type"] == "cron"
    assert "HorizontalPodAutoscaler" not in {o["kind"] for o in objs}


def _udp(objs: Objs) -> None:
    ports = {p["name"]: (p["containerPort"], p["protocol"]) for p in _container(objs)["ports"]}
    assert ports["dns"] == (54, "UDP")


def _amd(objs: Objs) -> None:
    limits = _container(objs)["resources"]["limits"]
    assert limits.get("amd.com/gpu") == 2 and "nvidia.com/gpu" not in limits


# an override that gives a whole object still keeps what the agent sets and it does not: the defaults
# (engine hpa, protocol TCP, resource nvidia.com/gpu) are the merged agent's, not the override's
KEEPS: dict[str, tuple[str, str, dict[str, Any], Callable[[Objs], None]]] = {
    "scaling.engine": (KEDA, "scaling: {maxReplicas: 9}", {"scaling": {"maxReplicas": 9}}, _keda),
    "ports.P.protocol": ("ports: {http: 8080, dns: {port: 53, protocol: UDP}}", "ports: {dns: {port: 54}}",
                         {"ports": {"dns": {"port": 54}}}, _udp),
    "resources.gpu.resource": ("port: 8080\nresources: {gpu: {count: 1, resource: amd.com/gpu}}",
                               "resources: {gpu: {count: 2}}", {"resources": {"limits": {"amd.com/gpu": 2}}}, _amd),
}


@pytest.mark.parametrize("case", KEEPS)
def test_an_override_keeps_the_agents_settings_it_does_not_give(case: str, tmp_path: Path) -> None:
    agent, override, difference, check = KEEPS[case]
    spec = tmp_path / "spec.yaml"
    spec.write_text(_spec(agent, override))
    chart = generate(spec, tmp_path / "out")
    assert yaml.safe_load((chart / "values-dev.yaml").read_text()) == {"agents": {"a": difference}}
    helm = helm_path(HELM_VERSIONS[0])
    run_helm(helm, "lint", "--strict", str(chart), "-f", str(chart / "values-dev.yaml"),
             "--set", "secrets.creds.values.token=t")
    objs = template(helm, chart, "-f", str(chart / "values-dev.yaml"))
    check(objs)
    _valid(objs)


def test_the_merged_agent_follows_the_rules_an_override_leaves_to_it(tmp_path: Path) -> None:
    # engine keda given in the environment, over an agent whose scaling has no triggers
    text = _spec("port: 8080\nscaling: {maxReplicas: 4}", "scaling: {engine: keda}")
    (tmp_path / "spec.yaml").write_text(text)
    proc = helmgen_cli("generate", "spec.yaml", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 2
    assert "spec.yaml:15:9: environments.dev.agents.a.scaling.triggers: is required with engine keda" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


ROLLOUT = HEAD + textwrap.dedent("""\
    agents:
      a:
        image: ghcr.io/acme/a:1.0
        port: 8080
        replicas: 2
        config: {files: {p.yaml: "x: 1\\n"}}
        expose: {host: a.example.org, tls: {secretName: a-tls}}
        rollout:
          strategy: canary
          engine: argo
          canary: {tag: 1.1.0, config: {files: {p.yaml: "x: 2\\n"}}, steps: [{setWeight: 10}, {pause: {duration: 5m}}]}
          analysis: {prometheus: "http://prometheus.monitoring:9090", query: "sum(rate(x[2m]))", maxErrorRate: 0.01}
    environments:
      dev:
        agents:
          a:
            rollout: {analysis: {maxErrorRate: 0.05}, canary: {config: {files: {p.yaml: "x: 3\\n"}}}}
            expose: {tls: {}}
    """)


def test_partial_rollout_objects_merge_over_the_agent(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(ROLLOUT)
    chart = generate(spec, tmp_path / "out")
    assert yaml.safe_load((chart / "values-dev.yaml").read_text()) == {"agents": {"a": {"rollout": {
        "canary": {"config": {"files": {"p.yaml": "x: 3\n"}}}, "analysis": {"maxErrorRate": 0.05}}}}}
    helm = helm_path(HELM_VERSIONS[0])
    run_helm(helm, "lint", "--strict", str(chart), "-f", str(chart / "values-dev.yaml"),
             "--set", "secrets.creds.values.token=t")
    objs = template(helm, chart, "-f", str(chart / "values-dev.yaml"))
    metric = by_kind(objs, "AnalysisTemplate")["rel-a"]["spec"]["metrics"][0]
    assert metric["successCondition"] == "result[0] <= 0.05"
    assert metric["provider"]["prometheus"] == {"address": "http://prometheus.monitoring:9090",
                                                "query": "sum(rate(x[2m]))"}
    assert {"x: 1\n", "x: 3\n"} <= {o["data"]["p.yaml"] for o in objs if o["kind"] == "ConfigMap" and "data" in o
                                     and "p.yaml" in o["data"]}
    assert by_kind(objs, "Ingress")["rel-a"]["spec"]["tls"][0]["secretName"] == "a-tls"
    _valid(objs)


def test_an_environment_only_agent_needs_its_rollout_and_tls_required_fields(tmp_path: Path) -> None:
    text = ROLLOUT + textwrap.indent(textwrap.dedent("""\
        b:
          image: ghcr.io/acme/b:1.0
          port: 8080
          replicas: 2
          expose: {host: b.example.org, tls: {}}
          rollout:
            strategy: canary
            engine: argo
            canary: {tag: 1.1.0, config: {}, steps: [{setWeight: 10}]}
            analysis: {query: x, maxErrorRate: 0.1}
        """), "      ")
    (tmp_path / "spec.yaml").write_text(text)
    proc = helmgen_cli("generate", "spec.yaml", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and not (tmp_path / "out").exists()
    for expected in ("spec.yaml:28:39: environments.dev.agents.b.expose.tls.secretName: is required",
                     "spec.yaml:32:32: environments.dev.agents.b.rollout.canary.config.files: is required",
                     "spec.yaml:33:11: environments.dev.agents.b.rollout.analysis.prometheus: is required"):
        assert expected in proc.stderr
    assert "agents.a" not in proc.stderr


def test_the_published_schema_accepts_partial_overrides_and_still_requires_them_in_the_spec() -> None:
    import json

    import jsonschema

    from tests.conftest import ROOT

    schema = json.loads((ROOT / "schemas" / "agentgen-v1.schema.json").read_text())
    validator = jsonschema.Draft7Validator(schema)
    for agent, override, *_ in [*CASES.values(), *KEEPS.values()]:
        assert not list(validator.iter_errors(yaml.safe_load(_spec(agent, override)))), override
    assert not list(validator.iter_errors(yaml.safe_load(ROLLOUT)))
    # the spec's own agent stays whole
    assert list(validator.iter_errors(yaml.safe_load(_spec("state: {storageClass: other}", "replicas: 1"))))
