"""Check a positioned tree against spec v1 and build the normalised model.

All problems are collected before anything is returned: the caller gets either every
problem in the file or a model that later stages can trust.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

from helmgen.problems import SpecError
from helmgen.spec import overrides, references, runtime, wiring
from helmgen.spec.argo import check_argo
from helmgen.spec.aspects import (
    env,
    expose,
    identity,
    image,
    job,
    monitoring,
    pod,
    probes,
    resources,
    storage,
    talks_to,
    workload,
)
from helmgen.spec.context import NO_MARKS, Marks, SpecContext
from helmgen.spec.dependencies import build_dependencies, environment_dependencies
from helmgen.spec.fields import spec_type
from helmgen.spec.load import Node, load_file
from helmgen.spec.model import Agent, Spec
from helmgen.spec.risks import agent_warnings, manifest_warnings
from helmgen.spec.rollout import check_rollout
from helmgen.spec.rollout_names import check_rollout_names
from helmgen.spec.track_wiring import check_tracks
from helmgen.spec.types import INVALID, Ctx


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
            _check(partial[0], ctx, partial[1])  # the cross-field checks on what is valid: every problem at once
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


def _partial_agent(ctx: Ctx, path: str, marks: dict[str, Marks]) -> dict[str, Any] | None:
    """The valid fields of an agent (or defaults) with problems, normalised as the field types would;
    its Marks go to `marks[path]` (without the `#set` of an override)."""
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
    marks[path.removesuffix("#set")] = Marks(frozenset(bad), frozenset(partial))
    return a


def _partial_override(ctx: Ctx, path: str, marks: dict[str, Marks]) -> dict[str, Any] | None:
    part = ctx.partials.get(path)
    if not isinstance(part, dict) or "set" not in part:
        return None
    ctx.partials[path + "#set"] = part["set"]
    ctx.bad[path + "#set"] = ctx.bad.get(path, set())
    for f in PARTIAL_FIELDS:
        if f"{path}.{f}" in ctx.partials:
            ctx.partials[f"{path}#set.{f}"] = ctx.partials[f"{path}.{f}"]
    return {"set": _partial_agent(ctx, path + "#set", marks) or {}, "unset": part["unset"]}


def _partial_spec(root: Node, ctx: Ctx) -> tuple[dict[str, Any], SpecContext] | None:
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
    marks: dict[str, Marks] = {}
    for name in all_agents:
        a = valid[name] if name in valid else _partial_agent(ctx, f"agents.{name}", marks)
        if a is not None:
            agents[name] = a
    if not agents:
        return None
    defaults = top.get("defaults")
    if defaults is None:
        defaults = _partial_agent(ctx, "defaults", marks) or {}
    invalid_overrides: dict[str, set[str]] = {}
    v = {"version": "0.0.0", **top, "agents": agents, "defaults": defaults,
         "secrets": top.get("secrets", ctx.partials.get("secrets", {})),
         "environments": _partial_environments(root, top, ctx, marks, invalid_overrides)}
    book = SpecContext(app_version=v.get("appVersion", v["version"]), all_agents=all_agents,
                       invalid_agents={n for n in all_agents if n not in agents},
                       invalid_overrides=invalid_overrides, marks=marks)
    return v, book


def _partial_environments(root: Node, top: dict[str, Any], ctx: Ctx, marks: dict[str, Marks],
                          invalid_overrides: dict[str, set[str]]) -> dict[str, Any]:
    """The environments, each with the valid part of its defaults and agent overrides;
    `invalid_overrides` gets the overrides that are not mappings at all."""
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
            d = _partial_override(ctx, f"environments.{name}.defaults", marks)
            if d is None:
                continue  # not a mapping: every agent of the environment would inherit the problem
            env["defaults"] = d
        overrides = dict(part.get("agents", ctx.partials.get(f"environments.{name}.agents", {})))
        agents_node = env_node.items.get("agents", (None, None))[1]
        written = set(agents_node.items) if isinstance(agents_node, Mapping) else set()
        for agent in sorted(written - set(overrides)):
            o = _partial_override(ctx, f"environments.{name}.agents.{agent}", marks)
            if o is not None:
                overrides[agent] = o
        envs[name] = {**env, "agents": overrides}
        invalid_overrides[name] = written - set(overrides)
    return envs


class _AgentChecker:
    """Checks one merged agent: `build()` runs each aspect (helmgen.spec.aspects) and builds the Agent.
    The aspects report through `err`/`warn`, which place a problem where its value was written and
    drop it when it follows from a field with a problem of its own."""

    def __init__(self, ctx: Ctx, name: str, raw: dict[str, Any], spec: dict[str, Any], book: SpecContext,
                 where: str = "") -> None:
        self.ctx = ctx
        self.name = name
        self.raw = raw
        self.spec = spec
        self.book = book  # what the checker knows besides the user's data (see spec.context)
        self.where = where  # "environments.<env>." when checking an environment's view of the agent
        self.base = f"{where}agents.{name}"
        marks = self.book.agent_marks.get(name, NO_MARKS)
        self.bad: set[str] = set(marks.bad)  # fields with problems of their own
        self.partial: set[str] = set(marks.partial)  # fields of which only the valid part is here

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
        """A spec probe as a Kubernetes probe object (see aspects.probes.probe)."""
        return probes.probe(self, p, ports, field)

    def build(self) -> Agent | None:
        """Every aspect of the agent checked and normalised; None when one of them has a problem."""
        n0 = len(self.ctx.problems)
        a = overrides.merged_agent(self, self.raw)  # an environment's partial objects made whole
        if a is None:
            return None
        kind = workload.check_workload(self, a)
        service = workload.check_service(self, a)
        scaling = workload.check_scaling(self, a)
        replicas = workload.check_replicas(self, a)
        disruption = workload.check_disruption(self, a)
        resources_ = resources.check_resources(self, a)
        health = probes.check_health(self, a)
        protocol = probes.check_protocol(self, a)
        env.check_env(self, a)  # the keys of declared secrets it names
        env_, env_order = runtime.env_order(self, a)
        secret_mounts = runtime.secret_mounts(self, a)
        talks_to.check_talks_to(self, a)  # the targets (references.talks_to below: ports, variables)
        expose_ = expose.check_expose(self, a)
        monitoring_, ports = monitoring.check_monitoring(self, a)
        sa, _ = identity.check_identity(self, a)
        rbac = runtime.rbac(self, a)  # rules and clusterRules, checked as the API server checks them
        pod_ = pod.check_pod(self, a)
        state = storage.check_state(self, a)
        config = storage.check_config(self, a)
        runtime.hook_job(self, a, kind)
        job_ = job.check_job(self, a)
        schedule = job.check_schedule(self, a)
        image_ = image.check_image(self, a)
        rollout_, tracks = check_rollout(self, a, kind, image_, env_, config)
        check_argo(self, a, kind)
        for field, message, hint in agent_warnings(a):
            if not self.follows_a_problem(field):  # e.g. no "untagged" warning for an image that is itself wrong
                self.warn(field, message, hint)
        calls = references.agent_references(self, a)
        calls = check_tracks(self, a, rollout_, tracks, calls)
        talks_to_ = references.talks_to(self, a)
        if len(self.ctx.problems) > n0:
            return None
        return Agent(
            name=self.name, enabled=a.get("enabled", True), description=a.get("description", ""), kind=kind,
            image=image_, command=list(a.get("command", [])), args=list(a.get("args", [])), ports=ports,
            service=service, replicas=replicas, resources=resources_, health=health,
            scaling=scaling, disruption=disruption, env=env_, envFrom=list(a.get("envFrom", [])), config=config,
            state=state, talksTo=talks_to_, calls=calls, expose=expose_, serviceAccount=sa, rbac=rbac,
            protocol=protocol, rollout=rollout_, tracks=tracks, monitoring=monitoring_, schedule=schedule, job=job_,
            securityContext=a.get("securityContext", {}), podSecurityContext=a.get("podSecurityContext", {}), pod=pod_,
            envOrder=env_order, secretMounts=secret_mounts, allowFrom=runtime.allow_from(self, a),
            agentCard=wiring.agent_card(self, a),
        )


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


def _agents(raw_agents: dict[str, dict[str, Any]], spec: dict[str, Any], ctx: Ctx, book: SpecContext,
            where: str = "") -> dict[str, Agent]:
    """Check every merged agent (`book.agent_marks` has their Marks); `where` prefixes paths for an
    environment's agents."""
    view = {**spec, "agents": raw_agents}
    agents: dict[str, Agent] = {}
    for name, a in raw_agents.items():
        if "image" not in a and "image" in book.bad_fields(name):
            a = {**a, "image": {"repository": "invalid"}}  # its problem is reported where it was written
        if "image" not in a:
            path = f"{where}agents.{name}"
            ctx.err(ctx.at(path, f"agents.{name}"), f"{path}.image", "is required")
            continue
        agent = _AgentChecker(ctx, name, a, view, book, where).build()
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


