"""Model → the values tree (pure). values.yaml mirrors the spec: agents.<name>.<field>."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from helmgen.spec.fields import AGENT_FIELDS, SECRET_DOCS
from helmgen.spec.model import DEFAULT_REQUESTS, POD_FIELDS, Agent, Dependency, Secret, Spec
from helmgen.spec.types import List, Raw, Str

# The secure defaults every agent starts from (values.yaml securityDefaults; restricted Pod Security
# Standard). They live here, not in the checker, so rendering does not import it.
POD_SECURITY: dict[str, Any] = {
    "runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY: dict[str, Any] = {
    "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
}

# The defaults of an agent added in a values file (`--set agents.new.…` or `-f`), written to values.yaml
# as agentDefaults and merged by the templates under such an agent: the same values the spec's
# checker gives a spec agent. Those that depend on the agent (kind from schedule/state, probes on the
# primary port, a disruption budget above one pod, limits equal to the requests, job settings) the
# templates compute the same way (agentgen.completeAgent in templates/_defaults.tpl).
AGENT_DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "image": {"digest": "", "pullPolicy": "IfNotPresent"},
    "service": {"type": "ClusterIP", "annotations": {}},
    "resources": {"requests": DEFAULT_REQUESTS},
    "serviceAccount": {"create": True, "name": "", "annotations": {}},
    "protocol": "http",
    "agentCard": "/.well-known/agent-card.json",
    "rollout": {"strategy": "rolling", "engine": "native", "maxSurge": "25%", "maxUnavailable": 0},
    "terminationGracePeriodSeconds": 30,
}

TEST_IMAGE = {"repository": "busybox", "tag": "1.37.0", "pullPolicy": "IfNotPresent"}

DOCS_BEFORE_AGENTS: dict[str, str] = {
    "nameOverride": "Replaces the chart name in the app.kubernetes.io/name label.",
    "fullnameOverride": "Replaces the release name as the prefix of every object name (<prefix>-<agent>).",
    "imagePullSecrets": "Names of existing Secrets used to pull every agent's image.",
    "networkPolicy": "true: each agent accepts traffic only from the agents that list it in talksTo or reference it\n"
                     "(and from anywhere on an exposed or dedicated metrics port; see monitoring.allowFrom).",
    "tests": "The `helm test` pods: one per agent with ports.",
    "tests.enabled": "false: render no test pods.",
    "tests.image": "A small image with sh, nc and wget (BusyBox).",
    "tests.image.repository": "Test image repository.",
    "tests.image.tag": "Test image tag.",
    "tests.image.pullPolicy": "Test image pull policy.",
    "securityDefaults": "The secure defaults every agent starts from (restricted Pod Security Standard);\n"
                        "an agent's securityContext / podSecurityContext are merged over them.",
    "securityDefaults.pod": "Pod securityContext: non-root user, RuntimeDefault seccomp.",
    "securityDefaults.container": "Container securityContext: no privilege escalation, read-only root filesystem\n"
                                  "(with a writable /tmp), all capabilities dropped.",
    "securityDefaults.pod.runAsNonRoot": "Refuse to start a container as root.",
    "securityDefaults.pod.runAsUser": "User ID of every container (distroless 'nonroot').",
    "securityDefaults.pod.runAsGroup": "Group ID of every container.",
    "securityDefaults.pod.fsGroup": "Group that owns mounted volumes, so the user can write to them.",
    "securityDefaults.pod.seccompProfile": "The container runtime's default seccomp filter.",
    "securityDefaults.container.allowPrivilegeEscalation": "No setuid/privilege escalation.",
    "securityDefaults.container.readOnlyRootFilesystem": "Read-only image filesystem; /tmp is a writable emptyDir.",
    "securityDefaults.container.runAsNonRoot": "Refuse to start as root.",
    "securityDefaults.container.capabilities": "Linux capabilities: all dropped.",
    "securityDefaults.container.seccompProfile": "The container runtime's default seccomp filter.",
    "agentDefaults": "The defaults of an agent added in a values file (the spec's agents below hold theirs):\n"
                     "merged under it, so it renders as the same agent written in the spec would.",
    "secrets": "Chart-managed Secrets. Values are never stored in a file: give them at install time,\n"
               "for example --set secrets.<secret>.values.<key>=$VALUE",
    "secrets.*": "Secret <release>-<name> (or the existing/external Secret below).",
    "secrets.*.keys": SECRET_DOCS["keys"],
    "secrets.*.existingSecret": SECRET_DOCS["existingSecret"],
    "secrets.*.external": SECRET_DOCS["external"],
    "secrets.*.external.store": "SecretStore or ClusterSecretStore name.",
    "secrets.*.external.kind": "SecretStore or ClusterSecretStore.",
    "secrets.*.external.remoteKey": "Key in the external store; each secret key is a property of it.",
    "secrets.*.external.refreshInterval": "How often the ExternalSecret refreshes.",
    "secrets.*.reload": SECRET_DOCS["reload"],
    "secrets.*.values": "Install-time values by key. Leave empty here; pass them with --set or -f from a safe place.",
    "agents": "The agents, by name. Every agent is rendered by the same generic templates;\n"
              "a values file may override any field or add an agent.",
    "agents.*": "",
}
# the agents' sub-fields; the fields themselves are described in spec/fields.py AGENT_FIELDS
AGENT_SUB_DOCS: dict[str, str] = {
    "agents.*.image.repository": "Image repository.",
    "agents.*.image.tag": "Image tag (empty: the chart's appVersion, unless a digest is set).",
    "agents.*.image.digest": "Image digest (sha256:...); pins the image when set.",
    "agents.*.image.pullPolicy": "Always, IfNotPresent or Never.",
    "agents.*.ports.*": "",
    "agents.*.ports.*.port": "Port number.",
    "agents.*.ports.*.protocol": "TCP, UDP or SCTP.",
    "agents.*.service.type": "ClusterIP, NodePort, LoadBalancer, or None for a headless Service.",
    "agents.*.service.annotations": "Annotations on the Service.",
    "agents.*.resources.requests": "What the scheduler reserves.",
    "agents.*.resources.limits": "The most the container may use.",
    "agents.*.health.liveness": "Restart the container when this fails.",
    "agents.*.health.readiness": "Take the pod out of its Service while this fails.",
    "agents.*.health.startup": "Hold the other probes until this succeeds.",
    "agents.*.scaling.engine": "hpa (HorizontalPodAutoscaler) or keda (ScaledObject, may scale to zero).",
    "agents.*.scaling.minReplicas": "Fewest pods (0 only with keda).",
    "agents.*.scaling.maxReplicas": "Most pods.",
    "agents.*.scaling.cpu": "Target average CPU utilisation, % of the request.",
    "agents.*.scaling.memory": "Target average memory utilisation, % of the request.",
    "agents.*.scaling.behavior": "HPA scale-up/down behavior (autoscaling/v2).",
    "agents.*.scaling.metrics": "More HPA metrics (autoscaling/v2 MetricSpec list).",
    "agents.*.scaling.triggers": "KEDA triggers.",
    "agents.*.scaling.pollingInterval": "KEDA: seconds between trigger checks.",
    "agents.*.scaling.cooldownPeriod": "KEDA: seconds after the last active trigger before scaling to minReplicas.",
    "agents.*.disruption.minAvailable": "Pods that must stay available (number or %).",
    "agents.*.disruption.maxUnavailable": "Pods that may be down at once (number or %).",
    "agents.*.config.mountPath": "Folder the files appear in.",
    "agents.*.config.files": "File name to content.",
    "agents.*.config.reload": "restart or live.",
    "agents.*.state.size": "Size of each replica's volume.",
    "agents.*.state.mountPath": "Where the volume is mounted.",
    "agents.*.state.storageClass": "StorageClass (empty: the cluster default).",
    "agents.*.state.accessModes": "Volume access modes.",
    "agents.*.state.retain": "true: keep the volumes when the StatefulSet is deleted or scaled down.",
    "agents.*.expose.host": "Host name.",
    "agents.*.expose.path": "Path prefix.",
    "agents.*.expose.pathType": "Prefix, Exact or ImplementationSpecific.",
    "agents.*.expose.port": "Port (name or number) to expose; default the primary port.",
    "agents.*.expose.className": "IngressClass.",
    "agents.*.expose.tls": "TLS with an existing certificate Secret.",
    "agents.*.expose.annotations": "Annotations on the Ingress or HTTPRoute.",
    "agents.*.expose.gateway": "Gateway API parent (name, namespace, sectionName): renders an HTTPRoute.",
    "agents.*.rbac.rules": "PolicyRules of the agent's Role.",
    "agents.*.rbac.clusterRules": "PolicyRules of the agent's ClusterRole (<namespace>-<release>-<agent>).",
    "agents.*.allowFrom": "NetworkPolicy peers (podSelector, namespaceSelector, ipBlock) also admitted to the agent's\n"
                          "ports: callers outside the release.",
    "agents.*.agentCard": "protocol a2a: the path of the agent card (readiness probe and helm test).",
    "agents.*.monitoring.port": "Port (name) serving metrics.",
    "agents.*.monitoring.path": "Metrics path.",
    "agents.*.monitoring.serviceMonitor": "true: a ServiceMonitor; false: prometheus.io scrape annotations.",
    "agents.*.monitoring.interval": "Scrape interval (ServiceMonitor).",
    "agents.*.monitoring.allowFrom": "NetworkPolicy peers that may scrape ([]: none on a serving port, "
                                     "anyone on a dedicated metrics port).",
    "agents.*.job.backoffLimit": "Retries before the Job fails.",
    "agents.*.job.activeDeadlineSeconds": "Seconds before a running Job is stopped.",
    "agents.*.job.ttlSecondsAfterFinished": "Seconds a finished Job is kept.",
    "agents.*.job.parallelism": "Pods running at once.",
    "agents.*.job.completions": "Successful pods needed.",
    "agents.*.job.concurrencyPolicy": "CronJob: Allow, Forbid or Replace overlapping runs.",
    "agents.*.job.timeZone": "CronJob: time zone of the schedule.",
    "agents.*.job.successfulJobsHistoryLimit": "CronJob: finished Jobs kept.",
    "agents.*.job.failedJobsHistoryLimit": "CronJob: failed Jobs kept.",
    "agents.*.job.startingDeadlineSeconds": "CronJob: seconds a missed run may start late.",
    "agents.*.job.suspend": "CronJob: true pauses the schedule.",
    "agents.*.serviceAccount.create": "Create a ServiceAccount for the agent.",
    "agents.*.serviceAccount.name": "Its name (empty: <release>-<agent>); with create false, an existing one.",
    "agents.*.serviceAccount.annotations": "Annotations, for example for cloud workload identity.",
    "agents.*.job.hook": "Job: Helm hook events it runs at (pre-install, post-upgrade, ...); replaced each release.",
    "agents.*.job.hookWeight": "Job: order among the hooks of one event (lower first).",
    "agents.*.secretMounts.*": "",
    "agents.*.secretMounts.*.mountPath": "Folder the secret's keys appear in, one file each.",
    "agents.*.secretMounts.*.reload": "live (the agent re-reads the files) or restart (roll the pods when it changes).",
    "agents.*.rollout.strategy": "rolling, canary or blueGreen.",
    "agents.*.rollout.engine": "native (plain Deployments and Services) or argo (an Argo Rollouts Rollout).",
    "agents.*.rollout.maxSurge": "Extra pods allowed during a rollout.",
    "agents.*.rollout.maxUnavailable": "Pods that may be unavailable during a rollout.",
    "agents.*.rollout.canary": "The canary: its image or tag, env and config files merged over the agent's;\n"
                               "with none of them no canary runs (weight and steps stay as settings).",
    "agents.*.rollout.canary.weight": "Percent of traffic for the canary (native engine), 0..100.",
    "agents.*.rollout.canary.steps": "Argo Rollouts steps: setWeight or pause.",
    "agents.*.rollout.canary.image": "The canary's image (repository, tag, digest), over the agent's.",
    "agents.*.rollout.canary.tag": "The canary's image tag (the agent's repository).",
    "agents.*.rollout.canary.env": "Environment variables merged over the agent's, for canary pods only.",
    "agents.*.rollout.canary.config": "Config files merged over the agent's, for canary pods only.",
    "agents.*.rollout.blueGreen": "Two slots, blue and green; the live Service selects the active one.",
    "agents.*.rollout.blueGreen.active": "blue or green: the slot that serves live traffic (the other is the preview).",
    "agents.*.rollout.blueGreen.blue": "The blue slot: image or tag, env and config merged over the agent's.",
    "agents.*.rollout.blueGreen.green": "The green slot: image or tag, env and config merged over the agent's.",
    "agents.*.rollout.analysis": "Argo engine: Prometheus checks that must hold before each promotion.",
    "agents.*.rollout.analysis.prometheus": "The Prometheus server's URL (the AnalysisTemplate's address).",
    "agents.*.rollout.analysis.query": "PromQL for the error rate, verbatim; Argo fills in {{args.service}}.",
    "agents.*.rollout.analysis.maxErrorRate": "The highest accepted result of query (result[0] <= it).",
    "agents.*.rollout.analysis.metrics": "Several checks, each must hold: {name, query, max or min, interval, count,\n"
                                         "failureLimit}; interval defaults to 1m.",
}
DOCS_AFTER_AGENTS: dict[str, str] = {
    "extraManifests": "Raw Kubernetes objects rendered as they are.",
    "global": "Values shared with subcharts (set by an umbrella chart).",
    "dependencies": "How agents reach each dependency (talksTo, ${deps.NAME...}); the subchart's own values are\n"
                    "under its key below.",
    "dependencies.*.host": "Its Service: ${release} and ${namespace} are resolved; empty: the subchart's fullname\n"
                           "(<release>-<key>, or <release> when the release name contains the key).",
    "dependencies.*.port": "The port agents call; null: none (the URL has no port).",
}


def _agent_docs() -> dict[str, str]:
    """Each agent field's description (and its note for values.yaml), followed by those of its sub-fields."""
    out: dict[str, str] = {}
    for name, f in AGENT_FIELDS.items():
        if f.values:
            out[f"agents.*.{name}"] = f"{f.doc} {f.note}" if f.note else f.doc
            out.update((k, v) for k, v in AGENT_SUB_DOCS.items() if k.startswith(f"agents.*.{name}."))
    return out


