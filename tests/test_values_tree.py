"""The values tree (helmgen/chart/values.py) without Helm: agent_values, values_tree, overrides,
render_env_values and the values.yaml comments, on models built from small specs."""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from helmgen.chart.values import (
    AGENT_DEFAULTS,
    CONTAINER_SECURITY,
    DOCS,
    POD_SECURITY,
    TEST_IMAGE,
    agent_values,
    comment_for,
    commenter,
    overrides,
    render_env_values,
    render_values,
    short,
    values_tree,
)
from helmgen.spec.check import check_tree
from helmgen.spec.load import parse_text
from helmgen.spec.model import Spec

HEAD = "apiVersion: agentgen/v1\nname: demo\nversion: 0.1.0\n"


def spec(body: str) -> Spec:
    return check_tree(parse_text(HEAD + body, "demo.yaml"), "demo.yaml")


def helm_merge(base: Any, override: Any) -> Any:
    """What Helm makes of a values file `override` over `base`: mappings merge key by key, null removes
    a key, anything else (lists too) replaces the value."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    out = dict(base)
    for k, v in override.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = helm_merge(base.get(k), v) if isinstance(base.get(k), dict) and isinstance(v, dict) else v
    return out


def without_nulls(v: Any) -> Any:
    """The templates read a null key as absent."""
    if isinstance(v, dict):
        return {k: without_nulls(x) for k, x in v.items() if x is not None}
    return v


# ---- agent_values


def test_agent_values_of_a_minimal_agent_are_explicit() -> None:
    a = spec("agents:\n  planner:\n    image: ghcr.io/acme/planner\n    port: 8080\n").agents["planner"]
    v = agent_values(a)
    # no tag and no digest: the appVersion (here the version) is the tag
    assert v["image"] == {"repository": "ghcr.io/acme/planner", "tag": "0.1.0", "digest": "",
                          "pullPolicy": "IfNotPresent"}
    assert v["ports"] == {"http": {"port": 8080, "protocol": "TCP"}} and v["primaryPort"] == "http"
    assert v["resources"]["requests"] == {"cpu": "100m", "memory": "128Mi"}
    assert v["resources"]["limits"] == v["resources"]["requests"]
    # the pod pass-through fields are all present, empty when the spec gives none
    assert v["terminationGracePeriodSeconds"] == 30 and v["priorityClassName"] == ""
    for k in ("nodeSelector", "affinity", "podAnnotations", "podLabels"):
        assert v[k] == {}, k
    for k in ("tolerations", "topologySpreadConstraints", "initContainers", "sidecars", "volumes", "volumeMounts"):
        assert v[k] == [], k
    assert v["securityContext"] == {} and v["podSecurityContext"] == {}
    assert v["enabled"] is True and v["kind"] == "Deployment" and v["talksTo"] == []


def test_primary_port_is_the_first_port_in_spec_order_or_empty() -> None:
    s = spec("agents:\n  a:\n    image: nginx\n    ports: {web: 80, admin: 9000, api: 8080}\n"
             "  b:\n    image: nginx\n    health: false\n")
    assert agent_values(s.agents["a"])["primaryPort"] == "web"
    assert list(agent_values(s.agents["a"])["ports"]) == ["web", "admin", "api"]
    assert agent_values(s.agents["b"])["primaryPort"] == "" and agent_values(s.agents["b"])["ports"] == {}


def test_pod_fields_pass_through_as_given() -> None:
    s = spec("agents:\n  a:\n    image: nginx\n    terminationGracePeriodSeconds: 0\n    priorityClassName: high\n"
             "    nodeSelector: {disk: ssd}\n    tolerations: [{key: k, operator: Exists}]\n"
             "    podLabels: {team: x}\n    volumes: [{name: v, emptyDir: {}}]\n")
    v = agent_values(s.agents["a"])
    assert v["terminationGracePeriodSeconds"] == 0  # 0 is given, not the default 30
    assert v["priorityClassName"] == "high" and v["nodeSelector"] == {"disk": "ssd"}
    assert v["tolerations"] == [{"key": "k", "operator": "Exists"}] and v["podLabels"] == {"team": "x"}
    assert v["volumes"] == [{"name": "v", "emptyDir": {}}]


def test_a_removed_security_default_is_an_empty_string() -> None:
    # Helm 4 drops null keys of a chart's values.yaml; the templates remove a default given as ""
    s = spec("agents:\n  a:\n    image: nginx\n    securityContext: {privileged: false}\n"
             "environments:\n  dev:\n    agents:\n      a:\n        securityContext: {readOnlyRootFilesystem: null}\n"
             "        podSecurityContext: {runAsUser: null}\n")
    dev = agent_values(s.environments["dev"]["a"])
    assert dev["securityContext"] == {"privileged": False, "readOnlyRootFilesystem": ""}
    assert dev["podSecurityContext"] == {"runAsUser": ""}
    assert agent_values(s.agents["a"])["securityContext"] == {"privileged": False}


def test_agent_values_copy_the_image_keys_only() -> None:
    a = spec("agents:\n  a:\n    image: {repository: nginx, tag: '1.27', pullPolicy: Always}\n").agents["a"]
    v = agent_values(a)
    assert v["image"] == {"repository": "nginx", "tag": "1.27", "digest": "", "pullPolicy": "Always"}
    v["image"]["tag"] = "changed"
    assert a.image["tag"] == "1.27"


# ---- values_tree


def test_values_tree_top_level() -> None:
    s = spec("imagePullSecrets: [regcred]\nnetworkPolicy: false\n"
             "secrets:\n  llm:\n    keys: [api-key]\n"
             "  ext:\n    keys: [token]\n    external: {store: vault, remoteKey: a/b}\n"
             "agents:\n  a:\n    image: nginx\n  b:\n    image: nginx\n"
             "extraManifests:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n")
    t = values_tree(s)
    assert list(t) == ["nameOverride", "fullnameOverride", "imagePullSecrets", "networkPolicy", "tests",
                       "securityDefaults", "agentDefaults", "secrets", "agents", "extraManifests", "global"]
    assert t["imagePullSecrets"] == ["regcred"] and t["networkPolicy"] is False
    assert t["securityDefaults"] == {"pod": POD_SECURITY, "container": CONTAINER_SECURITY}
    assert t["agentDefaults"] == AGENT_DEFAULTS
    assert t["tests"] == {"enabled": True, "image": TEST_IMAGE}
    assert t["secrets"]["llm"] == {"keys": ["api-key"], "existingSecret": "", "external": None, "values": {}}
    assert t["secrets"]["ext"]["external"]["store"] == "vault" and t["secrets"]["ext"]["values"] == {}
    assert list(t["agents"]) == ["a", "b"]
    assert t["extraManifests"] == [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}]
    assert t["global"] == {}
    t["tests"]["image"]["tag"] = "changed"  # each tree has its own copy of the test image
    assert TEST_IMAGE["tag"] == "1.37.0"


def test_values_tree_of_an_environment_holds_its_agents() -> None:
    s = spec("agents:\n  a:\n    image: nginx\n    replicas: 1\n"
             "environments:\n  prod:\n    agents:\n      a: {replicas: 3}\n      extra: {image: busybox}\n")
    t = values_tree(s, s.environments["prod"])
    assert list(t["agents"]) == ["a", "extra"]
    assert t["agents"]["a"]["replicas"] == 3 and values_tree(s)["agents"]["a"]["replicas"] == 1


# ---- overrides


def test_overrides_hold_only_what_differs() -> None:
    base = {"a": 1, "b": {"c": 2, "d": [1, 2], "e": {"f": 1}}, "gone": {"x": 1}}
    new = {"a": 1, "b": {"c": 3, "d": [1], "e": {"f": 1}}, "added": {"y": 2}}
    assert overrides(base, new) == {"b": {"c": 3, "d": [1]}, "added": {"y": 2}, "gone": None}
    assert overrides(base, base) == {}
    assert overrides({"a": {"b": 1}}, {"a": 5}) == {"a": 5}  # a mapping replaced by a scalar
    assert overrides({"a": [1, 2]}, {"a": [1, 2, 3]}) == {"a": [1, 2, 3]}  # lists are replaced whole
    assert overrides({"a": {"b": 1}}, {"a": {}}) == {"a": {"b": None}}  # emptied key by key


keys = st.sampled_from(["a", "b", "c", "d"])
leaves = st.one_of(st.integers(-2, 2), st.text(max_size=2), st.booleans(), st.lists(st.integers(0, 2), max_size=2))
trees = st.recursive(leaves, lambda inner: st.dictionaries(keys, inner, max_size=4), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, trees, max_size=4), st.dictionaries(keys, trees, max_size=4))
def test_overrides_merged_by_helm_give_the_new_tree(base: dict[str, Any], new: dict[str, Any]) -> None:
    frozen = copy.deepcopy((base, new))
    diff = overrides(base, new)
    assert helm_merge(base, diff) == new
    assert (base, new) == frozen  # neither input changed


def test_environment_values_merged_over_values_yaml_give_the_environment_s_tree() -> None:
    s = spec("agents:\n  a:\n    image: nginx\n    port: 80\n    scaling: {maxReplicas: 4}\n"
             "  b:\n    image: nginx\n    env: {X: '1'}\n"
             "environments:\n  prod:\n    defaults: {podLabels: {tier: prod}}\n    agents:\n"
             "      a: {scaling: null, replicas: 2}\n      b: {enabled: false}\n      c: {image: busybox}\n")
    base = values_tree(s)
    diff = overrides(base, values_tree(s, s.environments["prod"]))
    assert without_nulls(helm_merge(base, diff)) == without_nulls(values_tree(s, s.environments["prod"]))
    assert diff["agents"]["a"]["scaling"] is None and diff["agents"]["a"]["replicas"] == 2
    assert diff["agents"]["b"]["enabled"] is False and diff["agents"]["c"]["image"]["repository"] == "busybox"


# ---- render_env_values and the comments


def test_render_env_values_comments_each_agent_s_change() -> None:
    s = spec("agents:\n  a:\n    image: nginx\n  b:\n    image: nginx\n"
             "environments:\n  prod:\n    agents:\n      a: {replicas: 2}\n      b: {enabled: false}\n"
             "      c: {image: busybox}\n")
    text = render_env_values(s, "prod", "# head\n", values_tree(s))
    assert text.startswith("# head\n")
    lines = text.splitlines()
    assert "# Agents as they differ in prod; null removes a setting." in lines
    assert "  # a: changed in prod." in lines and "  # b: removed in prod." in lines
    assert "  # c: exists only in prod." in lines
    doc = yaml.safe_load(text)
    # two pods bring the default disruption budget with them
    assert doc["agents"]["a"] == {"replicas": 2, "disruption": {"maxUnavailable": 1}}
    assert doc["agents"]["b"] == {"enabled": False}
    assert doc["agents"]["c"]["image"]["repository"] == "busybox"
    assert set(doc) == {"agents"}
    # a setting's comment is the first clause of its values.yaml comment
    assert f"    # {short(DOCS['agents.*.replicas'])}" in lines


def test_render_env_values_of_an_environment_that_changes_nothing() -> None:
    s = spec("agents:\n  a:\n    image: nginx\nenvironments:\n  same:\n    agents:\n      a: {replicas: 1}\n")
    assert render_env_values(s, "same", "# head\n", values_tree(s)) == "# head\n{}\n"


def test_values_yaml_describes_the_first_agent_in_full_and_the_others_briefly() -> None:
    s = spec("agents:\n  first:\n    image: nginx\n    port: 80\n  second:\n    image: nginx\n    port: 80\n")
    text = render_values(s, "# head\n", values_tree(s))
    assert yaml.safe_load(text) == values_tree(s)
    c = commenter(s)
    assert c(("agents", "first")) == "Each agent has the same settings; they are described in full here, on first."
    assert c(("agents", "second")) == ""
    assert c(("agents", "first", "config")) == DOCS["agents.*.config"]
    assert c(("agents", "second", "config")) == "Files mounted as a directory from a ConfigMap"
    assert "    # " + DOCS["agents.*.ports"] in text.splitlines()


def test_comment_for_maps_agent_default_and_port_paths() -> None:
    assert comment_for(("agentDefaults", "replicas")) == DOCS["agents.*.replicas"]
    assert comment_for(("agents", "any", "ports", "web", "port")) == DOCS["agents.*.ports.*.port"]
    assert comment_for(("secrets", "llm", "keys")) == DOCS["secrets.*.keys"]
    assert comment_for(("agents", "any", "unknown")) == ""


def test_short_keeps_the_first_clause_whole() -> None:
    assert short("One. Two.") == "One"
    assert short("First part; second part.") == "First part"
    assert short("Line one\nline two") == "Line one"
    # a clause that would end inside parentheses ends before them instead
    assert short("Pods (one; two) here.") == "Pods"
