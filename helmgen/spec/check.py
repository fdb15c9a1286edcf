"""Check a positioned tree against spec v1 and build the normalised model.

All problems are collected before anything is returned: the caller gets either every
problem in the file or a model that later stages can trust.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from helmgen.problems import SpecError
from helmgen.spec.dependencies import build_dependencies, environment_dependencies, talks_to_dependency
from helmgen.spec.fields import IMAGE_TAG, quantity_value, spec_type
from helmgen.spec.load import Node, load_file
from helmgen.spec.model import DEFAULT_REQUESTS, POD_FIELDS, Agent, Spec
from helmgen.spec import runtime
from helmgen.spec.risks import agent_warnings, manifest_warnings
from helmgen.spec.rollout import check_rollout
from helmgen.spec.types import INVALID, Ctx

A2A_CARD = "/.well-known/agent-card.json"
CRON_ONLY = ("concurrencyPolicy", "timeZone", "successfulJobsHistoryLimit", "failedJobsHistoryLimit",
             "startingDeadlineSeconds", "suspend")
RAISE_IN_PARTIAL_CHECK = False  # tests set it: a crash on a partial spec would hide problems silently
SELECTOR_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component")


def quantity(text: str) -> Decimal:
    """The value of a quantity the checker has accepted (so it is one, and within bounds)."""
    return quantity_value(text) or Decimal(0)


def deep_merge(base: Any, over: Any) -> Any:
    """The agent wins; mappings merge key by key, anything else is replaced whole."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = deep_merge(base[k], v) if k in base else v
        return out
    return copy.deepcopy(over)


def load_spec(path: str) -> Spec:
    root = load_file(path)
    return check_tree(root, str(path))


def check_tree(root: Node, filename: str) -> Spec:
    ctx = Ctx()
    ctx.problems.extend(getattr(root, "parse_problems", ()))  # the YAML reader's: the fields are checked too
    value = spec_type().check(root, "", ctx)
    if ctx.problems or value is INVALID:
        partial = _partial_spec(root, ctx)
        if partial is not None:
            try:
                _build(partial, ctx)  # the cross-field checks on what is valid: every problem at once
            except Exception:  # noqa: BLE001 - the problems found so far are what matters
                if RAISE_IN_PARTIAL_CHECK:
                    raise
        raise SpecError(filename, ctx.problems, ctx.warnings)
    spec = _build(value, ctx)
    if ctx.problems:
        raise SpecError(filename, ctx.problems, ctx.warnings)
    spec.warnings = sorted(ctx.warnings)
    spec.digest = getattr(root, "source_digest", "")
    return spec


# fields whose valid part is checked further when some of their items have problems
PARTIAL_FIELDS = ("talksTo", "volumes", "volumeMounts", "initContainers", "sidecars", "env")
_KIND = {"kind", "schedule", "state"}
_PORTS = {"port", "ports"}
# what each field's cross-field checks read besides the field itself: a check is skipped when one
# of these has a problem of its own (reported where it was written), so it causes no follow-on
DEPENDS: dict[str, set[str]] = {
    "state": _KIND, "schedule": _KIND, "job": _KIND, "scaling": _KIND, "replicas": _KIND, "rollout": _KIND | {"image", "env", "config"},
    "disruption": _KIND | {"scaling", "replicas"}, "expose": _KIND | _PORTS, "service": _KIND | _PORTS,
    "health": _KIND | _PORTS, "protocol": _KIND | _PORTS | {"health"}, "monitoring": _KIND | _PORTS,
    "rbac": {"serviceAccount"}, "volumes": {"config", "state"}, "volumeMounts": {"config", "state", "volumes"},
    "config": {"state"}, "initContainers": {"sidecars"}, "sidecars": {"initContainers"},
}


def _meta(d: dict[str, Any]) -> tuple[dict[str, Any], set[str], set[str]]:
    """A (partial) agent without its bookkeeping: the fields with problems, the fields checked in part."""
    d = dict(d)
    return d, set(d.pop("_bad", ())), set(d.pop("_partial", ()))


def _partial_agent(ctx: Ctx, path: str) -> dict[str, Any] | None:
    """The valid fields of an agent (or defaults) with problems, normalised as `_agent_post` would."""
    part = ctx.partials.get(path)
    if not isinstance(part, dict):
        return None
    a = dict(part)
    bad = set(ctx.bad.get(path, ()))
    partial: set[str] = set()
    for f in sorted(bad & set(PARTIAL_FIELDS)):
        valid = ctx.partials.get(f"{path}.{f}")
        if isinstance(valid, (list, dict)):
            a[f] = valid
            bad.discard(f)
            partial.add(f)
    if "port" in a:
        port = a.pop("port")
        if "ports" not in a and "ports" not in bad:
            a["ports"] = {"http": {"port": port, "protocol": "TCP"}}
    if isinstance(a.get("ports"), dict):
        a["ports"] = {k: p if isinstance(p, dict) else {"port": p, "protocol": "TCP"} for k, p in a["ports"].items()}
    a["_bad"], a["_partial"] = bad, partial
    return a