# Comments above each setting in values.yaml (and rows of the chart README's values table).
DOCS: dict[str, str] = {**DOCS_BEFORE_AGENTS, **_agent_docs(), **DOCS_AFTER_AGENTS}


def comment_for(path: tuple[str, ...]) -> str:
    p = list(path)
    if len(p) >= 2 and p[0] == "agentDefaults":  # described as the agents' own settings
        p = ["agents", "*", *p[1:]]
    if len(p) >= 2 and p[0] in ("agents", "secrets", "dependencies"):
        p[1] = "*"
    if len(p) >= 4 and p[0] == "agents" and p[2] in ("ports", "secretMounts"):
        p[3] = "*"
    return DOCS.get(".".join(p), "")


def short(text: str) -> str:
    """The first clause of a comment: later agents repeat only this, which keeps values.yaml
    readable (and quick for Helm to load) with hundreds of agents."""
    first = re.split(r"(?<=[a-z0-9)])[.;] |\n", text, maxsplit=1)[0].rstrip(".")
    if first.count("(") > first.count(")"):
        first = first[:first.index(" (")]
    return first


def commenter(spec: Spec) -> Callable[[tuple[str, ...]], str]:
    first = next(iter(spec.agents), "")

    def comment(path: tuple[str, ...]) -> str:
        if path[0] in spec.dependencies:
            return dependency_comment(spec.dependencies[path[0]], path)
        text = comment_for(path)
        if text and len(path) > 2 and path[0] == "agents" and path[1] != first:
            return short(text)
        if len(path) == 2 and path[0] == "agents" and path[1] != first:
            return ""
        if len(path) == 2 and path[0] == "agents":
            return f"Each agent has the same settings; they are described in full here, on {first}."
        return text

    return comment


