"""An agent added in a values file renders exactly as the same agent written in the spec, for every
feature an agent may use, alone and combined (issue #9): a chart whose spec has agent `x`, and a
chart whose spec lacks it plus a values file that adds it, render the same objects, field for field
(names, labels, selectors, pod templates, checksums, NetworkPolicies, Services, HPA/KEDA, PDB,
hooks, ConfigMaps, Secrets, custom resources)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import generate, template

HEAD = ("apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\nappVersion: '1.0.0'\n"
        "secrets:\n  llm-keys: {keys: [openai, anthropic]}\n")
DEPS = ("dependencies:\n  postgresql: {repository: oci://registry-1.docker.io/bitnamicharts, version: 16.4.x, "
        "port: 5432, values: {auth: {existingSecret: pg}}}\n")
BASE = "  base: {image: ghcr.io/acme/base:1, port: 8000}\n"

# id → (extra top-level YAML, agent x in the spec's words)
SHAPES: dict[str, tuple[str, str]] = {
    "deployment": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, replicas: 2}"),
    "cronjob": ("", "{image: ghcr.io/acme/x:1.0, schedule: '0 * * * *'}"),
    "statefulset": ("", "{image: ghcr.io/acme/x:1.0, port: 9000, state: {size: 1Gi}}"),
    "references": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, env: {B: '${agents.base.url}/v1', "
                       "H: '${self.host}', REL: '${release}-${namespace}'}, args: ['--peer=${agents.base.fqdn}']}"),
    "talksto-objects": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, "
                            "talksTo: [{agent: base, port: http, path: /api}]}"),
    "talksto": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, talksTo: [base]}"),
    "env-order": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, env: {Z: '1', A: '$(Z)/a', M: '$(A)/m'}}"),
    "env-secrets": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, env: {K: 'key=${secrets.llm-keys.openai}', "
                        "O: {secret: llm-keys, key: anthropic}}}"),
    "job-hook": ("", "{kind: Job, image: ghcr.io/acme/x:1.0, job: {hook: [pre-install, pre-upgrade], "
                     "hookWeight: -5}}"),
    "secret-mounts": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, secretMounts: {llm-keys: {mountPath: /etc/keys, "
                          "reload: restart}, tls: {mountPath: /etc/tls}}}"),
    "allow-from": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, allowFrom: [{namespaceSelector: {matchLabels: "
                       "{team: data}}}, {ipBlock: {cidr: 10.20.0.0/16}}]}"),
    "a2a": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, protocol: a2a, agentCard: /card.json}"),
    "rbac": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, rbac: {rules: [{apiGroups: [''], resources: [configmaps], "
                 "verbs: [get]}], clusterRules: [{apiGroups: [''], resources: [namespaces], verbs: [list]}]}}"),
    "monitoring": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, monitoring: {port: 9100, serviceMonitor: true}}"),
    "ingress": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, expose: {host: x.example.org, className: nginx, "
                    "tls: {secretName: x-tls}}}"),
    "gateway": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, expose: {gateway: {name: public, namespace: gw}, "
                    "host: x.example.org, path: /a2a}}"),
    "gpu": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, resources: {cpu: '1', memory: 4Gi, gpu: 1}}"),
    "scaling": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, scaling: {maxReplicas: 4}}"),
    "canary": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, replicas: 2, rollout: {strategy: canary, "
                   "canary: {tag: '1.1', weight: 10, env: {MODEL: m2}}}}"),
    "blue-green": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, rollout: {strategy: blueGreen, "
                       "blueGreen: {active: blue, blue: {tag: '1.0'}, green: {tag: '1.1'}}}}"),
    "argo-canary": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, rollout: {strategy: canary, engine: argo, "
                        "canary: {tag: '1.1', steps: [{setWeight: 10}, {pause: {}}]}}}"),
    "argo-blue-green": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, rollout: {strategy: blueGreen, engine: argo, "
                            "blueGreen: {active: green, blue: {tag: '1.0'}, green: {tag: '1.1'}}}}"),
    "dependency": (DEPS, "{image: ghcr.io/acme/x:1.0, port: 8080, talksTo: [postgresql]}"),
    "config": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, config: {files: {a.yaml: 'peer: ${agents.base.host}'}}}"),
    "combined": ("", "{image: ghcr.io/acme/x:1.0, ports: {http: 8080, grpc: 9090}, protocol: a2a, replicas: 3, "
                     "talksTo: [base], env: {A: '${agents.base.url}', B: '$(A)/v1', "
                     "K: '${secrets.llm-keys.openai}'}, secretMounts: {llm-keys: {mountPath: /etc/keys}}, "
                     "allowFrom: [{podSelector: {matchLabels: {app: etl}}}], monitoring: {port: grpc}, "
                     "expose: {host: x.example.org}, resources: {cpu: 500m, memory: 1Gi, gpu: 1}, "
                     "rbac: {clusterRules: [{apiGroups: [''], resources: [nodes], verbs: [list]}]}, "
                     "rollout: {strategy: canary, canary: {tag: '1.1', weight: 20}}, "
                     "config: {files: {p.txt: hello}}}"),
    "health": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, health: {liveness: /healthz, readiness: /ready}}"),
    "disruption": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, replicas: 3, disruption: {minAvailable: 2}}"),
    "keda": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, scaling: {engine: keda, maxReplicas: 5, "
                 "triggers: [{type: cron, metadata: {timezone: UTC, start: '0 8 * * *', end: '0 18 * * *', "
                 "desiredReplicas: '2'}}]}}"),
    "spec-defaults": ("defaults:\n  resources: {cpu: 200m, memory: 256Mi}\n  env: {LOG_LEVEL: info, Z: '$(LOG_LEVEL)'}\n",
                      "{image: ghcr.io/acme/x:1.0, port: 8080, env: {A: '1'}}"),
    "canary-config": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, config: {files: {p.txt: one}}, rollout: {strategy: canary, "
                          "canary: {tag: '1.1', weight: 50, config: {files: {p.txt: two}}, "
                          "env: {S: '${secrets.llm-keys.openai}'}}}}"),
    "monitoring-allow": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, monitoring: {port: http, allowFrom: "
                             "[{namespaceSelector: {matchLabels: {name: monitoring}}}]}}"),
    "image-bare": ("", "{image: ghcr.io/acme/x, port: 8080}"),
    "image-digest": ("", "{image: 'ghcr.io/acme/x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef', "
                         "port: 8080}"),
    "primary-not-first": ("", "{image: ghcr.io/acme/x:1.0, ports: {web: 8080, api: 9090}, protocol: a2a, replicas: 2, "
                              "expose: {host: x.example.org}, monitoring: {port: 9100}}"),
    "env-kinds": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, envFrom: [{configMap: extra}], "
                      "env: {P: {field: metadata.name}, M: {resource: limits.memory}, U: '$(P)-$$(Q)'}}"),
    "canary-env-order": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, env: {Z: '1', W: '$(Z)'}, rollout: {strategy: canary, "
                             "canary: {image: 'ghcr.io/acme/y:2', weight: 5, env: {Z: '2', A: '$(W)-c'}}}}"),
    "secret-mount-dots": ("", "{image: ghcr.io/acme/x:1.0, secretMounts: {my.tls.cert: {mountPath: /etc/c}}, "
                              "schedule: '@hourly', job: {timeZone: UTC, backoffLimit: 0}}"),
    "disabled": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, enabled: false, talksTo: [base]}"),
    "hook-secret": ("", "{kind: Job, image: ghcr.io/acme/x:1.0, job: {hook: [pre-install]}, "
                        "env: {K: {secret: llm-keys, key: openai}, U: 'k=${secrets.llm-keys.anthropic}'}, "
                        "secretMounts: {llm-keys: {mountPath: /etc/keys, reload: restart}}}"),
    "dependency-refs": (DEPS, "{image: ghcr.io/acme/x:1.0, port: 8080, talksTo: [{agent: postgresql, scheme: postgres, "
                              "path: /db}], env: {D: '${deps.postgresql.host}:${deps.postgresql.port}'}}"),
    "argo-analysis": ("", "{image: ghcr.io/acme/x:1.0, port: 8080, replicas: 2, rollout: {strategy: canary, engine: argo, "
                          "canary: {tag: '1.1', env: {M: m2}, steps: [{setWeight: 20}, {pause: {duration: 1m}}]}, "
                          "analysis: {prometheus: 'http://prom:9090', query: 'sum(x)', maxErrorRate: 0.01}}}"),
    "cronjob-caller": ("", "{image: ghcr.io/acme/x:1.0, schedule: '*/5 * * * *', env: {U: '${agents.base.url}/run'}, "
                           "talksTo: [base]}"),
    "combined-state": ("", "{image: ghcr.io/acme/x:1.0, port: 9000, state: {size: 2Gi, mountPath: /var/x}, talksTo: [base], "
                           "env: {A: '${self.url}'}, config: {files: {c: '${agents.base.port}'}}}"),
}

# Keys completeAgent (chart-skeleton/templates/_defaults.tpl) computes, so a values file leaves them out
# (kind only when the chart infers it: a Job must say so; envOrder only when the chart's own order is the same).
COMPUTED = ("health", "disruption")  # left out unless the spec agent gives them


def _chart(tmp_path: Path, name: str, top: str, agents: str) -> Path:
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(HEAD + top + "agents:\n" + BASE + agents)
    return generate(spec, tmp_path / name)


def _empty(v: Any) -> bool:
    return v is None or v == "" or v == {} or v == []


def _strip(v: Any, default: Any) -> Any:
    """v without what equals default, and without empty values: what a user writes."""
    if isinstance(v, dict):
        d = default if isinstance(default, dict) else {}
        out = {}
        for k, x in v.items():
            if k in d and x == d[k]:
                continue
            y = _strip(x, d.get(k))
            if not _empty(y):
                out[k] = y
        return out
    return v


def values_form(chart: Path, name: str, given: str = "") -> dict[str, Any]:
    """The values a user adds agent `name` with: the generated values of the spec agent, less the
    agentDefaults, the values the chart computes, empty values and default-valued details."""
    values = yaml.safe_load((chart / "values.yaml").read_text())
    a = dict(values["agents"][name])
    for k in COMPUTED:
        if f"{k}:" not in given:
            a.pop(k, None)
    if a.get("kind") != "Job":
        a.pop("kind", None)
    if a.get("envOrder") == _values_order(a.get("env") or {}):
        a.pop("envOrder", None)
    res = a.get("resources") or {}
    if res.get("limits") == res.get("requests"):
        res.pop("limits", None)
    a = _strip(a, values.get("agentDefaults") or {})
    for p in (a.get("ports") or {}).values():
        if p.get("protocol") == "TCP":
            del p["protocol"]
    if a.get("enabled") is True:
        del a["enabled"]
    _drop_details(a, name)
    return a


# Details of a field that helmgen writes into values.yaml and the chart fills the same way when a
# values file leaves them out: (field, detail) → its default.
DETAILS: dict[tuple[str, str], Any] = {
    ("job", "backoffLimit"): 3, ("job", "concurrencyPolicy"): "Forbid",
    ("expose", "path"): "/", ("expose", "pathType"): "Prefix",
    ("monitoring", "path"): "/metrics", ("monitoring", "serviceMonitor"): False,
    ("config", "reload"): "restart",
    ("state", "accessModes"): ["ReadWriteOnce"], ("state", "mountPath"): "/data", ("state", "retain"): True,
    ("scaling", "engine"): "hpa", ("scaling", "minReplicas"): 1, ("scaling", "cpu"): 80,
}


def _drop_details(a: dict[str, Any], name: str) -> None:
    """Leaves out of agent values `a` what a user need not write: default-valued details."""
    for (field, detail), default in DETAILS.items():
        if isinstance(a.get(field), dict) and a[field].get(detail) == default:
            del a[field][detail]
    if a.get("replicas") == 1:
        del a["replicas"]
    if a.get("ports") and a.get("primaryPort") == sorted(a["ports"])[0]:
        del a["primaryPort"]
    if isinstance(a.get("expose"), dict) and a["expose"].get("port") == a.get("primaryPort", sorted(a["ports"])[0]):
        del a["expose"]["port"]
    if isinstance(a.get("config"), dict) and a["config"].get("mountPath") == f"/etc/{name}":
        del a["config"]["mountPath"]
    for m in (a.get("secretMounts") or {}).values():
        if m.get("reload") == "live":
            del m["reload"]
    if a.get("state") and a.get("service") == {"type": "None"}:
        del a["service"]


def _values_order(env: dict[str, Any]) -> list[str]:
    """The order the chart gives variables no envOrder lists: name order, each held back until the
    variables it uses through $(NAME) are placed."""
    import re

    uses = {n: set(re.findall(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)", str((v or {}).get("value", "")))) & set(env)
            for n, v in env.items()}
    order: list[str] = []
    while len(order) < len(env):
        ready = [n for n in sorted(env) if n not in order and uses[n] <= set(order)]
        order.append(ready[0] if ready else sorted(set(env) - set(order))[0])
    return order


def _key(o: dict[str, Any]) -> tuple[str, str]:
    return o["kind"], o["metadata"]["name"]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_values_file_agent_renders_as_spec_agent(tmp_path: Path, helm: Path, shape: str) -> None:
    top, agent = SHAPES[shape]
    in_spec = _chart(tmp_path, "in-spec", top, f"  x: {agent}\n")
    without = _chart(tmp_path, "without", top, "")
    values = tmp_path / "x.yaml"
    values.write_text(yaml.safe_dump({"agents": {"x": values_form(in_spec, "x", agent)}}))
    want = {_key(o): o for o in template(helm, in_spec)}
    got = {_key(o): o for o in template(helm, without, "-f", str(values))}
    assert sorted(got) == sorted(want), (set(got) ^ set(want), values.read_text())
    diffs = {k: _diff(got[k], want[k]) for k in want if got[k] != want[k]}
    assert not diffs, (diffs, values.read_text())


def _diff(got: Any, want: Any, path: str = "") -> list[str]:
    """The paths where got and want differ, with both values."""
    if isinstance(got, dict) and isinstance(want, dict):
        return [d for k in sorted(set(got) | set(want), key=str)
                for d in _diff(got.get(k), want.get(k), f"{path}.{k}")]
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True)) for d in _diff(g, w, f"{path}[{i}]")]
    return [] if got == want else [f"{path}: values file {got!r} != spec {want!r}"]


# Agents a values file writes in its own words where the spec's generated values differ: id → (the
# agent in the spec, the same agent in a values file).
WRITTEN: dict[str, tuple[str, dict[str, Any]]] = {
    # a metrics port number the agent does not serve: a port `metrics` is added, as in the spec
    "monitoring-new-port": ("{image: ghcr.io/acme/x:1.0, port: 8080, monitoring: {port: 9100, serviceMonitor: true}}",
                            {"ports": {"http": {"port": 8080}}, "monitoring": {"port": 9100, "serviceMonitor": True}}),
    "monitoring-new-port-scrape": ("{image: ghcr.io/acme/x:1.0, port: 8080, monitoring: {port: 9100}}",
                                   {"ports": {"http": {"port": 8080}}, "monitoring": {"port": 9100}}),
    # a number one of its ports serves means that port
    "monitoring-port-number": ("{image: ghcr.io/acme/x:1.0, ports: {http: 8080, admin: 9090}, "
                               "monitoring: {port: 9090, serviceMonitor: true}}",
                               {"ports": {"http": {"port": 8080}, "admin": {"port": 9090}}, "primaryPort": "http",
                                "monitoring": {"port": 9090, "serviceMonitor": True}}),
    # no port: the primary port
    "monitoring-no-port": ("{image: ghcr.io/acme/x:1.0, ports: {web: 8080, api: 9090}, monitoring: {serviceMonitor: true}}",
                           {"ports": {"web": {"port": 8080}, "api": {"port": 9090}}, "primaryPort": "web",
                            "monitoring": {"serviceMonitor": True}}),
    "monitoring-only-port": ("{image: ghcr.io/acme/x:1.0, monitoring: {port: 9100}}",
                             {"monitoring": {"port": 9100}}),
    "resources-partial": ("{image: ghcr.io/acme/x:1.0, port: 8080, resources: {requests: {cpu: 500m}, limits: {memory: 1Gi}}}",
                          {"ports": {"http": {"port": 8080}},
                           "resources": {"requests": {"cpu": "500m"}, "limits": {"memory": "1Gi"}}}),
    "resources-gpu-only": ("{image: ghcr.io/acme/x:1.0, port: 8080, resources: {gpu: 2}}",
                           {"ports": {"http": {"port": 8080}}, "resources": {"limits": {"nvidia.com/gpu": 2}}}),
    # an a2a agent whose health names no readiness probe gets one on its agent card
    "a2a-liveness-only": ("{image: ghcr.io/acme/x:1.0, port: 8080, protocol: a2a, health: {liveness: /livez}}",
                          {"ports": {"http": {"port": 8080}}, "protocol": "a2a",
                           "health": {"liveness": {"httpGet": {"path": "/livez", "port": "http"}}}}),
    "a2a-health-false": ("{image: ghcr.io/acme/x:1.0, port: 8080, protocol: a2a, health: false}",
                         {"ports": {"http": {"port": 8080}}, "protocol": "a2a",
                          "health": {"liveness": None, "readiness": None, "startup": None}}),
    "argo-defaults": ("{image: ghcr.io/acme/x:1.0, port: 8080, rollout: {strategy: canary, engine: argo, canary: {tag: '1.1'}}}",
                      {"ports": {"http": {"port": 8080}},
                       "rollout": {"strategy": "canary", "engine": "argo", "canary": {"tag": "1.1"}}}),
    "talksto-object-defaults": ("{image: ghcr.io/acme/x:1.0, talksTo: [{agent: base}]}", {"talksTo": [{"agent": "base"}]}),
    "keda-defaults": ("{image: ghcr.io/acme/x:1.0, port: 8080, scaling: {engine: keda, maxReplicas: 3, "
                      "triggers: [{type: cpu, metricType: Utilization, metadata: {value: '60'}}]}}",
                      {"ports": {"http": {"port": 8080}}, "scaling": {"engine": "keda", "maxReplicas": 3, "triggers": [
                          {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "60"}}]}}),
    # an expose port given by number means the port serving it
    "expose-port-number": ("{image: ghcr.io/acme/x:1.0, ports: {http: 8080, admin: 9090}, "
                           "expose: {host: x.example.org, port: 9090}}",
                           {"ports": {"http": {"port": 8080}, "admin": {"port": 9090}}, "primaryPort": "http",
                            "expose": {"host": "x.example.org", "port": 9090}}),
    "gateway-port-number": ("{image: ghcr.io/acme/x:1.0, ports: {web: 8080, admin: 9090}, "
                            "expose: {gateway: {name: gw}, port: 9090}}",
                            {"ports": {"web": {"port": 8080}, "admin": {"port": 9090}}, "primaryPort": "web",
                             "expose": {"gateway": {"name": "gw"}, "port": 9090}}),
    "expose-no-port": ("{image: ghcr.io/acme/x:1.0, ports: {web: 8080, admin: 9090}, expose: {host: x.example.org}}",
                       {"ports": {"web": {"port": 8080}, "admin": {"port": 9090}}, "primaryPort": "web",
                        "expose": {"host": "x.example.org"}}),
}


@pytest.mark.parametrize("shape", sorted(WRITTEN))
def test_values_file_agent_in_its_own_words(tmp_path: Path, helm: Path, shape: str) -> None:
    agent, form = WRITTEN[shape]
    in_spec = _chart(tmp_path, "in-spec", "", f"  x: {agent}\n")
    without = _chart(tmp_path, "without", "", "")
    values = tmp_path / "x.yaml"
    values.write_text(yaml.safe_dump({"agents": {"x": {"image": {"repository": "ghcr.io/acme/x", "tag": "1.0"}, **form}}}))
    want = {_key(o): o for o in template(helm, in_spec)}
    got = {_key(o): o for o in template(helm, without, "-f", str(values))}
    assert sorted(got) == sorted(want), set(got) ^ set(want)
    diffs = {k: _diff(got[k], want[k]) for k in want if got[k] != want[k]}
    assert not diffs