def _partial_override(ctx: Ctx, path: str) -> dict[str, Any] | None:
    part = ctx.partials.get(path)
    if not isinstance(part, dict) or "set" not in part:
        return None
    ctx.partials[path + "#set"] = part["set"]
    ctx.bad[path + "#set"] = ctx.bad.get(path, set())
    for f in PARTIAL_FIELDS:
        if f"{path}.{f}" in ctx.partials:
            ctx.partials[f"{path}#set.{f}"] = ctx.partials[f"{path}.{f}"]
    return {"set": _partial_agent(ctx, path + "#set") or {}, "unset": part["unset"]}


def _partial_spec(root: Node, ctx: Ctx) -> dict[str, Any] | None:
    """The valid part of a spec with problems, or None when too little is valid to check further.

    An agent with problems of its own is checked on its valid fields: a cross-field check is skipped
    only when it reads a field with a problem (see DEPENDS), and so is a reference to an agent whose
    value is not a mapping at all. Each problem is reported once, where it was written, and causes
    no follow-on problems elsewhere."""
    from helmgen.spec.load import Mapping

    top = ctx.partials.get("")
    if top is None or not isinstance(root, Mapping):
        return None
    valid = top.get("agents", ctx.partials.get("agents", {}))
    agents_node = root.items.get("agents", (None, None))[1]
    all_agents = list(agents_node.items) if isinstance(agents_node, Mapping) else list(valid)
    agents: dict[str, Any] = {}
    for name in all_agents:
        a = valid[name] if name in valid else _partial_agent(ctx, f"agents.{name}")
        if a is not None:
            agents[name] = a
    if not agents:
        return None
    defaults = top.get("defaults")
    if defaults is None:
        defaults = _partial_agent(ctx, "defaults") or {}
    v = {"version": "0.0.0", **top, "agents": agents, "defaults": defaults,
         "secrets": top.get("secrets", ctx.partials.get("secrets", {})),
         "environments": _partial_environments(root, top, ctx),
         "_all_agents": all_agents, "_invalid_agents": {n for n in all_agents if n not in agents}}
    return v