def dependency_comment(d: Dependency, path: tuple[str, ...]) -> str:
    """Comments on a dependency's values block (the rest of it is the subchart's own values)."""
    if len(path) == 1:
        return (f"Dependency {d.name}: chart {d.chart} {d.version} from {d.repository}.\n"
                "The subchart's own values; any of its keys may be set here.")
    if path[1:] == ("enabled",):
        return f"false: do not install it (Chart.yaml condition {d.name}.enabled)."
    return ""


def dependency_values(d: Dependency) -> dict[str, Any]:
    """The <key>: block of a dependency: enabled (its Chart.yaml condition), then the spec's values."""
    return {"enabled": d.enabled, **{k: v for k, v in d.values.items() if k != "enabled"}}


def _removed_as_empty(context: dict[str, Any]) -> dict[str, Any]:
    """`runAsUser: null` (remove that secure default) as `runAsUser: ""`: Helm 4 drops null keys from
    a chart's values.yaml before the templates see them; the templates remove a key given as "" or null."""
    return {k: "" if v is None else v for k, v in context.items()}


def _unset(name: str) -> Any:
    """A pass-through pod field the spec leaves out, in values.yaml: its default, or empty."""
    if name in AGENT_DEFAULTS:
        return AGENT_DEFAULTS[name]
    t = AGENT_FIELDS[name].type
    if isinstance(t, List) or (isinstance(t, Raw) and t.kind == "array"):
        return []
    return "" if isinstance(t, Str) else {}