def _environment(name: str, env: dict[str, Any], v: dict[str, Any], ctx: Ctx, book: SpecContext) -> dict[str, Agent]:
    """The agents as environment `name` sees them: its defaults reach every agent that does not set
    the field itself, its agent overrides win, `null` removes a setting, new agents join."""
    v = {**v, "secrets": runtime.environment_secrets(v, env)}  # its view of the secrets (keys checked against it)
    own_agents: dict[str, Any] = v["agents"]
    env_defaults = env.get("defaults", {"set": {}, "unset": []})
    defaults = remove_paths(deep_merge(v.get("defaults", {}), env_defaults["set"]), env_defaults["unset"])
    defaults_marks = book.marks_of("defaults") | book.marks_of(f"environments.{name}.defaults")
    overrides = env.get("agents", {})
    merged: dict[str, dict[str, Any]] = {}
    agent_marks: dict[str, Marks] = {}
    invalid = book.invalid_agents  # reported where written; an override does not make them new
    broken = book.invalid_overrides.get(name, set())  # overrides with problems: not checked in this environment
    for agent_name in [*own_agents, *[n for n in overrides if n not in own_agents and n not in invalid]]:
        if agent_name in broken:
            continue
        marks = book.marks_of(f"agents.{agent_name}")
        # a field the agent sets itself keeps it; a field it inherits follows the environment's defaults
        a = deep_merge(defaults, own_agents.get(agent_name, {}))
        if agent_name in overrides:
            over_marks = book.marks_of(f"environments.{name}.agents.{agent_name}")
            a = remove_paths(deep_merge(a, overrides[agent_name]["set"]), overrides[agent_name]["unset"])
            marks = marks | over_marks
            for f in over_marks.bad:  # a field with a problem in the override is left out, as in a partial agent
                a.pop(f, None)
        agent_marks[agent_name] = marks | defaults_marks
        merged[agent_name] = a
    view = replace(book, all_agents=[*book.all_agents, *sorted(broken)], agent_marks=agent_marks,
                   dependencies=book.environment_dependencies[name])  # this environment's view
    return _agents(merged, v, ctx, view, where=f"environments.{name}.")


