"""talksTo: every agent it names exists, is not the agent itself and serves traffic on a port."""

from __future__ import annotations

from typing import Any

from helmgen.spec.aspects import Checker
from helmgen.spec.dependencies import talks_to_dependency

_TRAFFIC = {"port", "ports", "kind", "schedule", "state"}  # what decides whether an agent serves traffic


def check_talks_to(chk: Checker, a: dict[str, Any]) -> list[Any]:
    """Each item names an agent or a dependency (a name, or {agent, port, scheme, path, env})."""
    talks_to: list[Any] = list(a.get("talksTo", []))
    for i, item in enumerate(talks_to):
        renamed = isinstance(item, dict) and "env" in item  # no <TARGET>_URL: the digit rule is moot
        target = item.get("agent") if isinstance(item, dict) else item
        if isinstance(target, str) and not talks_to_dependency(chk, i, target):  # else a problem of its own
            _target(chk, f"talksTo[{i}]", target, renamed)
    return talks_to


def _target(chk: Checker, field: str, target: str, renamed: bool = False) -> None:
    agents = chk.spec["agents"]
    all_agents = chk.book.all_agents
    if target == chk.name:
        chk.err(field, "an agent cannot talk to itself")
    elif target not in agents and target in all_agents:
        pass  # an agent with problems of its own, reported there
    elif target not in agents:
        import difflib

        names = list(dict.fromkeys([*all_agents, *agents]))
        close = difflib.get_close_matches(target, names, n=1)
        chk.err(field, f"no agent named {target!r}",
                f'did you mean "{close[0]}"?' if close else "agents: " + ", ".join(names))
    elif chk.book.bad_fields(target) & _TRAFFIC:
        pass  # whether it serves traffic depends on a field with a problem, reported there
    elif target[0].isdigit() and not renamed:
        chk.err(field, f"agent {target!r} starts with a digit, so its variable "
                       f"{target.upper().replace('-', '_')}_URL would be an invalid name",
                "give the agent a name that starts with a letter")
    elif not agents[target].get("ports"):
        chk.err(field, f"agent {target!r} has no port to call", "give it port or ports")
    elif _runs_to_completion(agents[target]):
        chk.err(field, f"agent {target!r} is a Job or CronJob and serves no traffic")


def _runs_to_completion(b: dict[str, Any]) -> bool:
    return b.get("kind") in ("Job", "CronJob") or ("schedule" in b and "kind" not in b)