# the values of these fields are not the model's as they are
_SHAPED: dict[str, Callable[[Agent], Any]] = {
    "image": lambda a: {k: a.image[k] for k in ("repository", "tag", "digest", "pullPolicy")},
    "primaryPort": lambda a: a.primary_port,
    "securityContext": lambda a: _removed_as_empty(a.securityContext),
    "podSecurityContext": lambda a: _removed_as_empty(a.podSecurityContext),
}


def agent_values(a: Agent) -> dict[str, Any]:
    """An agent's settings in values.yaml, every one explicit, in the order of spec/fields.py AGENT_FIELDS:
    each field values.yaml has, from the model (a pass-through pod field from Agent.pod)."""
    out: dict[str, Any] = {}
    for name, f in AGENT_FIELDS.items():
        if not f.values:
            continue
        if name in _SHAPED:
            out[name] = _SHAPED[name](a)
        elif name in POD_FIELDS:
            out[name] = a.pod[name] if name in a.pod else copy.deepcopy(_unset(name))
        else:
            out[name] = getattr(a, name)
    return out


def secrets_values(secrets: dict[str, Secret]) -> dict[str, Any]:
    # reload appears only where it is restart (live is the default, and a created Secret has no other)
    return {name: {"keys": s.keys, "existingSecret": s.existingSecret, "external": s.external,
                   **({"reload": s.reload} if s.reload == "restart" else {}), "values": {}}
            for name, s in secrets.items()}