def _partial_environments(root: Node, top: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    """The environments, each with the valid part of its defaults and agent overrides; `_invalid`
    names the overrides that are not mappings at all."""
    from helmgen.spec.load import Mapping

    envs = dict(top.get("environments", ctx.partials.get("environments", {})))
    envs_node = root.items["environments"][1] if isinstance(root, Mapping) and "environments" in root.items else None
    if not isinstance(envs_node, Mapping):
        return envs
    for name, (_, env_node) in envs_node.items.items():
        part = ctx.partials.get(f"environments.{name}")
        if name in envs or part is None or not isinstance(env_node, Mapping):
            continue
        env = dict(part)
        if "defaults" in env_node.items and "defaults" not in part:
            d = _partial_override(ctx, f"environments.{name}.defaults")
            if d is None:
                continue  # not a mapping: every agent of the environment would inherit the problem
            env["defaults"] = d
        overrides = dict(part.get("agents", ctx.partials.get(f"environments.{name}.agents", {})))
        agents_node = env_node.items.get("agents", (None, None))[1]
        written = set(agents_node.items) if isinstance(agents_node, Mapping) else set()
        for agent in sorted(written - set(overrides)):
            o = _partial_override(ctx, f"environments.{name}.agents.{agent}")
            if o is not None:
                overrides[agent] = o
        envs[name] = {**env, "agents": overrides, "_invalid": written - set(overrides)}
    return envs


class _AgentChecker:
    def __init__(self, ctx: Ctx, name: str, raw: dict[str, Any], spec: dict[str, Any], where: str = "") -> None:
        self.ctx = ctx
        self.name = name
        self.raw = raw
        self.spec = spec
        self.where = where  # "environments.<env>." when checking an environment's view of the agent
        self.base = f"{where}agents.{name}"
        self.bad: set[str] = set(raw.get("_bad", ()))  # fields with problems of their own
        self.partial: set[str] = set(raw.get("_partial", ()))  # fields of which only the valid part is here

    def follows_a_problem(self, field: str) -> bool:
        """Whether `field` depends on a field that has a problem of its own (reported where it was written)."""
        top = field.split(".")[0].split("[")[0]
        return bool(self.bad & (DEPENDS.get(top, set()) | {top}))

    def err(self, field: str, message: str, hint: str = "") -> None:
        if self.follows_a_problem(field):
            return
        path = f"{self.base}.{field}" if field else self.base
        # where the value was written: the environment's override, the agent's own line, the
        # environment's defaults or the spec's defaults; else the nearest parent
        pos = self._where(field) or self.ctx.at(path, f"agents.{self.name}")
        self.ctx.err(pos, path, message, hint)

    def _where(self, field: str) -> tuple[int, int] | None:
        """Where `field` (or its nearest written parent) was written, searched in the places it can come from."""
        import re

        while field:
            for p in (f"{self.base}.{field}", f"agents.{self.name}.{field}", f"{self.where}defaults.{field}",
                      f"defaults.{field}"):
                if p in self.ctx.pos:
                    return self.ctx.pos[p]
            field = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", field) if re.search(r"(\.[^.\[]+|\[\d+\])$", field) else ""
        return None

    def warn(self, field: str, message: str, hint: str = "") -> None:
        path = f"{self.base}.{field}"
        candidates = [path, f"agents.{self.name}.{field}", f"{self.where}defaults.{field}", f"defaults.{field}"]
        exact = [p for p in candidates if p in self.ctx.pos]
        if exact and "defaults." in exact[0]:  # said once, where every agent inherits it from
            path = exact[0]
        self.ctx.warn(self.ctx.pos[exact[0]] if exact else self.ctx.at(path, f"agents.{self.name}"), path, message, hint)

    def port_ref(self, ports: dict[str, Any], ref: Any, field: str) -> bool:
        if isinstance(ref, int):
            return True
        if ref not in ports:
            self.err(field, f"names port {ref!r}, which the agent does not have",
                     "ports: " + ", ".join(ports) if ports else "the agent has no ports")
            return False
        return True

    def probe(self, p: dict[str, Any] | None, ports: dict[str, Any], field: str) -> dict[str, Any] | None:
        if p is None:
            return None
        timings = {k: v for k, v in p.items() if k not in ("path", "port", "scheme", "tcp", "grpc", "exec")}
        if "path" in p:
            port = p.get("port") or next(iter(ports), None)
            if port is None:
                self.err(field, "an HTTP probe needs a port", "give the agent a port or the probe a port")
                return None
            self.port_ref(ports, port, field + ".port")
            http: dict[str, Any] = {"path": p["path"], "port": port}
            if "scheme" in p:
                http["scheme"] = p["scheme"]
            return {"httpGet": http, **timings}
        if "tcp" in p:
            self.port_ref(ports, p["tcp"], field + ".tcp")
            return {"tcpSocket": {"port": p["tcp"]}, **timings}
        if "grpc" in p:
            return {"grpc": {"port": p["grpc"]}, **timings}
        return {"exec": {"command": list(p["exec"])}, **timings}

    def _name(self, field: str, name: Any, what: str) -> bool:
        """A pass-through object's `name`: a DNS-1123 label, as Kubernetes requires of volumes and containers."""
        import re

        if name is None:
            self.err(field, "is required", f"every {what} needs a name")
        elif not isinstance(name, str):
            got = ("a list" if isinstance(name, list) else "a mapping" if isinstance(name, dict)
                   else f"the boolean {str(name).lower()}" if isinstance(name, bool) else f"the number {name}")
            self.err(field, f"expected a {what} name (a string), got {got}")
        elif len(name) > 63 or not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name):
            self.err(field, f"{name[:70]!r} is not a valid {what} name",
                     "a DNS-1123 label: at most 63 lowercase letters, digits and '-'")
        else:
            return True
        return False

    def pass_through(self, pod: dict[str, Any], a: dict[str, Any]) -> None:
        """The pass-through Kubernetes fields against what the chart adds itself."""
        config_path = (a.get("config") or {}).get("mountPath", f"/etc/{self.name}") if a.get("config") else None
        state_path = (a.get("state") or {}).get("mountPath", "/data") if a.get("state") else None
        norm = {p: (p.rstrip("/") or "/") for p in (config_path, state_path) if p}
        if config_path and norm[config_path] == "/tmp":
            self.err("config.mountPath", f"{config_path!r} is where the chart mounts the writable /tmp",
                     "mount the config files at another path")
        if state_path and norm[state_path] == "/tmp":
            self.err("state.mountPath", f"{state_path!r} is where the chart mounts the writable /tmp",
                     "mount the state volume at another path")
        if config_path and state_path and norm[config_path] == norm[state_path]:
            self.err("config.mountPath", f"{config_path!r} is also state.mountPath",
                     "the config files and the state volume need two paths")
        chart_volumes = {"tmp": "the writable /tmp"}
        if config_path:
            chart_volumes["config"] = "config.files"
        if state_path:
            chart_volumes["data"] = "state"
        seen: set[str] = set()
        for i, vol in enumerate(pod.get("volumes", [])):
            if not isinstance(vol, dict):
                continue
            name = vol.get("name")
            if not self._name(f"volumes[{i}].name", name, "volume"):
                continue
            if name in chart_volumes:
                self.err(f"volumes[{i}].name", f"{name!r} is the name of the chart's own volume for {chart_volumes[name]}",
                         "give your volume another name")
            elif name in seen:
                self.err(f"volumes[{i}].name", f"{name!r} is listed twice")
            seen.add(name)
        chart_paths = {"/tmp": "the writable /tmp"}
        if config_path:
            chart_paths[config_path.rstrip("/") or "/"] = "the config files (config.mountPath)"
        if state_path:
            chart_paths[state_path.rstrip("/") or "/"] = "the state volume (state.mountPath)"
        mounted: set[str] = set()
        complete = "volumes" not in self.partial  # a volume with problems may be the one a mount names
        for i, mount in enumerate(pod.get("volumeMounts", [])):
            if not isinstance(mount, dict):
                continue
            path = mount.get("mountPath")
            if path is None:
                self.err(f"volumeMounts[{i}].mountPath", "is required")
            elif not isinstance(path, str):
                self.err(f"volumeMounts[{i}].mountPath", "expected a path (a string)")
            else:
                where = chart_paths.get(path.rstrip("/") or "/")
                if where:
                    self.err(f"volumeMounts[{i}].mountPath", f"{path!r} is where the chart mounts {where}",
                             "mount your volume at another path")
                elif (path.rstrip("/") or "/") in mounted:
                    self.err(f"volumeMounts[{i}].mountPath", f"{path!r} is mounted twice")
                mounted.add(path.rstrip("/") or "/")
            name = mount.get("name")
            if name is None:
                self.err(f"volumeMounts[{i}].name", "is required", "the name of one of the pod's volumes")
            elif not isinstance(name, str):
                self.err(f"volumeMounts[{i}].name", "expected a volume name (a string)")
            elif name not in seen and name not in chart_volumes and complete:
                import difflib

                known = sorted(seen | set(chart_volumes))
                close = difflib.get_close_matches(name, known, n=1)
                self.err(f"volumeMounts[{i}].name", f"names volume {name!r}, which the pod does not have",
                         f'did you mean "{close[0]}"?' if close else "volumes: " + ", ".join(known))
        containers = {self.name: "the agent's own container"}  # one namespace for init containers and containers
        for field in ("initContainers", "sidecars"):
            for i, c in enumerate(pod.get(field, [])):
                if not isinstance(c, dict) or not self._name(f"{field}[{i}].name", c.get("name"), "container"):
                    continue
                if c["name"] in containers:
                    self.err(f"{field}[{i}].name", f"{c['name']!r} is already the name of {containers[c['name']]}",
                             "init containers, sidecars and the agent's container share one set of names")
                containers.setdefault(c["name"], f"{field}[{i}]")
        for i, t in enumerate(pod.get("tolerations", [])):
            if not isinstance(t, dict):
                self.err(f"tolerations[{i}]", "expected a toleration (a mapping)",
                         "for example {key: dedicated, operator: Exists, effect: NoSchedule}")
        for field in ("securityContext", "podSecurityContext"):
            for key in ("hostNetwork", "hostPID", "hostIPC"):
                if key in (a.get(field) or {}):
                    self.err(f"{field}.{key}", f"is not a {field} field",
                             f"{key} is a field of the pod, which the chart does not set; a pod that needs it "
                             "comes in through extraManifests")
            for key, value in (a.get(field) or {}).items():
                if isinstance(value, dict) and any(v is None for v in value.values()):
                    self.err(f"{field}.{key}", "null removes a whole field of the secure defaults, not part of one",
                             f"set {key}: null, or give {key} in full")

    def build(self) -> Agent | None:
        a = self.raw
        n0 = len(self.ctx.problems)
        kind = a.get("kind") or ("StatefulSet" if "state" in a else "CronJob" if "schedule" in a else "Deployment")
        long_running = kind in ("Deployment", "StatefulSet")
        ports: dict[str, Any] = a.get("ports", {})
        if "state" in a and kind != "StatefulSet":
            self.err("state", f"needs kind StatefulSet, not {kind}", "drop kind or set it to StatefulSet")
        if kind == "CronJob" and "schedule" not in a:
            self.err("schedule", "is required for a CronJob", "for example '0 * * * *'")
        if "schedule" in a and kind != "CronJob":
            self.err("schedule", f"applies to a CronJob, not to a {kind}")
        if "job" in a and long_running:
            self.err("job", f"applies to a Job or CronJob, not to a {kind}")
        for f in ("scaling", "disruption", "replicas", "expose", "rollout"):
            if f in a and not long_running and a[f] is not False:
                self.err(f, f"applies to a Deployment or StatefulSet, not to a {kind}")
        service = {"type": "ClusterIP", "annotations": {}, **a.get("service", {})}
        if kind == "StatefulSet" and service["type"] not in ("ClusterIP", "None"):
            self.err("service.type", f"{service['type']} is not possible for a StatefulSet",
                     "a StatefulSet's Service is headless (its governing Service)")
        if kind == "StatefulSet":
            service["type"] = "None"
        if "service" in a and not ports and kind != "StatefulSet":
            self.err("service", "the agent has no ports, so it has no Service", "add port or ports")

        # scaling and replicas
        scaling = a.get("scaling") or None  # `scaling: false` turns off a scaling inherited from defaults
        if scaling:
            scaling = dict(scaling)
            scaling.setdefault("minReplicas", 1)
            if scaling["minReplicas"] > scaling["maxReplicas"]:
                self.err("scaling.minReplicas", f"{scaling['minReplicas']} is greater than maxReplicas "
                                                f"({scaling['maxReplicas']})")
            if scaling["engine"] == "hpa" and scaling["minReplicas"] < 1:
                self.err("scaling.minReplicas", "0 needs engine: keda", "the HPA scales down to 1 at least")
            if scaling["engine"] == "hpa" and not any(k in scaling for k in ("cpu", "memory", "metrics")):
                scaling["cpu"] = 80
        replicas = a.get("replicas", 1)
        max_pods = scaling["maxReplicas"] if scaling else replicas
        disruption = a.get("disruption")
        if disruption is False or not long_running:
            disruption = None
        elif disruption is None and max_pods > 1:
            disruption = {"maxUnavailable": 1}
        disruption = _int_or_percent(disruption)

        # resources: requests default, limits default to the requests (Guaranteed QoS)
        res = a.get("resources", {})
        requests = {**DEFAULT_REQUESTS, **res.get("requests", {})}
        limits = {**requests, **res.get("limits", {})}
        for k in set(requests) & set(limits):
            if quantity(limits[k]) < quantity(requests[k]):
                self.err(f"resources.limits.{k}", f"{limits[k]} is less than the request {requests[k]}")
        gpu = res.get("gpu")
        if gpu and gpu.get("count", 0) > 0:  # an environment's `resource: null` goes back to the default
            limits[gpu.get("resource", "nvidia.com/gpu")] = gpu["count"]

        # probes
        health_in = a.get("health")
        protocol = a.get("protocol", "http")
        health: dict[str, Any] = {"liveness": None, "readiness": None, "startup": None}
        if health_in is False:
            pass
        elif health_in:
            for k in health:
                health[k] = self.probe(health_in.get(k), ports, f"health.{k}")
        elif ports and long_running and next(iter(ports.values()))["protocol"] == "TCP":
            first = next(iter(ports))  # a TCP probe on a UDP or SCTP port would never succeed
            health["liveness"] = {"tcpSocket": {"port": first}}
            health["readiness"] = {"tcpSocket": {"port": first}}
        if protocol == "a2a" and health_in is not False and not (health_in or {}).get("readiness"):
            if not ports:
                self.err("protocol", "a2a needs a port to serve its agent card")
            else:
                health["readiness"] = {"httpGet": {"path": a.get("agentCard", A2A_CARD), "port": next(iter(ports))}}
        if protocol != "http" and not ports and not (protocol == "a2a" and health_in is not False):
            self.err("protocol", f"{protocol} needs a port", "add port or ports")

        # env and references to declared secrets
        env = a.get("env", {})
        for var, e in env.items():
            if "secret" in e and "key" in e and e["secret"] in self.spec["secrets"]:
                keys = self.spec["secrets"][e["secret"]]["keys"]
                if e["key"] not in keys:
                    self.err(f"env.{var}.key", f"secret {e['secret']!r} has no key {e['key']!r}",
                             "declared keys: " + ", ".join(keys))
        env, env_order = runtime.env_order(self, a)
        secret_mounts = runtime.secret_mounts(self, a)

        for i, target in enumerate(a.get("talksTo", [])):
            if not isinstance(target, str):
                continue  # an item with a problem of its own
            if talks_to_dependency(self, i, target):
                continue
            target_bad = self.spec["agents"][target].get("_bad", set()) if target in self.spec["agents"] else set()
            if target == self.name:
                self.err(f"talksTo[{i}]", "an agent cannot talk to itself")
            elif target not in self.spec["agents"] and target in self.spec.get("_all_agents", ()):
                pass  # an agent with problems of its own, reported there
            elif target not in self.spec["agents"]:
                import difflib
                names = list(dict.fromkeys([*self.spec.get("_all_agents", ()), *self.spec["agents"]]))
                close = difflib.get_close_matches(target, names, n=1)
                self.err(f"talksTo[{i}]", f"no agent named {target!r}",
                         f'did you mean "{close[0]}"?' if close else "agents: " + ", ".join(names))
            elif target_bad & (_PORTS | _KIND):
                pass  # whether it serves traffic depends on a field with a problem, reported there
            elif target[0].isdigit():
                self.err(f"talksTo[{i}]", f"agent {target!r} starts with a digit, so its variable "
                                          f"{target.upper().replace('-', '_')}_URL would be an invalid name",
                         "give the agent a name that starts with a letter")
            elif not self.spec["agents"][target].get("ports"):
                self.err(f"talksTo[{i}]", f"agent {target!r} has no port to call", "give it port or ports")
            elif self.spec["agents"][target].get("kind") in ("Job", "CronJob") or (
                    "schedule" in self.spec["agents"][target] and "kind" not in self.spec["agents"][target]):
                self.err(f"talksTo[{i}]", f"agent {target!r} is a Job or CronJob and serves no traffic")

        expose = a.get("expose")
        if expose:
            if not ports:
                self.err("expose", "the agent has no port to expose", "add port or ports")
            else:
                expose = {"path": "/", "pathType": "Prefix", "port": next(iter(ports)), "annotations": {}, **expose}
                self.port_ref(ports, expose["port"], "expose.port")
                if isinstance(expose["port"], int):
                    named = [n for n, p in ports.items() if p["port"] == expose["port"]]
                    if not named:
                        self.err("expose.port", f"{expose['port']} is not one of the agent's ports",
                                 "ports: " + ", ".join(f"{n}={p['port']}" for n, p in ports.items()))
                    else:
                        expose["port"] = named[0]

        monitoring = a.get("monitoring")
        if monitoring is not None:
            monitoring = {"path": "/metrics", "serviceMonitor": False, "allowFrom": [], **monitoring}
            if "port" not in monitoring:
                if not ports:
                    self.err("monitoring.port", "is required when the agent has no ports")
                monitoring["port"] = next(iter(ports), "")
            elif isinstance(monitoring["port"], str):
                self.port_ref(ports, monitoring["port"], "monitoring.port")
            elif monitoring["port"] not in [p["port"] for p in ports.values()]:
                if "metrics" in ports:
                    self.err("monitoring.port", "is not among the agent's ports and the name 'metrics' is taken")
                ports = {**ports, "metrics": {"port": monitoring["port"], "protocol": "TCP"}}
                monitoring["port"] = "metrics"
            else:
                monitoring["port"] = next(k for k, p in ports.items() if p["port"] == monitoring["port"])
            if monitoring["serviceMonitor"] and kind not in ("Deployment", "StatefulSet"):
                self.err("monitoring.serviceMonitor", "needs a Service; a Job or CronJob has none")

        sa = {"create": True, "name": "", "annotations": {}, **a.get("serviceAccount", {})}
        rbac = runtime.rbac(self, a)
        if rbac and not sa["create"] and not sa["name"]:
            self.err("rbac", "needs a ServiceAccount to bind to", "leave serviceAccount.create true or give a name")

        pod = {k: copy.deepcopy(a[k]) for k in POD_FIELDS if k in a}
        self.pass_through(pod, a)
        for key in pod.get("podLabels", {}):
            if key in SELECTOR_LABELS:
                self.err(f"podLabels.{key}", "is set by the chart (a selector label)", "choose another label key")

        state = a.get("state")
        if state:
            state = {"mountPath": "/data", "accessModes": ["ReadWriteOnce"], "storageClass": "", "retain": True, **state}
        config = a.get("config")
        if config:
            config = {"mountPath": f"/etc/{self.name}", "reload": "restart", **config}
        runtime.hook_job(self, a, kind)
        job: dict[str, Any] = {}
        cron_only = [k for k in a.get("job", {}) if k in CRON_ONLY]
        if kind == "Job" and cron_only:
            self.err(f"job.{cron_only[0]}", "applies to a CronJob, not to a Job")
        if not long_running:
            job = {"backoffLimit": 3, **a.get("job", {})}
            if kind == "CronJob":
                job.setdefault("concurrencyPolicy", "Forbid")

        image = dict(a["image"])
        if not image.get("repository"):  # `image: {tag: "1"}`, here or merged from defaults
            self.err("image.repository", "is required", "for example image: ghcr.io/acme/planner:1.0")
        image.setdefault("digest", "")
        if not image.get("tag") and not image["digest"]:
            # the chart's appVersion; '+' (SemVer build metadata) is not allowed in image tags
            image["tag"] = self.spec["_appVersion"].replace("+", "_")
            if not IMAGE_TAG.fullmatch(image["tag"]):
                self.err("image", f"has no tag, and the appVersion {self.spec['_appVersion']!r} is not a valid "
                                  "image tag", "give the image a tag, or set appVersion to one")
        image.setdefault("tag", "")
        image.setdefault("pullPolicy", "IfNotPresent")
        rollout, tracks = check_rollout(self, a, kind, image, env, config)
        for field, message, hint in agent_warnings(a):
            if not self.follows_a_problem(field):  # e.g. no "untagged" warning for an image that is itself wrong
                self.warn(field, message, hint)
        if len(self.ctx.problems) > n0:
            return None
        return Agent(
            name=self.name, enabled=a.get("enabled", True), description=a.get("description", ""), kind=kind,
            image=image, command=list(a.get("command", [])), args=list(a.get("args", [])), ports=ports,
            service=service, replicas=replicas, resources={"requests": requests, "limits": limits}, health=health,
            scaling=scaling, disruption=disruption, env=env, envFrom=list(a.get("envFrom", [])), config=config,
            state=state, talksTo=list(a.get("talksTo", [])), expose=expose, serviceAccount=sa, rbac=rbac,
            protocol=protocol, rollout=rollout, tracks=tracks, monitoring=monitoring, schedule=a.get("schedule", ""), job=job,
            securityContext=a.get("securityContext", {}), podSecurityContext=a.get("podSecurityContext", {}), pod=pod,
            envOrder=env_order,
            secretMounts=secret_mounts,
            allowFrom=runtime.allow_from(self, a), agentCard=a.get("agentCard", A2A_CARD),
        )


def _int_or_percent(d: dict[str, Any] | None) -> Any:
    if d is None:
        return None
    return {k: int(v) if isinstance(v, str) and v.isdigit() else v for k, v in d.items()}


def remove_paths(d: dict[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    """`null` in an environment: drop each path from a (copied) mapping."""
    out = copy.deepcopy(d)
    for path in paths:
        node: Any = out
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return out


def _agents(raw_agents: dict[str, dict[str, Any]], spec: dict[str, Any], ctx: Ctx,
            where: str = "") -> dict[str, Agent]:
    """Check every merged agent; `where` prefixes paths for an environment's agents."""
    view = {**spec, "agents": raw_agents}
    agents: dict[str, Agent] = {}
    for name, a in raw_agents.items():
        if "image" not in a and "image" in a.get("_bad", ()):
            a = {**a, "image": {"repository": "invalid"}}  # its problem is reported where it was written
        if "image" not in a:
            path = f"{where}agents.{name}"
            ctx.err(ctx.at(path, f"agents.{name}"), f"{path}.image", "is required")
            continue
        agent = _AgentChecker(ctx, name, a, view, where).build()
        if agent is not None:
            agents[name] = agent
    owner: dict[str, str] = {}
    for name, agent in agents.items():  # two agents may not create one ServiceAccount twice
        sa = agent.serviceAccount
        if sa["create"] and sa["name"]:
            if sa["name"] in owner:
                path = f"{where}agents.{name}.serviceAccount.name"
                ctx.err(ctx.at(path, f"agents.{name}.serviceAccount.name"), path,
                        f"{sa['name']!r} is already created by agent {owner[sa['name']]!r}",
                        "set create: false here to share it, or choose another name")
            owner.setdefault(sa["name"], name)
    return agents


def _environment(name: str, env: dict[str, Any], v: dict[str, Any], ctx: Ctx) -> dict[str, Agent]:
    """The agents as environment `name` sees them: its defaults reach every agent that does not set
    the field itself, its agent overrides win, `null` removes a setting, new agents join."""
    v = {**v, "secrets": runtime.environment_secrets(v, env)}  # its view of the secrets (keys checked against it)
    base_defaults, base_bad, base_partial = _meta(v.get("defaults", {}))
    env_defaults = env.get("defaults", {"set": {}, "unset": []})
    env_set, env_bad, env_partial = _meta(env_defaults["set"])
    defaults = remove_paths(deep_merge(base_defaults, env_set), env_defaults["unset"])
    overrides = env.get("agents", {})
    merged: dict[str, dict[str, Any]] = {}
    invalid = v.get("_invalid_agents", set())  # reported where written; an override does not make them new
    broken = env.get("_invalid", set())  # agents whose override here has problems: not checked in this environment
    for agent_name in [*v["_own_agents"], *[n for n in overrides if n not in v["_own_agents"] and n not in invalid]]:
        if agent_name in broken:
            continue
        own, bad, partial = _meta(v["_own_agents"].get(agent_name, {}))
        # a field the agent sets itself keeps it; a field it inherits follows the environment's defaults
        a = deep_merge(defaults, own)
        if agent_name in overrides:
            over, over_bad, over_partial = _meta(overrides[agent_name]["set"])
            a = remove_paths(deep_merge(a, over), overrides[agent_name]["unset"])
            bad, partial = bad | over_bad, partial | over_partial
            for f in over_bad:  # a field with a problem in the override is left out, as in a partial agent
                a.pop(f, None)
        a["_bad"], a["_partial"] = bad | base_bad | env_bad, partial | base_partial | env_partial
        merged[agent_name] = a
    if broken:
        v = {**v, "_all_agents": [*v.get("_all_agents", v["agents"]), *sorted(broken)]}
    v = {**v, "_dependencies": v["_environment_dependencies"][name]}  # this environment's view
    return _agents(merged, v, ctx, where=f"environments.{name}.")


def _build(v: dict[str, Any], ctx: Ctx) -> Spec:
    defaults, defaults_bad, defaults_partial = _meta(v.get("defaults", {}))
    v["_appVersion"] = v.get("appVersion", v["version"])
    v.setdefault("secrets", {})
    v["_own_agents"] = v["agents"]
    v["_dependencies"] = build_dependencies(v, ctx)  # dict[str, Dependency]: what agents' checks see
    merged = {}
    for name, a in v["agents"].items():
        own, bad, partial = _meta(a)
        merged[name] = {**deep_merge(defaults, own), "_bad": bad | defaults_bad, "_partial": partial | defaults_partial}
    agents = _agents(merged, v, ctx)
    before = len(ctx.problems)
    base_problems = {(p.line, p.column, p.message) for p in ctx.problems}
    v["_environment_dependencies"] = {name: environment_dependencies(name, env, v["_dependencies"], ctx,
                                                                         v.get("_all_agents", v["agents"]))
                                      for name, env in v.get("environments", {}).items()}
    environments = {name: _environment(name, env, v, ctx) for name, env in v.get("environments", {}).items()}
    # a problem an environment merely inherits from the spec is reported once, for the spec
    ctx.problems[before:] = [p for p in ctx.problems[before:] if (p.line, p.column, p.message) not in base_problems]
    for i, m in enumerate(v.get("extraManifests", [])):
        for field, message, hint in manifest_warnings(m) if isinstance(m, dict) else ():
            path = f"extraManifests[{i}].{field}"
            ctx.warn(ctx.at(path), path, message, hint)
    secrets = runtime.secrets_model(v["secrets"])
    environment_secrets = {name: runtime.secrets_model(runtime.environment_secrets(v, env))
                           for name, env in v.get("environments", {}).items() if env.get("secrets")}
    for name, env in v.get("environments", {}).items():
        runtime.environment_secret_problems(ctx, name, env, v)
    runtime.hook_copy_collisions(ctx, v["secrets"], agents)
    runtime.hook_service_accounts(ctx, agents)
    return Spec(
        name=v["name"], version=v["version"], appVersion=v["_appVersion"], description=v.get("description", ""),
        kubeVersion=v.get("kubeVersion", ""), chart=v.get("chart", {}), imagePullSecrets=v.get("imagePullSecrets", []),
        networkPolicy=v.get("networkPolicy", True), secrets=secrets, agents=agents,
        extraManifests=v.get("extraManifests", []), environments=environments,
        dependencies=v["_dependencies"], environment_dependencies=v["_environment_dependencies"],
        environmentSecrets=environment_secrets,
    )