def _check(v: dict[str, Any], ctx: Ctx, book: SpecContext) -> tuple[dict[str, Agent], dict[str, dict[str, Agent]]]:
    """Every cross-field check of a (partial) spec: its agents, and each environment's."""
    v.setdefault("secrets", {})
    book.dependencies = build_dependencies(v, ctx, book.all_agents)
    defaults = v.get("defaults", {})
    merged = {name: deep_merge(defaults, a) for name, a in v["agents"].items()}
    view = replace(book, agent_marks={name: book.marks_of(f"agents.{name}") | book.marks_of("defaults")
                                      for name in merged})
    agents = _agents(merged, v, ctx, view)
    before = len(ctx.problems)
    base_problems = {(p.line, p.column, p.message) for p in ctx.problems}
    book.environment_dependencies = {name: environment_dependencies(name, env, book.dependencies, ctx, book.all_agents)
                                     for name, env in v.get("environments", {}).items()}
    environments = {name: _environment(name, env, v, ctx, book) for name, env in v.get("environments", {}).items()}
    # a problem an environment merely inherits from the spec is reported once, for the spec
    ctx.problems[before:] = [p for p in ctx.problems[before:] if (p.line, p.column, p.message) not in base_problems]
    check_rollout_names(agents, ctx, environments)
    references.manifest_references(ctx, v, merged, environments, book)
    for i, m in enumerate(v.get("extraManifests", [])):
        for field, message, hint in manifest_warnings(m) if isinstance(m, dict) else ():
            path = f"extraManifests[{i}].{field}"
            ctx.warn(ctx.at(path), path, message, hint)
    return agents, environments


def _build(v: dict[str, Any], ctx: Ctx) -> Spec:
    """The model of a spec that is valid field by field (problems found here go to `ctx`)."""
    book = SpecContext(app_version=v.get("appVersion", v["version"]), all_agents=list(v["agents"]))
    agents, environments = _check(v, ctx, book)
    secrets = runtime.secrets_model(v["secrets"])
    environment_secrets = {name: runtime.secrets_model(runtime.environment_secrets(v, overlay))
                           for name, overlay in v.get("environments", {}).items() if overlay.get("secrets")}
    for name, overlay in v.get("environments", {}).items():
        runtime.environment_secret_problems(ctx, name, overlay, v)
    runtime.hook_copy_collisions(ctx, v["secrets"], agents)
    runtime.hook_service_accounts(ctx, agents)
    wiring.pre_install_hook_calls(ctx, agents, book.dependencies)
    return Spec(
        name=v["name"], version=v["version"], appVersion=book.app_version, description=v.get("description", ""),
        kubeVersion=v.get("kubeVersion", ""), chart=v.get("chart", {}), imagePullSecrets=v.get("imagePullSecrets", []),
        networkPolicy=v.get("networkPolicy", True), secrets=secrets, agents=agents,
        extraManifests=v.get("extraManifests", []), environments=environments,
        dependencies=book.dependencies, environment_dependencies=book.environment_dependencies,
        environmentSecrets=environment_secrets,
    )

