"""The chart's values.schema.json (draft-07, self-contained, closed).

Closed means a misspelt key in any values file fails `helm install/upgrade/template/lint` (except inside
the Kubernetes fields passed through free-form: securityContext, affinity, tolerations, volumes, …);
`global` (injected by Helm into subcharts) and new agent names under `agents` stay allowed.
The schema is the same for every spec (it describes the generic templates' input), except for
the spec's dependencies: each adds its `<key>:` block, open to the subchart's own values.
"""

from __future__ import annotations

import json
from typing import Any


def _obj(props: dict[str, Any], required: tuple[str, ...] = (), nullable: bool = False) -> dict[str, Any]:
    s: dict[str, Any] = {"type": ["object", "null"] if nullable else "object", "properties": props,
                         "additionalProperties": False}
    if required:
        s["required"] = list(required)
    return s


STR = {"type": "string"}
INT = {"type": "integer"}
NN_INT = {"type": "integer", "minimum": 0}
BOOL = {"type": "boolean"}
OBJ = {"type": "object"}
ARR = {"type": "array"}
# a LabelSelector: any other key would be dropped by the API server, widening a NetworkPolicy peer to every pod
SELECTOR = _obj({"matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
                 "matchExpressions": {"type": "array", "items": _obj({
                     "key": {"type": "string", "minLength": 1},
                     "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                     "values": {"type": "array", "items": {"type": "string"}}}, required=("key", "operator"))}})


def _rule(cluster: bool) -> dict[str, Any]:
    """A PolicyRule the API server takes: verbs, and apiGroups with resources, or (a ClusterRole's only)
    nonResourceURLs."""
    lists = ["apiGroups", "resources", "verbs", "resourceNames"] + (["nonResourceURLs"] if cluster else [])
    words = {"type": "array", "items": {"type": "string"}}
    rule: dict[str, Any] = {"type": "object", "additionalProperties": False,
                            "properties": {k: {**words, "minItems": 1} if k == "verbs" else words for k in lists}}
    resource_rule = {"required": ["verbs", "apiGroups", "resources"],
                     "properties": {"apiGroups": {"minItems": 1}, "resources": {"minItems": 1}}}
    if cluster:
        rule["oneOf"] = [resource_rule, {"required": ["verbs", "nonResourceURLs"],
                                         "properties": {"nonResourceURLs": {"minItems": 1}},
                                         "not": {"anyOf": [{"required": ["apiGroups"]}, {"required": ["resources"]}]}}]
    else:
        rule.update(resource_rule, properties={**rule["properties"], "apiGroups": {**words, "minItems": 1},
                                               "resources": {**words, "minItems": 1}})
    return rule
STR_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
NUM = {"type": "number"}
PERCENT = {"type": "integer", "minimum": 0, "maximum": 100}
STRS = {"type": "array", "items": {"type": "string"}}
INT_OR_STR = {"type": ["integer", "string"]}
# a rolling update's maxSurge / maxUnavailable: a count or a percentage, as Kubernetes takes them
INT_OR_PERCENT = {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^[0-9]+%$"}]}
QUANTITY = {"type": ["string", "number"], "pattern": r"^[+]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|([eE][+-]?\d+))?$"}
PROBE_HANDLERS = ("httpGet", "tcpSocket", "grpc", "exec")
PROBE = {
    "type": ["object", "null"], "additionalProperties": False,
    "properties": {
        "httpGet": {"type": "object", "additionalProperties": False, "required": ["port"], "properties": {
            "path": STR, "port": INT_OR_STR, "host": STR, "scheme": {"enum": ["HTTP", "HTTPS"]}, "httpHeaders": ARR}},
        "tcpSocket": {"type": "object", "additionalProperties": False, "required": ["port"],
                      "properties": {"port": INT_OR_STR, "host": STR}},
        "grpc": {"type": "object", "additionalProperties": False, "required": ["port"],
                 "properties": {"port": INT, "service": STR}},
        "exec": {"type": "object", "additionalProperties": False, "properties": {"command": STRS}},
        **{k: NN_INT for k in ("initialDelaySeconds", "periodSeconds", "timeoutSeconds", "successThreshold",
                               "failureThreshold", "terminationGracePeriodSeconds")},
    },
    # at most one handler: a values file that sets another merges with the chart's one (both handlers, which
    # Kubernetes refuses) unless it sets the old one to null. One branch per handler, then none; only for
    # an object (`required` holds for null, which Helm 3 validates where Helm 4 has dropped it)
    "if": {"type": "object"},
    "then": {"oneOf": [{"required": [h]} for h in PROBE_HANDLERS]
                      + [{"not": {"anyOf": [{"required": [h]} for h in PROBE_HANDLERS]}}]},
}
# at most one source per variable: a values file that gives {secret, key} where values.yaml has {value}
# merges into both, and the pod would silently keep the value (as PROBE: set the old one to null)
ENV_SOURCES = ("value", "secret", "configMap", "field", "resource")
ONE_ENV_SOURCE = {
    "if": {"type": "object"},
    "then": {"oneOf": [{"required": [h]} for h in ENV_SOURCES]
                      + [{"not": {"anyOf": [{"required": [h]} for h in ENV_SOURCES]}}]},
}
# resource names: the standard ones, or an extended resource, which always has a domain (nvidia.com/gpu)
RESOURCE_NAME = "^(cpu|memory|ephemeral-storage|storage|hugepages-[^/]+|[^/]+/[^/]+)$"
# a NetworkPolicy ipBlock CIDR, IPv4 or IPv6, with its /prefix (the API server rejects one without)
CIDR = {"type": "string", "pattern": r"^(((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)/(3[0-2]|[12]?\d)"
                                     r"|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*/(12[0-8]|1[01]\d|[1-9]?\d))$"}
# nameOverride: the app.kubernetes.io/name label value (lowercase, as chart names); fullnameOverride:
# the prefix of object names, a DNS-1035 label once its dots become dashes
NAME_OVERRIDE = {"type": "string", "maxLength": 63, "pattern": "^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$"}
FULLNAME_OVERRIDE = {"type": "string", "maxLength": 63, "pattern": "^([a-z]([-a-z0-9.]*[a-z0-9])?)?$"}
# an agent name: a DNS label of at most 40 characters
AGENT_NAME = "^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$"


def _keyed(pattern: str, value: dict[str, Any]) -> dict[str, Any]:
    """A map whose keys match `pattern`. Never `propertyNames`: Helm 4's validator (santhosh-tekuri/
    jsonschema v6.0.3, fix proposed in its PR #269) reports a key that `propertyNames` rejects at a
    random wrong path; a key no pattern matches is an additional property, named at its own path."""
    return {"type": "object", "patternProperties": {pattern: value}, "additionalProperties": False}


def _nullable(s: dict[str, Any]) -> dict[str, Any]:
    out = dict(s)
    t = out.get("type")
    out["type"] = [t, "null"] if isinstance(t, str) else list(t or []) + ["null"]
    return out


def agent_schema() -> dict[str, Any]:
    """An agent's values: the keys of spec/fields.py AGENT_FIELDS that values.yaml has (tests/test_agent_fields.py
    compares them); their descriptions are added by values_schema."""
    env = {"type": "object", "additionalProperties": {**_obj({
        "value": {"type": ["string", "number", "boolean"]}, "secret": STR, "configMap": STR, "key": STR,
        "field": STR, "resource": STR, "optional": BOOL}), **ONE_ENV_SOURCE}}
    # a canary track or blue-green slot: what differs from the agent's version
    track = {"image": _obj({"repository": {"type": "string", "minLength": 1}, "tag": {"type": ["string", "number"]},
                            "digest": STR, "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]}}, nullable=True),
             "tag": {"type": ["string", "number"]}, "env": _nullable(env),
             "config": _obj({"files": STR_MAP}, required=("files",), nullable=True)}
    reqs = _keyed(RESOURCE_NAME, {"type": ["string", "number"]})
    return _obj({
        "enabled": BOOL,
        "description": STR,
        "kind": {"enum": ["Deployment", "StatefulSet", "Job", "CronJob"]},
        "image": _obj({"repository": {"type": "string", "minLength": 1}, "tag": {"type": ["string", "number"]},
                       "digest": STR, "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]}},
                      required=("repository",)),
        "command": STRS,
        "args": STRS,
        "ports": {"type": "object", "additionalProperties": _obj(
            {"port": {"type": "integer", "minimum": 1, "maximum": 65535}, "protocol": {"enum": ["TCP", "UDP", "SCTP"]}},
            required=("port",))},
        "primaryPort": STR,
        "service": _obj({"type": {"enum": ["ClusterIP", "NodePort", "LoadBalancer", "None"]}, "annotations": STR_MAP}),
        "replicas": NN_INT,
        "resources": _obj({"requests": reqs, "limits": reqs}),
        "health": _obj({"liveness": PROBE, "readiness": PROBE, "startup": PROBE}, nullable=True),
        "scaling": _obj({
            "engine": {"enum": ["hpa", "keda"]}, "minReplicas": NN_INT, "maxReplicas": {"type": "integer", "minimum": 1},
            "cpu": {"type": ["integer", "null"], "minimum": 1}, "memory": {"type": ["integer", "null"], "minimum": 1},
            "behavior": _nullable(OBJ), "metrics": _nullable(ARR), "triggers": _nullable(ARR),
            "pollingInterval": NN_INT, "cooldownPeriod": NN_INT,
        }, required=("maxReplicas",), nullable=True),
        "disruption": _obj({"minAvailable": INT_OR_PERCENT, "maxUnavailable": INT_OR_PERCENT}, nullable=True),
        "env": env,
        "envOrder": STRS,
        "allowFrom": {"type": "array", "items": {**_obj({
            "podSelector": SELECTOR, "namespaceSelector": SELECTOR,
            "ipBlock": _obj({"cidr": CIDR, "except": {"type": "array", "items": CIDR}}, required=("cidr",))}),
            "minProperties": 1}},
        "agentCard": {"type": "string", "pattern": "^/"},
        "secretMounts": {"type": "object", "additionalProperties": _obj(
            {"mountPath": STR, "reload": {"enum": ["live", "restart"]}}, required=("mountPath",))},
        "envFrom": {"type": "array", "items": _obj({"secret": STR, "configMap": STR, "prefix": STR, "optional": BOOL})},
        "config": _obj({"mountPath": STR, "files": STR_MAP, "reload": {"enum": ["restart", "live"]}},
                       required=("files",), nullable=True),
        "state": _obj({"size": QUANTITY, "mountPath": STR, "storageClass": STR, "accessModes": STRS, "retain": BOOL},
                      required=("size",), nullable=True),
        "talksTo": {"type": "array", "items": {"anyOf": [STR, _obj({
            "agent": STR, "port": STR, "scheme": STR, "path": STR, "env": {"anyOf": [STR, {"const": False}]}},
            required=("agent",))]}},
        "expose": _obj({
            "host": STR, "path": STR, "pathType": {"enum": ["Prefix", "Exact", "ImplementationSpecific"]},
            "port": INT_OR_STR, "className": STR, "tls": _obj({"secretName": STR}, nullable=True),
            "annotations": STR_MAP,
            "gateway": _obj({"name": STR, "namespace": STR, "sectionName": STR}, required=("name",), nullable=True),
        }, nullable=True),
        "serviceAccount": _obj({"create": BOOL, "name": STR, "annotations": STR_MAP}),
        "rbac": _obj({"rules": {"type": "array", "items": _rule(cluster=False)},
                      "clusterRules": {"type": "array", "items": _rule(cluster=True)}}, nullable=True),
        "protocol": {"enum": ["http", "a2a", "mcp"]},
        "rollout": _obj({"strategy": {"enum": ["rolling", "canary", "blueGreen"]}, "engine": {"enum": ["native", "argo"]},
                         "maxSurge": INT_OR_PERCENT, "maxUnavailable": INT_OR_PERCENT,
                         "canary": _obj({**track, "weight": PERCENT, "steps": {"type": "array", "items": _obj({
                             "setWeight": PERCENT, "pause": _obj({"duration": INT_OR_STR})})}}, nullable=True),
                         "blueGreen": _obj({"active": {"enum": ["blue", "green"]}, "blue": _obj(track, nullable=True),
                                            "green": _obj(track, nullable=True)}, required=("active",), nullable=True),
                         "analysis": _obj({"prometheus": STR, "query": STR, "maxErrorRate": NUM, "metrics": {
                             "type": "array", "items": _obj({"name": STR, "query": STR, "max": NUM, "min": NUM,
                                                             "interval": STR, "count": INT, "failureLimit": INT},
                                                            required=("name", "query"))}}, nullable=True)}),
        "monitoring": _obj({"port": INT_OR_STR, "path": STR, "serviceMonitor": BOOL, "interval": STR,
                            "allowFrom": {"type": "array", "items": {**_obj({
                                "podSelector": SELECTOR, "namespaceSelector": SELECTOR,
                                "ipBlock": _obj({"cidr": CIDR, "except": {"type": "array", "items": CIDR}},
                                                required=("cidr",))}), "minProperties": 1}}},
                           nullable=True),
        "schedule": STR,
        "job": _obj({k: NN_INT for k in ("backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished",
                                         "parallelism", "completions", "successfulJobsHistoryLimit",
                                         "failedJobsHistoryLimit", "startingDeadlineSeconds")}
                    | {"concurrencyPolicy": {"enum": ["Allow", "Forbid", "Replace"]}, "timeZone": STR, "suspend": BOOL}
                    | {"hook": {"type": "array", "items": {"enum": ["pre-install", "post-install", "pre-upgrade",
                                                                    "post-upgrade", "pre-rollback", "post-rollback"]}},
                       "hookWeight": {"type": "integer", "minimum": -10000, "maximum": 10000}}),
        "terminationGracePeriodSeconds": _nullable(NN_INT),
        "priorityClassName": STR,
        "nodeSelector": STR_MAP,
        "tolerations": ARR,
        "affinity": OBJ,
        "topologySpreadConstraints": ARR,
        "podAnnotations": STR_MAP,
        "podLabels": STR_MAP,
        "securityContext": OBJ,
        "podSecurityContext": OBJ,
        "initContainers": ARR,
        "sidecars": ARR,
        "volumes": ARR,
        "volumeMounts": ARR,
    }, required=("image",))


def _optional(s: Any) -> Any:
    """A schema with nothing required (agentDefaults: an agent's settings, each one optional)."""
    if isinstance(s, dict):
        # only an object's own required properties; a `required` that tells oneOf branches apart stays
        return {k: _optional(v) for k, v in s.items()
                if not (k == "required" and isinstance(v, list) and "properties" in s)}
    if isinstance(s, list):
        return [_optional(v) for v in s]
    return s


def _described(s: Any, path: tuple[str, ...]) -> Any:
    """A copy of schema `s` (at values path `path`) whose properties carry their values.yaml comment as
    `description`. A copy all the way down: the building blocks (STR, PROBE, ...) are shared."""
    from helmgen.chart.values import comment_for

    if not isinstance(s, dict):
        return s
    out = dict(s)
    if isinstance(s.get("properties"), dict):
        out["properties"] = {}
        for k, v in s["properties"].items():
            sub = _described(v, path + (k,))
            text = " ".join(comment_for(path + (k,)).split())
            out["properties"][k] = {**sub, "description": text} if text and isinstance(sub, dict) else sub
    if isinstance(s.get("additionalProperties"), dict):
        out["additionalProperties"] = _described(s["additionalProperties"], path + ("*",))
    return out


def values_schema(dependencies: tuple[str, ...] = ()) -> dict[str, Any]:
    s = _values_schema(dependencies)
    s["properties"] = _described(s, ())["properties"]
    s["definitions"] = {"agent": _described(s["definitions"]["agent"], ("agents", "*"))}
    return s


def _values_schema(dependencies: tuple[str, ...] = ()) -> dict[str, Any]:
    s: dict[str, Any] = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Values of a chart generated by helmgen",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "nameOverride": NAME_OVERRIDE,
            "fullnameOverride": FULLNAME_OVERRIDE,
            "imagePullSecrets": STRS,
            "networkPolicy": BOOL,
            "securityDefaults": _obj({"pod": OBJ, "container": OBJ}, required=("pod", "container")),
            "agentDefaults": _optional(agent_schema()),
            "tests": _obj({"enabled": BOOL, "image": _obj({"repository": STR, "tag": {"type": ["string", "number"]},
                                                           "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]}})}),
            "secrets": {"type": "object", "additionalProperties": _obj({
                "keys": STRS, "existingSecret": STR,
                "external": _obj({"store": STR, "kind": {"enum": ["SecretStore", "ClusterSecretStore"]},
                                  "remoteKey": STR, "refreshInterval": STR}, required=("store", "remoteKey"),
                                 nullable=True),
                "reload": {"enum": ["live", "restart"]},
                "values": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
            }, required=("keys",))},
            "agents": _keyed(AGENT_NAME, {"$ref": "#/definitions/agent"}),
            "extraManifests": {"type": "array", "items": {"type": "object", "required": ["apiVersion", "kind", "metadata"]}},
            "global": {"type": "object"},
        },
        "definitions": {"agent": agent_schema()},
    }
    if dependencies:  # how agents reach each one (closed), and its values block (open: the subchart's keys)
        s["properties"]["dependencies"] = _obj({k: _obj({"host": STR, "port": {"type": ["integer", "null"],
                                                                                "minimum": 1, "maximum": 65535}})
                                                for k in dependencies})
        s["properties"].update({k: {"type": "object", "properties": {"enabled": BOOL}} for k in dependencies})
    return s


def render_schema(dependencies: tuple[str, ...] = ()) -> str:
    return json.dumps(values_schema(dependencies), indent=2, sort_keys=True) + "\n"
