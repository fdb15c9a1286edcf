"""The normalised model: plain data, no I/O, no YAML library types.

Every default is already applied, every shorthand expanded; the render stage only
reshapes it. Field names follow the spec so that values.yaml mirrors the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The requests an agent gets when it gives none (the checker for spec agents; values.yaml's
# agentDefaults for agents added in a values file).
DEFAULT_REQUESTS: dict[str, str] = {"cpu": "100m", "memory": "128Mi"}

# Kubernetes fields an agent passes through to the pod as they are.
POD_FIELDS = (
    "terminationGracePeriodSeconds", "priorityClassName", "nodeSelector", "tolerations", "affinity",
    "topologySpreadConstraints", "podAnnotations", "podLabels", "initContainers", "sidecars", "volumes",
    "volumeMounts",
)


@dataclass
class Agent:
    # the fields of spec/fields.py AGENT_FIELDS, except port (a shorthand), primaryPort (primary_port) and
    # POD_FIELDS (in pod); tests/test_agent_fields.py compares them
    name: str
    enabled: bool
    description: str
    kind: str
    image: dict[str, str]
    command: list[str]
    args: list[str]
    ports: dict[str, dict[str, Any]]  # in spec order; the first is the agent's primary port
    service: dict[str, Any]
    replicas: int
    resources: dict[str, dict[str, Any]]
    health: dict[str, Any]  # liveness/readiness/startup: Kubernetes probe objects or None
    scaling: dict[str, Any] | None
    disruption: dict[str, Any] | None
    env: dict[str, dict[str, Any]]
    envFrom: list[dict[str, Any]]
    config: dict[str, Any] | None
    state: dict[str, Any] | None
    talksTo: list[Any]  # a target's name, or {agent, port, scheme, path, env} as written
    expose: dict[str, Any] | None
    serviceAccount: dict[str, Any]
    rbac: dict[str, Any] | None
    protocol: str
    rollout: dict[str, Any]  # strategy, engine, maxSurge, maxUnavailable; canary / blueGreen / analysis as written
    monitoring: dict[str, Any] | None
    schedule: str
    job: dict[str, Any]
    securityContext: dict[str, Any]  # the spec's own settings, merged over values.yaml's securityDefaults by the chart
    podSecurityContext: dict[str, Any]
    pod: dict[str, Any] = field(default_factory=dict)  # POD_FIELDS, as given
    # the versions besides the stable one: {"canary": …} while a canary runs, {"blue": …, "green": …} for
    # blue-green; each {image (complete), env and config (merged over the agent's)}
    tracks: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)  # agents named in its ${agents.…} references (not itself)
    envOrder: list[str] = field(default_factory=list)  # env's names in the order the container gets them
    secretMounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # secret name -> {mountPath, reload}
    allowFrom: list[dict[str, Any]] = field(default_factory=list)  # NetworkPolicy peers admitted to its ports
    agentCard: str = "/.well-known/agent-card.json"  # where an a2a agent serves its card

    @property
    def primary_port(self) -> str:
        return next(iter(self.ports), "")

    @property
    def long_running(self) -> bool:
        return self.kind in ("Deployment", "StatefulSet")


@dataclass
class Secret:
    name: str
    keys: list[str]
    existingSecret: str
    external: dict[str, Any] | None
    reload: str = "live"  # restart: Reloader rolls the pods that read an existing or external Secret


@dataclass
class Dependency:
    """An existing chart installed as a subchart (Chart.yaml dependencies, alias = name)."""
    name: str  # the key: the subchart's alias, its values key and what talksTo / ${deps.NAME…} name
    repository: str  # https://, oci://, file:// (http:// warned about)
    chart: str  # the chart's name in the repository (default: the key)
    version: str  # a SemVer range, as Helm takes it
    values: dict[str, Any]  # the subchart's values, under <name>: in values.yaml
    host: str  # as written, may hold ${release} / ${namespace}; "" = the default rule (agentgen.dependency)
    port: int | None  # the port agents call; None: the URL has no port
    enabled: bool = True  # false only in an environment that turns it off


@dataclass
class Spec:
    name: str
    version: str
    appVersion: str
    description: str
    kubeVersion: str
    chart: dict[str, Any]
    imagePullSecrets: list[str]
    networkPolicy: bool
    secrets: dict[str, Secret]
    agents: dict[str, Agent]
    extraManifests: list[dict[str, Any]]
    environments: dict[str, dict[str, Agent]]  # environment name -> its agents, overrides applied
    warnings: list[Any] = field(default_factory=list)  # Problems that do not stop generation (spec.risks)
    digest: str = ""  # sha256:<hex> of the spec's text: Chart.yaml's agentgen.io/spec-digest, deploy's description
    dependencies: dict[str, Dependency] = field(default_factory=dict)  # by key, in spec order
    # environment name -> its dependencies, overrides applied (every environment has an entry)
    environment_dependencies: dict[str, dict[str, Dependency]] = field(default_factory=dict)
    environmentSecrets: dict[str, dict[str, Secret]] = field(default_factory=dict)  # env -> its secrets, if it changes them
