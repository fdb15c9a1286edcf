"""Names a rollout adds beside an agent's own: a native canary's `<agent>-canary` (and, behind a
gateway, `<agent>-stable`), native blue-green's `<agent>-blue` and `<agent>-green`, and every
blue-green agent's preview Service `<agent>-preview`. Another agent of that name would render
objects of the same kind under the same name, and one would overwrite the other."""

from __future__ import annotations

from typing import Any

from helmgen.spec.model import Agent
from helmgen.spec.types import Ctx


def rollout_suffixes(agent: Agent) -> list[str]:
    """The name suffixes the agent's rollout renders objects under, besides its own name."""
    r: dict[str, Any] = agent.rollout
    native = r.get("engine", "native") == "native"
    if r.get("strategy") == "blueGreen":
        return ["blue", "green", "preview"] if native else ["preview"]
    if r.get("strategy") == "canary" and native and "canary" in agent.tracks:
        gateway = bool(agent.expose and agent.expose.get("gateway"))
        return ["canary", "stable"] if gateway else ["canary"]
    return []


def _clashes(agents: dict[str, Agent]) -> list[tuple[str, str, str]]:
    """(agent, suffix, the other agent of that name) for each clash."""
    return [(name, suffix, f"{name}-{suffix}") for name, agent in sorted(agents.items())
            for suffix in rollout_suffixes(agent) if f"{name}-{suffix}" in agents]


def check_rollout_names(agents: dict[str, Agent], ctx: Ctx, environments: dict[str, dict[str, Agent]]) -> None:
    """An error on each agent named like another agent's rollout objects, in the spec and in each
    environment (there only a clash the spec does not have: the spec's own is reported once)."""
    base = _clashes(agents)
    found = [("", clash) for clash in base]
    found += [(f"environments.{env}.", clash) for env, env_agents in sorted(environments.items())
              for clash in _clashes(env_agents) if clash not in base]
    for where, (name, suffix, other) in found:
        # where the clash is written: the other agent, else the agent whose rollout it is, else the environment
        paths = [f"{where}agents.{other}", f"{where}agents.{name}"]
        path = next((p for p in paths if p in ctx.pos), paths[0])
        ctx.err(ctx.at(path, where.rstrip(".") or path), path,
                f"agent {other} is named like agent {name}'s {suffix} objects (<release>-{other}): "
                "the two would collide", f"rename agent {other}, or give {name} another strategy")
