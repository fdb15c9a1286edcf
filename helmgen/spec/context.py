"""What the checker knows about a spec besides the user's data: kept beside it, never in it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


class Marks(NamedTuple):
    """Of a mapping written with problems: its fields that have problems of their own (left out, and
    reported where they were written), and its fields of which only the valid part is here."""

    bad: frozenset[str] = frozenset()
    partial: frozenset[str] = frozenset()

    def __or__(self, other: Marks) -> Marks:
        return Marks(self.bad | other.bad, self.partial | other.partial)


NO_MARKS = Marks()


@dataclass
class SpecContext:
    """The spec as the checker sees it.

    `marks` holds the Marks of each mapping written with problems, by its path (`agents.<name>`,
    `defaults`, `environments.<env>.defaults`, `environments.<env>.agents.<name>`); `agent_marks`
    those of each agent being checked, merged from its defaults and overrides (in one environment's
    view when checking an environment)."""

    app_version: str
    all_agents: list[str]  # every agent written, in spec order, including those too broken to check
    invalid_agents: set[str] = field(default_factory=set)  # agents whose value is not a mapping at all
    invalid_overrides: dict[str, set[str]] = field(default_factory=dict)  # environment -> such agent overrides
    marks: dict[str, Marks] = field(default_factory=dict)
    agent_marks: dict[str, Marks] = field(default_factory=dict)
    dependencies: dict[str, Any] = field(default_factory=dict)  # key -> Dependency, in the current view
    environment_dependencies: dict[str, dict[str, Any]] = field(default_factory=dict)  # environment -> its view

    def marks_of(self, path: str) -> Marks:
        return self.marks.get(path, NO_MARKS)

    def bad_fields(self, agent: str) -> frozenset[str]:
        """The fields of an agent (in the current view) that have problems of their own."""
        return self.agent_marks.get(agent, NO_MARKS).bad
