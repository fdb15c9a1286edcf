"""The checker's cross-field rules, one module per aspect of an agent (score-k8s style).

Each `check_<aspect>(chk, a)` takes the checker (`chk`: `err`, `warn`, `port_ref`, `name`, `spec`,
`ctx`, `book`: the spec's SpecContext) and the agent's merged fields (`a`, already valid field by field), reports every problem
through `chk` and returns its normalised piece of the model, defaults applied.
"""

from __future__ import annotations

from typing import Any, Protocol

from helmgen.spec.context import SpecContext
from helmgen.spec.types import Ctx


class Checker(Protocol):
    """What an aspect needs of the checker of one agent."""

    name: str
    spec: dict[str, Any]
    ctx: Ctx
    partial: set[str]
    book: SpecContext

    def err(self, field: str, message: str, hint: str = "") -> None: ...

    def warn(self, field: str, message: str, hint: str = "") -> None: ...

    def port_ref(self, ports: dict[str, Any], ref: Any, field: str) -> bool: ...

    def follows_a_problem(self, field: str) -> bool: ...


LONG_RUNNING = ("Deployment", "StatefulSet")


def kind_of(a: dict[str, Any]) -> str:
    """The workload kind: written, or implied by `state` (StatefulSet) or `schedule` (CronJob)."""
    kind: str = a.get("kind") or ("StatefulSet" if "state" in a else "CronJob" if "schedule" in a else "Deployment")
    return kind


def ports_of(a: dict[str, Any]) -> dict[str, Any]:
    """The agent's ports by name, in spec order (the first is the primary port)."""
    ports: dict[str, Any] = a.get("ports", {})
    return ports


def int_or_percent(d: dict[str, Any] | None) -> Any:
    """An int-or-percent mapping with its digit strings made numbers."""
    if d is None:
        return None
    return {k: int(v) if isinstance(v, str) and v.isdigit() else v for k, v in d.items()}
