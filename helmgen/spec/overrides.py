"""Environment overrides: the merged agent made whole.

An environment's override (and its defaults) may give a partial object (`state: {storageClass: fast}`),
since it merges key by key over the spec's agent (spec/fields.py `partial_type`). The merged agent (spec
agent, environment defaults and override, or an agent that exists only in the environment) must still
have every required sub-field, and the rules and defaults an override leaves to it (spec/fields.py
`deferred_post`: a port's protocol, a GPU's resource, the autoscaler's engine, an analysis's form) apply
to the merged object. `merged_agent` does both and reports each problem where the object was written.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

from helmgen.spec.load import Mapping, Node
from helmgen.spec.types import INVALID, Ctx, Map, Obj, T, Union


class _Checker(Protocol):
    def err(self, field: str, message: str, hint: str = "") -> None: ...

    def follows_a_problem(self, field: str) -> bool: ...


class _Relay(Ctx):
    """A Ctx for a post hook run on the merged agent: its problems go through the checker, which places
    them where the value was written (`path` is the field, relative to the agent)."""

    def __init__(self, chk: _Checker) -> None:
        super().__init__()
        self.chk = chk
        self.failed = False

    def err(self, where: Node | tuple[int, int], path: str, message: str, hint: str = "") -> None:
        self.failed = True
        self.chk.err(path, message, hint)

    def at(self, *paths: str) -> tuple[int, int]:
        return (1, 1)  # unused: `err` places the problem


@functools.cache
def _agent() -> Obj:
    from helmgen.spec.fields import agent_type

    return agent_type(())


def _whole(t: T, value: Any, field: str, chk: _Checker, relay: _Relay) -> Any:
    """`value` (at `field`) with its required fields checked and its deferred post hooks run; objects are
    reached through mappings (a list item is checked whole where it is written)."""
    from helmgen.spec.fields import deferred_post

    if not isinstance(value, dict):
        return value
    if isinstance(t, Union):
        objs = [a for a in t.alts if isinstance(a, (Obj, Map))]
        return _whole(objs[0], value, field, chk, relay) if objs else value
    if isinstance(t, Map):
        return {k: _whole(t.value, v, f"{field}.{k}", chk, relay) for k, v in value.items()}
    if not isinstance(t, Obj):
        return value
    prefix = f"{field}." if field else ""
    out = {k: _whole(t.fields[k], v, f"{prefix}{k}", chk, relay) if k in t.fields else v for k, v in value.items()}
    missing = [r for r in t.required if r not in out]
    for r in missing:
        relay.err((1, 1), f"{prefix}{r}", "is required", "give it here or in the spec's agent: an override merges "
                                                          "over it")
    if missing or not field or not deferred_post(t) or chk.follows_a_problem(field):
        return out
    assert t.post is not None
    done = t.post(dict(out), Mapping(1, 1), field, relay)
    return out if done is INVALID else done


def merged_agent(chk: _Checker, a: dict[str, Any]) -> dict[str, Any] | None:
    """The merged agent `a` with every required sub-field checked and the rules an override leaves to it
    applied (problems reported through `chk`); None when it has a problem."""
    relay = _Relay(chk)
    out = _whole(_agent(), a, "", chk, relay)
    return None if relay.failed else out
