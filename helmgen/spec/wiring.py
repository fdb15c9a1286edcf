"""Spec-level checks of how agents are wired together that no single field shows."""

from __future__ import annotations

from typing import Any

from helmgen.spec.aspects.probes import A2A_CARD
from helmgen.spec.model import Agent
from helmgen.spec.types import Ctx


def pre_install_hook_calls(ctx: Ctx, agents: dict[str, Agent], dependencies: dict[str, Any]) -> None:
    """A pre-install hook Job runs before Helm creates the release's other objects (its own hook
    objects aside): the agents and dependencies it calls (talksTo, ${agents.…}) do not exist yet on the
    first install, so a Job that waits for them waits until the install times out. A warning."""
    for job in agents.values():
        if job.kind != "Job" or "pre-install" not in (job.job.get("hook") or []):
            continue
        targets: list[str] = []
        for t in job.talksTo:
            name = t if isinstance(t, str) else t.get("agent") if isinstance(t, dict) else None
            if isinstance(name, str):
                targets.append(name)
        targets += job.calls
        said = [f"dependency {n!r}" if n in dependencies and n not in agents else f"agent {n!r}"
                for n in dict.fromkeys(targets) if n != job.name and (n in agents or n in dependencies)]
        if not said:
            continue
        path = f"agents.{job.name}.job.hook"
        verb = "do not exist" if len(said) > 1 else "does not exist"
        ctx.warn(ctx.at(path), path, "a pre-install hook runs before Helm creates the release's other objects, so on "
                 f"the first install {' and '.join(said)}, which it calls, {verb} yet",
                 "run it post-install (with pre-upgrade for upgrades), or reach a service outside the release")


def agent_card(chk: Any, a: dict[str, Any]) -> str:
    """The path of an a2a agent's card (readiness and `helm test` fetch it). Set on an agent of another
    protocol it does nothing, which is said where the agent sets it (a default reaching every agent is not)."""
    card: str = a.get("agentCard", A2A_CARD)
    protocol = a.get("protocol", "http")
    own = f"{chk.base}.agentCard" in chk.ctx.pos or f"agents.{chk.name}.agentCard" in chk.ctx.pos
    if "agentCard" in a and protocol != "a2a" and own:
        chk.warn("agentCard", f"only an a2a agent serves an agent card; this agent's protocol is {protocol}, so "
                              "nothing reads it", "set protocol: a2a, or drop agentCard")
    return card
