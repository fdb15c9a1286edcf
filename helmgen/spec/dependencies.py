"""Dependencies: existing charts installed as subcharts (docs/spec.md "Dependencies").

The spec's `dependencies` become Dependency objects; an environment's `dependencies` overrides
(`enabled`, `values`) give each environment its own view. The agents' checks read that view as
`chk.book.dependencies` (dict[str, Dependency], `.enabled` false where the environment turns
one off), so a disabled dependency is known to whoever checks talksTo and ${deps.…}.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Collection
from typing import Any

from helmgen.spec.model import Dependency
from helmgen.spec.types import Ctx

# Top-level keys of the chart's values.yaml (chart/values.py values_tree): a dependency's values
# block lives beside them, so its key may not be one of them. tests/test_dependencies.py checks
# that this list covers values_tree.
VALUES_KEYS = ("nameOverride", "fullnameOverride", "imagePullSecrets", "networkPolicy", "tests",
               "securityDefaults", "agentDefaults", "secrets", "agents", "extraManifests", "global",
               "dependencies")


def _merge(base: Any, over: Any) -> Any:
    """Helm's values merge: mappings key by key, null removes a key, anything else replaced whole."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            if v is None:
                out.pop(k, None)
            else:
                out[k] = _merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


def build_dependencies(v: dict[str, Any], ctx: Ctx, all_agents: Collection[str] = ()) -> dict[str, Dependency]:
    """The spec's dependencies, checked against the rest of the spec (names that collide)."""
    raw = dict(v.get("dependencies", ctx.partials.get("dependencies", {})))
    if "dependencies" not in v:  # the spec has problems: the valid part of each dependency with its own
        raw.update({p.split(".", 1)[1]: part for p, part in ctx.partials.items()
                    if p.startswith("dependencies.") and p.count(".") == 1 and isinstance(part, dict)})
        raw = dict(sorted(raw.items(), key=lambda kv: ctx.pos.get(f"dependencies.{kv[0]}", (0, 0))))  # spec order
    agents = list(dict.fromkeys([*all_agents, *v.get("agents", {})]))
    out: dict[str, Dependency] = {}
    for key, d in raw.items():
        path = f"dependencies.{key}"
        if not isinstance(d, dict):
            continue
        if key in VALUES_KEYS:
            ctx.err(ctx.at(path), path, f"{key!r} is a top-level key of the chart's values, where the "
                                        "dependency's values block would go", "choose another key")
        elif key in agents:
            ctx.err(ctx.at(path), path, f"agent {key!r} has the same name: both would be the Service "
                                        f"<release>-{key} and the same talksTo target", "rename one of them")
        repo = d.get("repository", "")
        if repo.startswith("http://"):
            ctx.warn(ctx.at(f"{path}.repository"), f"{path}.repository",
                     "is plain http: the chart travels unencrypted and unauthenticated", "use https://")
        values = copy.deepcopy(d.get("values", {}))
        enabled = values.pop("enabled", True)
        if not isinstance(enabled, bool):
            ctx.err(ctx.at(f"{path}.values.enabled"), f"{path}.values.enabled", "must be true or false",
                    "it is the subchart's Chart.yaml condition")
        # (a dependency with problems of its own is still known by name, so nothing follows from them)
        out[key] = Dependency(name=key, repository=repo.rstrip("/"), chart=str(d.get("chart") or key),
                              version=str(d.get("version", "")), values=values, host=d.get("host", ""),
                              port=d.get("port"), enabled=enabled is not False)
    return out


def environment_dependencies(name: str, env: dict[str, Any], base: dict[str, Dependency], ctx: Ctx,
                             spec_agents: Collection[str] = ()) -> dict[str, Dependency]:
    """The dependencies as environment `name` sees them: `enabled` and `values` (merged as Helm
    merges values files: null removes a key) from its overrides."""
    out = dict(base)
    for agent in env.get("agents", {}):
        if agent in base and agent not in spec_agents:  # an agent only this environment has
            path = f"environments.{name}.agents.{agent}"
            ctx.err(ctx.at(path), path, f"dependency {agent!r} has the same name: both would be the Service "
                                        f"<release>-{agent} and the same talksTo target", "rename the agent")
    for key, o in env.get("dependencies", {}).items():
        path = f"environments.{name}.dependencies.{key}"
        if key not in base:
            close = difflib.get_close_matches(key, list(base), n=1)
            ctx.err(ctx.at(path), path, f"no dependency named {key!r}",
                    f'did you mean "{close[0]}"?' if close else
                    ("dependencies: " + ", ".join(base) if base else "declare it under the top-level dependencies"))
            continue
        d = base[key]
        inner = o.get("values")
        if "enabled" in o and isinstance(inner, dict) and "enabled" in inner and inner["enabled"] != o["enabled"]:
            ctx.err(ctx.at(f"{path}.values.enabled"), f"{path}.values.enabled",
                    f"contradicts {path}.enabled ({str(o['enabled']).lower()})", "set enabled once")
        values = _merge(d.values, o.get("values", {}))
        enabled = o.get("enabled", values.pop("enabled", d.enabled))
        if not isinstance(enabled, bool):
            ctx.err(ctx.at(f"{path}.values.enabled"), f"{path}.values.enabled", "must be true or false",
                    "it is the subchart's Chart.yaml condition")
        out[key] = Dependency(name=d.name, repository=d.repository, chart=d.chart, version=d.version,
                              values=values, host=d.host, port=d.port, enabled=enabled is not False)
    return out


def talks_to_dependency(chk: Any, i: int, target: str) -> bool:
    """A talksTo item naming a dependency (the caller gets <KEY>_URL from agentgen.dependency's url):
    checked here, True when `target` is one. `chk` is the agent's checker (check._AgentChecker)."""
    deps: dict[str, Dependency] = chk.book.dependencies
    if target not in deps or target in chk.spec["agents"]:
        return False
    # a disabled dependency with its own host is a service outside the chart: reachable, as in ${deps.…}
    if (not deps[target].enabled and not deps[target].host
            and chk.spec["agents"].get(chk.name, {}).get("enabled", True) is not False):
        chk.err(f"talksTo[{i}]", f"dependency {target!r} is disabled here, so there is nothing to talk to",
                f"drop it from talksTo where it is disabled, enable it, or set dependencies.{target}.host "
                "to a service outside the chart")
    elif target[0].isdigit():
        chk.err(f"talksTo[{i}]", f"dependency {target!r} starts with a digit, so its variable "
                                 f"{target.upper().replace('-', '_')}_URL would be an invalid name",
                "give the dependency a key that starts with a letter")
    return True