def values_tree(spec: Spec, agents: dict[str, Agent] | None = None,
                dependencies: dict[str, Dependency] | None = None) -> dict[str, Any]:
    deps = spec.dependencies if dependencies is None else dependencies
    tree: dict[str, Any] = {
        "nameOverride": "",
        "fullnameOverride": "",
        "imagePullSecrets": spec.imagePullSecrets,
        "networkPolicy": spec.networkPolicy,
        "tests": {"enabled": True, "image": dict(TEST_IMAGE)},
        "securityDefaults": {"pod": POD_SECURITY, "container": CONTAINER_SECURITY},
        "agentDefaults": AGENT_DEFAULTS,
        "secrets": secrets_values(spec.secrets),
        "agents": {name: agent_values(a) for name, a in (spec.agents if agents is None else agents).items()},
        "extraManifests": spec.extraManifests,
        "global": {},
    }
    if deps:
        tree["dependencies"] = {k: {"host": d.host, "port": d.port} for k, d in deps.items()}
        tree.update({k: dependency_values(d) for k, d in deps.items()})
    return tree


def render_values(spec: Spec, header: str, tree: dict[str, Any]) -> str:
    from helmgen.chart.emit import dump

    return header + dump(tree, commenter(spec))


def overrides(base: Any, new: Any) -> Any:
    """What a values file must hold to turn `base` into `new` under Helm's merge: mappings
    merge key by key, null removes a key, anything else (lists too) is replaced whole."""
    if not (isinstance(base, dict) and isinstance(new, dict)):
        return new
    out: dict[str, Any] = {}
    for k, v in new.items():
        if k not in base:
            out[k] = v
        elif base[k] != v:
            out[k] = overrides(base[k], v) if isinstance(base[k], dict) and isinstance(v, dict) else v
    for k in base:
        if k not in new:
            out[k] = None
    return out


def render_env_values(spec: Spec, env: str, header: str, base: dict[str, Any]) -> str:
    """values-<env>.yaml: what turns `base` (the tree of values.yaml) into the environment's values."""
    from helmgen.chart.emit import dump

    tree = values_tree(spec, spec.environments[env], spec.environment_dependencies.get(env))
    if env in spec.environmentSecrets:  # the environment's view of the secrets (existingSecret, external, ...)
        tree["secrets"] = secrets_values(spec.environmentSecrets[env])
    diff = overrides(base, tree)

    def comment(path: tuple[str, ...]) -> str:
        if path == ("agents",):
            return f"Agents as they differ in {env}; null removes a setting."
        if len(path) == 1 and path[0] in spec.dependencies:
            return f"Dependency {path[0]} as it differs in {env}."
        if len(path) == 2 and path[0] == "agents":
            a = spec.environments[env][path[1]]
            if path[1] not in spec.agents:
                return f"{path[1]}: exists only in {env}."
            return f"{path[1]}: changed in {env}." if a.enabled else f"{path[1]}: removed in {env}."
        return short(comment_for(path))

    return header + (dump(diff, comment) if diff else "{}\n")
